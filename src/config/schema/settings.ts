/** The top-level settings: their schema and their raw values as convict holds them. */
import type { LogFormat, LogLevel } from "../types";
import type { Schema } from "./setting";

export const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "verbose", "debug"];
export const LOG_FORMATS: readonly LogFormat[] = ["json", "text"];

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
