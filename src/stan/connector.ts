/**
 * Builds STAN sessions on one side (cluster) of a topic from its configuration: the next server
 * of the side's list, its TLS options and its credentials.
 *
 * Credentials never travel inside a URL past this point: userinfo is taken out of the URL here
 * (percent-decoded) and passed as options, so no URL held, logged or put in an error contains it.
 */
import { randomBytes } from "node:crypto";
import type { TopicConfig } from "../config/types";
import { clusterEndpoints } from "../nats/endpoint";
import type {
  PublisherConnector,
  SideName,
  SourceConnector,
  OpenAttempt,
  TargetConnector,
} from "../replicator/ports";
import { workerName } from "../replicator/topic";
import { StanSession } from "./session";
import type { SessionOptions } from "./session-options";
import { dialNats } from "./wire";
import type { DialWire } from "./wire";

/** Connection tuning. Pings: 10 × 5 s lets a server restart or leader election pass. */
export const SESSION_DEFAULTS = {
  connectTimeoutMs: 5_000,
  pingIntervalMs: 5_000,
  pingMaxOut: 10,
};

/**
 * The connect timeout right after a session was lost. A hung leader's node keeps the
 * cluster's interest in connect requests alive and drops them silently until a new leader is
 * elected; 1.5 s still covers a server's check of a duplicate client id (500 ms).
 */
const FAILOVER_CONNECT_TIMEOUT_MS = 1_500;

/**
 * A suffix unique to this process. A plain durable is keyed by client id + durable name, so an
 * ordered worker's client id must stay `<name>_<n>` across restarts. A durable queue group is
 * keyed by queue group + durable name only, so queued workers (and the advisory publisher) can
 * and must differ per process: several processes share one queue group, and identical ids
 * would refuse each other ("clientID already registered").
 */
const INSTANCE = randomBytes(4).toString("hex");

/** The STAN client id a session of this topic uses. */
export function stanClientId(topic: TopicConfig, worker: number | "advisor"): string {
  if (worker === "advisor") return `${topic.name}_advisor_${INSTANCE}`;
  const id = workerName(topic.name, worker);
  return topic.queued ? `${id}_${INSTANCE}` : id;
}

/** Opens STAN sessions on one cluster: a worker's source or target, or the advisory publisher. */
export interface StanConnector extends SourceConnector, TargetConnector, PublisherConnector {
  /** A session with a client id of the caller's choosing (operator commands). */
  openAs(clientId: string): Promise<StanSession>;
}

export function createStanConnector(
  topic: TopicConfig,
  side: SideName,
  dial: DialWire = dialNats,
): StanConnector {
  const urls = side === "source" ? topic.sourceUrls : topic.targetUrls;
  const tlsDisabled = side === "source" ? topic.disableSourceTls : topic.disableTargetTls;
  const auth = side === "source" ? topic.sourceAuth : topic.targetAuth;
  const nextEndpoint = clusterEndpoints(urls, { ...(tlsDisabled ? {} : { tls: topic.tls }), auth });
  // Called per attempt: a certificate file that became unreadable rejects that attempt.
  const optionsFor = (
    worker: number | "advisor",
    clientId?: string,
    attempt?: OpenAttempt,
  ): SessionOptions => {
    const { url, tls, auth: credentials } = nextEndpoint(worker);
    return {
      clusterId: side === "source" ? topic.sourceClusterId : topic.targetClusterId,
      clientId: clientId ?? stanClientId(topic, worker),
      url,
      tls,
      ...credentials,
      publishTimeoutMs: topic.publishTimeoutMs,
      ...SESSION_DEFAULTS,
      ...(attempt?.failover ? { connectTimeoutMs: FAILOVER_CONNECT_TIMEOUT_MS } : {}),
    };
  };
  return {
    openSource: async (worker, attempt) =>
      StanSession.open(optionsFor(worker, undefined, attempt), dial),
    openTarget: async (worker, attempt) =>
      StanSession.open(optionsFor(worker, undefined, attempt), dial),
    /** The advisory publisher's own session (client id `<name>_advisor_<instance>`). */
    openPublisher: async () => StanSession.open(optionsFor("advisor"), dial),
    openAs: async (clientId) => StanSession.open(optionsFor("advisor", clientId), dial),
  };
}
