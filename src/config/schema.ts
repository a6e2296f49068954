/**
 * The convict schemas: the single source of truth for every setting's YAML key, environment
 * variable, default and documentation (docs/configuration.md is generated from them by
 * scripts/gen-config-doc.ts). Values here are as written in YAML (durations as "30s");
 * load.ts turns them into the typed AppConfig.
 *
 * Convict cannot model a map of arbitrary names, so `topics`, and the `tls`, `advisory`, auth
 * and HTTP security blocks, are declared as opaque mappings here and each entry is validated by
 * its own convict instance built from `topicSchema`, `tlsSchema`, `advisorySchema`,
 * `authSchema`, `httpTlsSchema` or `basicAuthSchema`.
 *
 * An entry marked `sensitive` holds a secret (or a block of them): its value is never shown in
 * an error message.
 */
import convict from "convict";
import type { LogFormat, LogLevel } from "./types";
import { parseDuration } from "./duration";

export const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "verbose", "debug"];
export const LOG_FORMATS: readonly LogFormat[] = ["json", "text"];
export const START_AT = ["first", "new", "last"] as const;

/** The config file path; not part of the schema since it cannot come from the file itself. */
export const CONFIG_ENV = "SR_CONFIG";
export const CONFIG_ENV_DOC =
  "Path of the YAML configuration file, used when --config is not given.";

/** Extra keys our formats read from a schema entry (convict passes the entry to `validate`). */
export interface SettingSchema<T> extends convict.SchemaObj<T> {
  doc: string;
  /** sr-int: inclusive bounds. sr-duration: inclusive bounds as durations, e.g. "1s". */
  min?: number | string;
  max?: number | string;
  /** sr-enum: the allowed values. */
  values?: readonly string[];
  /** Shown in the docs instead of `default` when the default is derived from other keys. */
  defaultText?: string;
}

type Schema<T> = { [K in keyof T]-?: SettingSchema<T[K]> };

/** Raw top-level settings as convict holds them (null = not given). */
export interface RawSettings {
  debug: boolean;
  verbose: boolean;
  log_level: LogLevel | null;
  log_format: LogFormat;
  logfile: string | null;
  state_dir: string | null;
  state_save_interval: string;
  shutdown_timeout: string;
  http_host: string;
  http_port: number;
  http_tls: Record<string, unknown> | null;
  http_basic_auth: Record<string, unknown> | null;
  tls: Record<string, unknown> | null;
  source_auth: Record<string, unknown> | null;
  target_auth: Record<string, unknown> | null;
  topics: Record<string, unknown>;
}

export interface RawTopic {
  topic: string;
  target_topic: string | null;
  source_url: string;
  source_cluster_id: string;
  target_url: string;
  target_cluster_id: string;
  workers: number;
  queued: boolean | null;
  queue_group: string | null;
  name: string | null;
  inspect: string | null;
  update_flag: string | null;
  age: string | null;
  monitor: number | null;
  advisory: Record<string, unknown> | null;
  tls: Record<string, unknown> | null;
  source_auth: Record<string, unknown> | null;
  target_auth: Record<string, unknown> | null;
  disable_source_tls: boolean;
  disable_target_tls: boolean;
  start_at: (typeof START_AT)[number];
  start_sequence: number | null;
  start_time: string | null;
  start_delta: string | null;
  max_in_flight: number;
  ack_wait: string;
  publish_timeout: string;
  source_monitor_url: string | null;
}

export interface RawAdvisory {
  target: string;
  cluster: "source" | "target";
  age: string;
  interval: string | null;
}

export interface RawTls {
  ca: string | null;
  cert: string | null;
  key: string | null;
  scheme: "file" | "manual" | "puppet" | null;
  ssl_dir: string | null;
  identity: string | null;
  server_name: string | null;
}

export interface RawAuth {
  user: string | null;
  password: string | null;
  password_file: string | null;
  token: string | null;
  token_file: string | null;
  nkey_seed: string | null;
  nkey_seed_file: string | null;
  credentials: string | null;
}

export interface RawHttpTls {
  cert: string;
  key: string;
}

