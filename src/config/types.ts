/** The typed, validated, frozen configuration every other module reads. Built by loadConfig(). */

export type LogFormat = "json" | "text";
export type LogLevel = "error" | "warn" | "info" | "verbose" | "debug";

/** Where a new durable starts. Applies only when the durable does not exist yet on the source. */
export type StartPosition =
  | { kind: "first" } // everything available (the original tool's behaviour, default)
  | { kind: "new" } // only messages published after the subscription is made
  | { kind: "last" } // the last message stored, then new ones
  | { kind: "sequence"; sequence: number }
  | { kind: "time"; time: Date }
  | { kind: "delta"; ms: number };

export interface TlsConfig {
  /** Paths to PEM files. */
  ca?: string;
  cert?: string;
  key?: string;
}

export interface AdvisoryConfig {
  /** Channel the advisories are published to. */
  target: string;
  cluster: "source" | "target";
  /** Not seen for this long -> `timeout` event. */
  ageMs: number;
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
  targetClusterId: string;
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
  startAt: StartPosition;
  /** Messages in flight per worker (STAN maxInFlight and the publish window). */
  maxInFlight: number;
  /** Source ack wait: unacknowledged messages are redelivered after this. */
  ackWaitMs: number;
  /** Target publish ack timeout. */
  publishTimeoutMs: number;
  /** Optional base URL of the source server's monitoring port, for the lag metric. */
  sourceMonitorUrl?: string;
}

export interface HttpConfig {
  host: string;
  port: number;
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
