/**
 * The JetStream connector of the publish-path A/B (`ours-js-ordered-official-publish`): built
 * like src/jetstream/connector.ts, with its management functions (stream checked or created
 * before each session, where an ordered chain continues, align_sequences), but its sessions
 * publish through the official client (official-jetstream.ts). `officialPublishConnectors()`
 * puts it in place of the product's for every `target: jetstream` topic.
 */
import type { ConnectorsFor } from "../../src/adapters";
import { productConnectors } from "../../src/adapters";
import type { TopicConfig } from "../../src/config/types";
import { ConnectionError, StartupError, errorText } from "../../src/errors";
import { withManagement } from "../../src/jetstream/connector";
import type { JetStreamConnector } from "../../src/jetstream/connector";
import { messageId } from "../../src/jetstream/copy-headers";
import {
  StreamProblem,
  ensureStream,
  lastCopiedSequence,
  startStreamAt,
} from "../../src/jetstream/management";
import type { Management } from "../../src/jetstream/management";
import { clusterEndpoints } from "../../src/nats/endpoint";
import type { Endpoint } from "../../src/nats/endpoint";
import { workerName } from "../../src/replicator/topic";
import { OfficialJetStreamSession } from "./official-jetstream";
import type { OfficialConnect } from "./official-jetstream";

const CONNECT_TIMEOUT_MS = 5_000;

export function createOfficialJetStreamConnector(topic: TopicConfig): JetStreamConnector {
  const cfg = topic.jetstream;
  if (cfg === undefined) throw new Error(`topic ${topic.key} has no jetstream block`);
  const chained = !topic.queued && cfg.onlyWriter;
  const source = { sourceClusterId: topic.sourceClusterId, channel: topic.topic };
  const copy = { ...source, replicator: topic.name };
  const idPrefix = messageId(source, 0).slice(0, -1);
  // The product's rotation over the target's servers; the sessions here take user/password
  // and token only (an NKey or JWT endpoint is refused by `connect` below).
  const nextEndpoint = clusterEndpoints(topic.targetUrls, {
    ...(topic.disableTargetTls ? {} : { tls: topic.tls }),
    auth: topic.targetAuth,
  });
  const manage = <T>(e: Endpoint, job: (m: Management) => Promise<T>): Promise<T> =>
    withManagement(e, `${topic.name}_manage`, job);
  const connect = (e: Endpoint, name: string): OfficialConnect => {
    if (e.auth.signNonce !== undefined) {
      throw new Error("the official-publish A/B supports user/password and token only");
    }
    return {
      url: e.url,
      ...(e.tls !== undefined ? { tls: e.tls } : {}),
      ...(e.auth.user !== undefined ? { user: e.auth.user, pass: e.auth.pass ?? "" } : {}),
      ...(e.auth.token !== undefined ? { token: e.auth.token } : {}),
      name,
      timeoutMs: CONNECT_TIMEOUT_MS,
    };
  };

  return {
    openTarget: async (worker) => {
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
      return OfficialJetStreamSession.open({
        connect: connect(e, workerName(topic.name, worker)),
        stream: cfg.stream,
        publishTimeoutMs: topic.publishTimeoutMs,
        copy,
        ...(state.chainFrom !== undefined ? { chainFrom: state.chainFrom } : {}),
        ...(cfg.alignSequences && state.empty
          ? { align: (first: number) => manage(e, (m) => startStreamAt(m, cfg.stream, first)) }
          : {}),
      });
    },
    openPublisher: async () => {
      const e = nextEndpoint("publisher");
      return OfficialJetStreamSession.open({
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

/** The product's connectors, with JetStream targets publishing through the official client. */
export function officialPublishConnectors(): ConnectorsFor {
  const product = productConnectors();
  return (topic) => {
    const connectors = product(topic);
    if (topic.target !== "jetstream") return connectors;
    const target = createOfficialJetStreamConnector(topic);
    return { ...connectors, target, prepare: () => target.prepare() };
  };
}