export interface RawBasicAuth {
  user: string;
  password: string | null;
  password_file: string | null;
}

// ---- formats: each throws a predicate phrase; load.ts prefixes it with the key and value ----

function present(value: unknown): void {
  if (value === null || value === undefined) throw new Error("is required");
}

function durationBound(bound: unknown): number | undefined {
  return typeof bound === "string" ? parseDuration(bound) : undefined;
}

const NATS_SCHEMES = new Set(["nats:", "tls:"]);
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Splits a comma-separated URL list; `host:port` without a scheme gets `nats://`. */
export function splitNatsUrls(list: string): string[] {
  return list.split(",").map((part) => {
    const url = part.trim();
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) || url === "" ? url : `nats://${url}`;
  });
}

function checkNatsUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (
      NATS_SCHEMES.has(url.protocol) &&
      url.hostname !== "" &&
      (url.pathname === "" || url.pathname === "/") &&
      url.search === "" &&
      url.hash === ""
    );
  } catch {
    return false;
  }
}

/** True for a valid RFC 3339 timestamp with a real calendar date. */
export function isRfc3339(text: string): boolean {
  const m = RFC3339.exec(text);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as number[];
  const daysInMonth = new Date(Date.UTC(year ?? 0, month ?? 0, 0)).getUTCDate();
  return (
    (month ?? 0) >= 1 &&
    (month ?? 0) <= 12 &&
    (day ?? 0) >= 1 &&
    (day ?? 0) <= daysInMonth &&
    (hour ?? 0) <= 23 &&
    (minute ?? 0) <= 59 &&
    (second ?? 0) <= 60
  );
}

interface SettingFormat {
  validate(value: unknown, schema: SettingSchema<unknown>): void;
}

/** Our convict formats, by name. Exported so load.ts can phrase a problem convict cannot see. */
export const FORMATS: Readonly<Record<string, SettingFormat>> = {
  "sr-text": {
    validate(value: unknown) {
      present(value);
      if (typeof value !== "string") throw new Error("is not a string");
      if (value.trim() === "") throw new Error("must not be empty");
    },
  },
  "sr-bool": {
    validate(value: unknown) {
      present(value);
      if (typeof value !== "boolean") throw new Error("is not a boolean (use true or false)");
    },
  },
  "sr-int": {
    validate(value: unknown, schema: SettingSchema<unknown>) {
      present(value);
      if (typeof value !== "number" || !Number.isInteger(value)) {
        throw new Error("is not an integer");
      }
      const min = typeof schema.min === "number" ? schema.min : -Infinity;
      const max = typeof schema.max === "number" ? schema.max : Infinity;
      if (value < min || value > max) {
        throw new Error(
          max === Infinity ? `is less than ${min}` : `is not between ${min} and ${max}`,
        );
      }
    },
  },
  "sr-port": {
    validate(value: unknown) {
      present(value);
      if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 65535) {
        throw new Error("is not a port number (0-65535)");
      }
    },
  },
  "sr-duration": {
    validate(value: unknown, schema: SettingSchema<unknown>) {
      present(value);
      const ms = typeof value === "string" ? parseDuration(value) : undefined;
      if (ms === undefined) throw new Error("is not a duration (use e.g. 1h, 30m)");
      const min = durationBound(schema.min);
      const max = durationBound(schema.max);
      if (min !== undefined && ms < min) throw new Error(`is shorter than ${String(schema.min)}`);
      if (max !== undefined && ms > max) throw new Error(`is longer than ${String(schema.max)}`);
    },
  },
  "sr-enum": {
    validate(value: unknown, schema: SettingSchema<unknown>) {
      present(value);
      const values = schema.values ?? [];
      if (typeof value !== "string" || !values.includes(value)) {
        throw new Error(`is not one of ${values.join(", ")}`);
      }
    },
  },
  "sr-nats-urls": {
    validate(value: unknown) {
      present(value);
      if (typeof value !== "string") throw new Error("is not a string of comma-separated URLs");
      const urls = splitNatsUrls(value);
      for (const url of urls) {
        if (url === "") throw new Error("has an empty entry in its URL list");
        if (!checkNatsUrl(url)) {
          const what =
            urls.length > 1 ? `has an invalid URL ${JSON.stringify(url)}` : "is not a URL";
          throw new Error(`${what} (use nats://host:port or tls://host:port)`);
        }
      }
    },
  },
  "sr-http-url": {
    validate(value: unknown) {
      present(value);
      let ok = false;
      try {
        const url = new URL(String(value));
        ok = typeof value === "string" && (url.protocol === "http:" || url.protocol === "https:");
      } catch {
        ok = false;
      }
      if (!ok) throw new Error("is not an http:// or https:// URL");
    },
  },
  "sr-timestamp": {
    validate(value: unknown) {
      present(value);
      if (typeof value !== "string" || !isRfc3339(value)) {
        throw new Error("is not an RFC 3339 timestamp (use e.g. 2024-05-01T12:00:00Z)");
      }
    },
  },
};
convict.addFormats(FORMATS);

