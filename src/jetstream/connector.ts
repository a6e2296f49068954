/**
 * Builds JetStream target sessions for a topic (`target: jetstream`): the next server of the
 * target's list, TLS and credentials as for a NATS Streaming target, the stream checked (and
 * created, when configured) before each session, and where an ordered chain continues.
 */
import type { TopicConfig, JetStreamTargetConfig } from "../config/types";
import { ConnectionError, StartupError, errorText } from "../errors";
import { clusterEndpoints } from "../nats/endpoint";
import type { Endpoint } from "../nats/endpoint";
import type { PublisherConnector, TargetConnector, TargetSession } from "../replicator/ports";
import { workerName } from "../replicator/topic";
import { CopyHeaders, messageId } from "./copy-headers";
import {
  StreamProblem,
  ensureStream,
  lastCopiedSequence,
  openManagement,
  startStreamAt,
} from "./management";
import type { Management } from "./management";
import { JetStreamSession } from "./session";
import type { JetStreamSessionOptions } from "./session";

export interface JetStreamConnector extends TargetConnector, PublisherConnector {
  /**
   * Checks the stream once at start. Throws a StartupError when it is missing (without create)
   * or does not capture the subject; returns a warning when the server cannot be reached yet.
   */
  prepare(): Promise<string | undefined>;
}

const CONNECT_TIMEOUT_MS = 5_000;

/** Opens a session once the stream is checked (the benchmark's A/B gives another one). */
export type OpenJetStreamSession = (o: JetStreamSessionOptions) => Promise<TargetSession>;

export function createJetStreamConnector(
  topic: TopicConfig,
  openSession: OpenJetStreamSession = (o) => JetStreamSession.open(o),
): JetStreamConnector {
  const cfg = requireJetStream(topic);
  // Ordered and the only writer: each copy names the previous one, and the stream's last copy
  // tells where to continue. Queued workers publish side by side: message ids only.
  const chained = !topic.queued && cfg.onlyWriter;
  const source = { sourceClusterId: topic.sourceClusterId, channel: topic.topic };
  const headers = new CopyHeaders({ ...source, replicator: topic.name });
  const idPrefix = messageId(source, 0).slice(0, -1);
  const nextEndpoint = targetEndpoints(topic);
  const manage = <T>(e: Endpoint, job: (m: Management) => Promise<T>): Promise<T> =>
    withManagement(e, `${topic.name}_manage`, job);
  const connect = (e: Endpoint, name: string) => ({
    url: e.url,
    ...(e.tls !== undefined ? { tls: e.tls } : {}),
    ...e.auth,
    name,
    timeoutMs: CONNECT_TIMEOUT_MS,
  });

  const openTarget = async (worker: number): Promise<TargetSession> => {
    const e = nextEndpoint(worker);
    let state: { chainFrom?: number; empty: boolean };
    try {
      state = await manage(e, async (m) => {
        const info = await ensureStream(m, cfg, e.url);
        return {
          ...(chained ? { chainFrom: await lastCopiedSequence(m, info, idPrefix) } : {}),
          empty: info.state.messages === 0,
        };
      });
    } catch (err) {
      throw new ConnectionError(errorText(err), { cause: err, retriable: true });
    }
    return openSession({
      connect: connect(e, workerName(topic.name, worker)),
      stream: cfg.stream,
      publishTimeoutMs: topic.publishTimeoutMs,
      headers,
      ...(state.chainFrom !== undefined ? { chainFrom: state.chainFrom } : {}),
      ...(cfg.alignSequences && state.empty
        ? { align: (first: number) => manage(e, (m) => startStreamAt(m, cfg.stream, first)) }
        : {}),
    });
  };

  return {
    openTarget,
    /** The advisory publisher: plain JetStream publishes to the advisory subject. */
    openPublisher: async () => {
      const e = nextEndpoint("publisher");
      return JetStreamSession.open({
        connect: connect(e, `${topic.name}_advisor`),
        stream: cfg.stream,
        publishTimeoutMs: topic.publishTimeoutMs,
      });
    },
    prepare: async () => {
      const e = nextEndpoint("publisher");
      try {
        await manage(e, (m) => ensureStream(m, cfg, e.url));
        return undefined;
      } catch (err) {
        if (err instanceof StreamProblem) {
          throw new StartupError(`topic ${topic.key}: ${err.message}`, { cause: err });
        }
        return `stream ${cfg.stream} not checked at start: ${errorText(err)}`;
      }
    },
  };
}

/** Runs `job` on a management connection of its own to `e`. */
export async function withManagement<T>(
  e: Endpoint,
  name: string,
  job: (m: Management) => Promise<T>,
): Promise<T> {
  const m = await openManagement(e, name, CONNECT_TIMEOUT_MS);
  try {
    return await job(m);
  } finally {
    await m.close();
  }
}

/** The target's servers in turn, with its TLS and credentials. */
function targetEndpoints(topic: TopicConfig): (caller: number | string) => Endpoint {
  const tls = topic.disableTargetTls ? {} : { tls: topic.tls };
  return clusterEndpoints(topic.targetUrls, { ...tls, auth: topic.targetAuth });
}

/** The first server of a JetStream target, ready to dial (operator commands). */
export function targetEndpoint(topic: TopicConfig): Endpoint {
  return targetEndpoints(topic)(0);
}

function requireJetStream(topic: TopicConfig): JetStreamTargetConfig {
  if (topic.jetstream === undefined) {
    throw new Error(`topic ${topic.key} has no jetstream block`); // config guarantees it
  }
  return topic.jetstream;
}
