/** The typed, validated, frozen configuration every other module reads. Built by loadConfig(). */
import type { StartPosition } from "../replicator/ports";

export type LogFormat = "json" | "text";
export type LogLevel = "error" | "warn" | "info" | "verbose" | "debug";

export type { StartPosition };

export interface TlsConfig {
  /** Paths to PEM files (checked readable and parseable at load; read again at each connect). */
  ca?: string;
  cert?: string;
  key?: string;
  /** Name the server certificate is verified against instead of the URL's host. */
  serverName?: string;
}

/**
 * How a worker authenticates to one cluster. Secrets are held here after `${VAR}` expansion
 * and reading `*_file` keys; nothing may log or print this object (the logger would redact
 * the fields by name anyway).
 */
export type NatsAuth =
  | { kind: "user"; user: string; password: string }
  | { kind: "token"; token: string }
  | { kind: "nkey"; seed: string }
  /** A credentials file: the user JWT and the NKey seed that signs the nonce. */
  | { kind: "credentials"; file: string; jwt: string; seed: string };

export interface AdvisoryConfig {
  /** Channel the advisories are published to. */
  target: string;
  cluster: "source" | "target";
  /** Not seen for this long -> `timeout` event. */
  ageMs: number;
  /** Explicit check interval; derived from the ages when absent. */
  intervalMs?: number;
}

/** A JetStream target (`target: jetstream` and its `jetstream` block). */
export interface JetStreamTargetConfig {
  stream: string;
  /** Subject the copies are published to. */
  subject: string;
  /** Create the stream when missing, with these settings; never change an existing one. */
  create?: {
    replicas: number;
    maxAgeMs?: number;
    maxBytes?: number;
    maxMsgs?: number;
    duplicateWindowMs: number;
  };
  /** Start an empty stream at the first channel sequence copied. */
  alignSequences: boolean;
  /** Ordered: chain copies with Nats-Expected-Last-Msg-Id (the replicator is the only writer). */
  onlyWriter: boolean;
}

export interface TopicConfig {
  /** The key under `topics:` in the YAML file, e.g. "cmdb". */
  key: string;
  /** Source channel. */
  topic: string;
  /** Target channel; equals `topic` unless `target_topic` is set. */
  targetTopic: string;
  sourceUrls: string[];
  sourceClusterId: string;
  targetUrls: string[];
  /** The target's kind: a NATS Streaming cluster, or a JetStream stream (`jetstream`). */
  target: "stan" | "jetstream";
  /** NATS Streaming target's cluster id; "" for a JetStream target. */
  targetClusterId: string;
  jetstream?: JetStreamTargetConfig;
  workers: number;
  queued: boolean;
  queueGroup: string;
  /** Durable name, and the prefix of client ids `<name>_<n>`. */
  name: string;
  inspect?: string;
  updateFlag?: string;
  ageMs?: number;
  /** Extra HTTP port serving the same endpoints (original `monitor` key). */
  monitor?: number;
  advisory?: AdvisoryConfig;
  /** Effective TLS for this topic (topic block wins over the top level). */
  tls?: TlsConfig;
  disableSourceTls: boolean;
  disableTargetTls: boolean;
  /** Effective authentication per side (topic block wins over the top level). Credentials
   * inside a URL win over these for that server. */
  sourceAuth?: NatsAuth;
  targetAuth?: NatsAuth;
  startAt: StartPosition;
  /** Messages in flight per worker (STAN maxInFlight and the publish window). */
  maxInFlight: number;
  /** Source ack wait: unacknowledged messages are redelivered after this. */
  ackWaitMs: number;
  /** Target publish ack timeout. */
  publishTimeoutMs: number;
  /** Ordered: no new publish while the oldest unacknowledged one is older than this. */
  publishPauseAfterMs: number;
  /** Optional base URL of the source server's monitoring port, for the lag metric. */
  sourceMonitorUrl?: string;
}

export interface HttpConfig {
  host: string;
  port: number;
  /** Serve HTTPS: PEM paths, checked at load and read when the server starts. */
  tls?: { cert: string; key: string };
  /** Basic authentication required for /metrics (not for /healthz and /livez). */
  basicAuth?: { user: string; password: string };
}

export interface AppConfig {
  /** The YAML file the configuration was read from. */
  file: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Undefined means stdout. */
  logfile?: string;
  stateDir?: string;
  stateSaveIntervalMs: number;
  shutdownTimeoutMs: number;
  http: HttpConfig;
  /** Topics in file order, already filtered by --topic. */
  topics: TopicConfig[];
}