/** Formats whose values are strings: for these an empty string means "not given", as in Go. */
export const STRING_FORMATS: ReadonlySet<unknown> = new Set([
  "sr-text",
  "sr-enum",
  "sr-duration",
  "sr-nats-urls",
  "sr-http-url",
  "sr-timestamp",
]);

/** Human name of each format, for docs. */
function describeType(entry: SettingSchema<unknown>): string {
  const bounds = (unit = "") =>
    entry.min !== undefined || entry.max !== undefined
      ? ` (${entry.min !== undefined ? `min ${String(entry.min)}${unit}` : ""}${
          entry.min !== undefined && entry.max !== undefined ? ", " : ""
        }${entry.max !== undefined ? `max ${String(entry.max)}${unit}` : ""})`
      : "";
  switch (entry.format) {
    case "sr-text":
      return "string";
    case "sr-bool":
      return "boolean";
    case "sr-int":
      return `integer${bounds()}`;
    case "sr-port":
      return "port (0-65535)";
    case "sr-duration":
      return `duration${bounds()}`;
    case "sr-enum":
      return (entry.values ?? []).join(" | ");
    case "sr-nats-urls":
      return "URL list";
    case "sr-http-url":
      return "http(s) URL";
    case "sr-timestamp":
      return "RFC 3339 timestamp";
    default:
      return "mapping";
  }
}

// ---- schemas ----

export const settingsSchema: Schema<RawSettings> = {
  debug: {
    doc: "Log at debug level (the original tool's switch; log_level wins when given).",
    format: "sr-bool",
    default: false,
  },
  verbose: {
    doc: "Log at verbose level (the original tool's switch; log_level and debug win).",
    format: "sr-bool",
    default: false,
  },
  log_level: {
    doc: "Log level. When not given: debug if `debug: true`, verbose if `verbose: true`, else info.",
    format: "sr-enum",
    values: LOG_LEVELS,
    default: null,
    nullable: true,
    defaultText: "from debug/verbose, else info",
    env: "SR_LOG_LEVEL",
  },
  log_format: {
    doc: "Log line format.",
    format: "sr-enum",
    values: LOG_FORMATS,
    default: "text",
    env: "SR_LOG_FORMAT",
  },
  logfile: {
    doc: "File to append logs to; standard output when not given.",
    format: "sr-text",
    default: null,
    nullable: true,
    defaultText: "stdout",
    env: "SR_LOGFILE",
  },
  state_dir: {
    doc: "Directory where limiter and advisor state is saved per topic and read at start; no state is kept when not given.",
    format: "sr-text",
    default: null,
    nullable: true,
    env: "SR_STATE_DIR",
  },
  state_save_interval: {
    doc: "How often state is saved to state_dir (it is also saved at shutdown).",
    format: "sr-duration",
    default: "30s",
    min: "1s",
    max: "24h",
  },
  shutdown_timeout: {
    doc: "How long a shutdown waits for messages in flight before closing connections.",
    format: "sr-duration",
    default: "10s",
    max: "24h",
  },
  http_host: {
    doc: "Address the HTTP server (/metrics, /healthz) listens on.",
    format: "sr-text",
    default: "0.0.0.0",
    env: "SR_HTTP_HOST",
  },
  http_port: {
    doc: "Port of the HTTP server (/metrics, /healthz); 0 picks a free port.",
    format: "sr-port",
    default: 9180,
    env: "SR_HTTP_PORT",
  },
  http_tls: {
    doc: "Serve the HTTP endpoints over HTTPS with this certificate and key (see the http_tls table).",
    format: Object,
    default: null,
    nullable: true,
    defaultText: "plain HTTP",
  },
  http_basic_auth: {
    doc: "Require HTTP basic authentication for /metrics (see the http_basic_auth table); /healthz and /livez stay open for probes.",
    format: Object,
    default: null,
    nullable: true,
    sensitive: true,
    defaultText: "no authentication",
  },
  tls: {
    doc: "Default TLS settings for every topic (see the tls table). A topic's own tls block replaces it as a whole.",
    format: Object,
    default: null,
    nullable: true,
  },
  source_auth: {
    doc: "Default authentication to every topic's source cluster (see the auth table). A topic's own source_auth replaces it as a whole.",
    format: Object,
    default: null,
    nullable: true,
    sensitive: true,
  },
  target_auth: {
    doc: "Default authentication to every topic's target cluster (see the auth table). A topic's own target_auth replaces it as a whole.",
    format: Object,
    default: null,
    nullable: true,
    sensitive: true,
  },
  topics: {
    doc: "The channels to replicate: a mapping of topic name to topic settings (see the topic table). At least one.",
    format: Object,
    default: {},
    defaultText: "required",
  },
};

export const topicSchema: Schema<RawTopic> = {
  topic: {
    doc: "Channel to replicate from the source.",
    format: "sr-text",
    default: null,
  },
  target_topic: {
    doc: "Channel name on the target, when it differs from topic.",
    format: "sr-text",
    default: null,
    nullable: true,
    defaultText: "same as topic",
  },
  source_url: {
    doc: "Source NATS server URLs, comma-separated (nats:// or tls://; host:port gets nats://).",
    format: "sr-nats-urls",
    default: "nats://localhost:4222",
  },
  source_cluster_id: {
    doc: "Cluster ID of the source NATS Streaming cluster.",
    format: "sr-text",
    default: null,
  },
  target_url: {
    doc: "Target NATS server URLs, comma-separated (nats:// or tls://; host:port gets nats://).",
    format: "sr-nats-urls",
    default: null,
  },
  target_cluster_id: {
    doc: "Cluster ID of the target NATS Streaming cluster.",
    format: "sr-text",
    default: null,
  },
  workers: {
    doc: "Number of workers (source subscriptions). More than one means a queue group and no ordering.",
    format: "sr-int",
    default: 1,
    min: 1,
    max: 128,
  },
  queued: {
    doc: "Subscribe as a queue group. Always true when workers > 1 (false with workers > 1 is an error).",
    format: "sr-bool",
    default: null,
    nullable: true,
    defaultText: "true when workers > 1, else false",
  },
  queue_group: {
    doc: "Queue group name.",
    format: "sr-text",
    default: null,
    nullable: true,
    defaultText: "`<topic, . as _>_stream_replicator_grp`",
  },
  name: {
    doc: "Durable name, also the prefix of client IDs `<name>_<worker>`: letters, digits, _ and - only.",
    format: "sr-text",
    default: null,
    nullable: true,
    defaultText: "`<topic name>_<topic>_stream_replicator`, other characters as _",
  },
  inspect: {
    doc: "JSON field identifying the sender (e.g. host); with age, a sender is copied at most once per age. Needs age.",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  update_flag: {
    doc: "JSON field that, when true, forces a message through the inspect limiter. Needs inspect.",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  age: {
    doc: "With inspect: how long a sender is suppressed after one of its messages is copied.",
    format: "sr-duration",
    default: null,
    nullable: true,
    min: "1s",
  },
  monitor: {
    doc: "Extra HTTP port serving /metrics for this topic (the original tool's setting); 0 disables it.",
    format: "sr-port",
    default: null,
    nullable: true,
  },
  advisory: {
    doc: "Publish advisories about senders seen by inspect (see the advisory table). Needs inspect and age.",
    format: Object,
    default: null,
    nullable: true,
  },
  tls: {
    doc: "TLS settings for this topic (see the tls table); replaces the top-level tls block as a whole.",
    format: Object,
    default: null,
    nullable: true,
    defaultText: "top-level tls",
  },
  source_auth: {
    doc: "Authentication to the source cluster (see the auth table); replaces the top-level source_auth as a whole. Credentials in a source_url win for that server.",
    format: Object,
    default: null,
    nullable: true,
    sensitive: true,
    defaultText: "top-level source_auth",
  },
  target_auth: {
    doc: "Authentication to the target cluster (see the auth table); replaces the top-level target_auth as a whole. Credentials in a target_url win for that server.",
    format: Object,
    default: null,
    nullable: true,
    sensitive: true,
    defaultText: "top-level target_auth",
  },
  disable_source_tls: {
    doc: "Connect to the source without TLS even when tls is set.",
    format: "sr-bool",
    default: false,
  },
  disable_target_tls: {
    doc: "Connect to the target without TLS even when tls is set.",
    format: "sr-bool",
    default: false,
  },
  start_at: {
    doc: "Where a new durable starts: first (all stored messages), new (only new ones), last (last stored, then new). Only one of start_at, start_sequence, start_time, start_delta.",
    format: "sr-enum",
    values: START_AT,
    default: "first",
  },
  start_sequence: {
    doc: "Start a new durable at this source sequence.",
    format: "sr-int",
    default: null,
    nullable: true,
    min: 1,
  },
  start_time: {
    doc: "Start a new durable at the first message stored at or after this time (RFC 3339).",
    format: "sr-timestamp",
    default: null,
    nullable: true,
  },
  start_delta: {
    doc: "Start a new durable with messages stored within this duration before the start.",
    format: "sr-duration",
    default: null,
    nullable: true,
    min: "1ms",
  },
  max_in_flight: {
    doc: "Messages in flight per worker: the source max in flight and the publish window.",
    format: "sr-int",
    default: 1024,
    min: 1,
    max: 16384,
  },
  ack_wait: {
    doc: "Source ack wait: a message not acknowledged within this time is delivered again.",
    format: "sr-duration",
    default: "30s",
    min: "1s",
    max: "24h",
  },
  publish_timeout: {
    doc: "How long to wait for the target to acknowledge a publish.",
    format: "sr-duration",
    default: "10s",
    min: "1ms",
    max: "24h",
  },
  source_monitor_url: {
    doc: "Base URL of the source server's HTTP monitoring port (e.g. http://source1:8222), for the lag metric.",
    format: "sr-http-url",
    default: null,
    nullable: true,
  },
};

export const advisorySchema: Schema<RawAdvisory> = {
  target: {
    doc: "Channel the advisories are published to.",
    format: "sr-text",
    default: null,
  },
  cluster: {
    doc: "Cluster the advisories are published to.",
    format: "sr-enum",
    values: ["source", "target"],
    default: "target",
  },
  age: {
    doc: "A sender not seen for this long gets a timeout advisory.",
    format: "sr-duration",
    default: null,
    min: "1s",
  },
  interval: {
    doc: "How often tracked senders are checked for timeout and expire.",
    format: "sr-duration",
    default: null,
    nullable: true,
    min: "100ms",
    defaultText:
      "30s, or a quarter of the shorter of advisory.age and age when that is less (at least 1s)",
  },
};

export const tlsSchema: Schema<RawTls> = {
  ca: {
    doc: "Path of the CA bundle (PEM, one or more CA certificates, e.g. the source's and the target's) the server certificate is verified against; the system CAs when not given.",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  cert: {
    doc: "Path of the client certificate (PEM), for servers that verify clients (mutual TLS).",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  key: {
    doc: "Path of the client private key (PEM, not encrypted).",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  scheme: {
    doc: "Original tool's setting: file or manual use ca/cert/key (relative to ssl_dir when set); puppet finds them in ssl_dir by identity.",
    format: "sr-enum",
    values: ["file", "manual", "puppet"],
    default: null,
    nullable: true,
    defaultText: "file",
  },
  ssl_dir: {
    doc: "Original tool's setting: directory that relative ca/cert/key paths (or the puppet layout) are in.",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  identity: {
    doc: "Original tool's setting: certificate name, used by scheme puppet (`certs/<identity>.pem`, `private_keys/<identity>.pem`).",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  server_name: {
    doc: "Name the server certificate must be valid for (also sent as SNI), when it differs from the host in the URL. The name is always verified.",
    format: "sr-text",
    default: null,
    nullable: true,
    defaultText: "host of the URL",
  },
};

export const authSchema: Schema<RawAuth> = {
  user: {
    doc: "User name; needs password or password_file.",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  password: {
    doc: "Password for user. Write it as `${VARIABLE}` to take it from the environment.",
    format: "sr-text",
    default: null,
    nullable: true,
    sensitive: true,
  },
  password_file: {
    doc: "File holding the password for user (one trailing newline is ignored).",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  token: {
    doc: "Authorization token (the server's --auth).",
    format: "sr-text",
    default: null,
    nullable: true,
    sensitive: true,
  },
  token_file: {
    doc: "File holding the token (one trailing newline is ignored).",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  nkey_seed: {
    doc: "User NKey seed (`SU...`): the client signs the server's nonce with it.",
    format: "sr-text",
    default: null,
    nullable: true,
    sensitive: true,
  },
  nkey_seed_file: {
    doc: "File holding the user NKey seed (as written by `nk -gen user`).",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  credentials: {
    doc: "NATS credentials file (`.creds`: user JWT and NKey seed, as written by `nsc`).",
    format: "sr-text",
    default: null,
    nullable: true,
  },
};

export const httpTlsSchema: Schema<RawHttpTls> = {
  cert: {
    doc: "Path of the HTTPS server certificate (PEM; may include the chain).",
    format: "sr-text",
    default: null,
  },
  key: {
    doc: "Path of the HTTPS server private key (PEM, not encrypted).",
    format: "sr-text",
    default: null,
  },
};

export const basicAuthSchema: Schema<RawBasicAuth> = {
  user: {
    doc: "User name Prometheus sends.",
    format: "sr-text",
    default: null,
  },
  password: {
    doc: "Password Prometheus sends; give this or password_file.",
    format: "sr-text",
    default: null,
    nullable: true,
    sensitive: true,
  },
  password_file: {
    doc: "File holding the password (one trailing newline is ignored).",
    format: "sr-text",
    default: null,
    nullable: true,
  },
};

/** The process-level environment variables, from the schema. */
export const ENV_VARS: readonly string[] = [
  CONFIG_ENV,
  ...Object.values(settingsSchema).flatMap((entry) => (entry.env ? [entry.env] : [])),
];

/** One documented setting, for docs/configuration.md. */
export interface SettingDoc {
  key: string;
  env?: string;
  type: string;
  default: string;
  doc: string;
}

function describe<T>(schema: Schema<T>): SettingDoc[] {
  return Object.entries<SettingSchema<unknown>>(schema).map(([key, entry]) => {
    const value = entry.default;
    const shown =
      entry.defaultText ??
      (value === null ? (entry.nullable ? "—" : "required") : `\`${String(value)}\``);
    return {
      key,
      ...(entry.env ? { env: entry.env } : {}),
      type: describeType(entry),
      default: shown,
      doc: entry.doc,
    };
  });
}

/** Every setting of every schema, in schema order, for the reference documentation. */
export function describeSettings(): {
  settings: SettingDoc[];
  topic: SettingDoc[];
  advisory: SettingDoc[];
  tls: SettingDoc[];
  auth: SettingDoc[];
  httpTls: SettingDoc[];
  basicAuth: SettingDoc[];
} {
  return {
    settings: describe(settingsSchema),
    topic: describe(topicSchema),
    advisory: describe(advisorySchema),
    tls: describe(tlsSchema),
    auth: describe(authSchema),
    httpTls: describe(httpTlsSchema),
    basicAuth: describe(basicAuthSchema),
  };
}
