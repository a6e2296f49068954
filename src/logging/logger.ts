/**
 * Logging: fixed message text plus fields, `log.warn("publish failed", { topic, seq, err })`.
 * The rest of the code sees only the small `Logger` interface; winston stays in this folder.
 * Every field goes through `renderFields`: errors become their message, URLs lose their
 * credentials and secret-looking fields become "[redacted]".
 */
import { createWriteStream, openSync } from "node:fs";
import winston from "winston";
import type { LogFormat, LogLevel } from "../config/types";
import { ConfigError, errorText } from "../errors";
import { REDACTED, isSensitiveKey, looksLikeUrl, redactText, redactUrl } from "../util/redact";

export type { LogFormat, LogLevel };

export type LogFields = Record<string, unknown>;

/** Fields a child logger adds to every entry. */
export interface LogContext {
  component?: string;
  topic?: string;
  worker?: number | string;
  [field: string]: unknown;
}

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  verbose(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every entry (later fields win over earlier ones). */
  child(fields: LogContext): Logger;
}

/** The logger `createLogger` returns: `close()` flushes and releases the output. */
export interface RootLogger extends Logger {
  close(): Promise<void>;
  /**
   * Opens the log file again by its path (after logrotate moved it): every line goes either to
   * the old file or to the new one, never to both and never to neither. No-op without a file.
   */
  reopen(): Promise<void>;
}

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Append to this file instead of writing to stdout. */
  file?: string;
  /** Write to this stream instead of stdout or a file (tests, embedding). */
  stream?: NodeJS.WritableStream;
}

const LEVELS: readonly LogLevel[] = ["error", "warn", "info", "verbose", "debug"];
const CLOSE_TIMEOUT_MS = 2000;

export function createLogger(options: LoggerOptions): RootLogger {
  const stacks = options.level === "debug";
  const opened = openOutput(options);
  const owned = opened.owned;
  let output = opened.stream;
  let transport = new winston.transports.Stream({ stream: output });
  const w = winston.createLogger({
    level: options.level,
    levels: { error: 0, warn: 1, info: 2, verbose: 3, debug: 4 },
    format: options.format === "text" ? textFormat() : jsonFormat(),
    transports: [transport],
    exitOnError: false,
  });
  let reportedWriteError = false;
  const onOutputError = (err: unknown): void => {
    // A broken log output must not take the replicator down; say so once on stderr.
    if (reportedWriteError) return;
    reportedWriteError = true;
    process.stderr.write(`logging failed: ${redactText(errorMessage(err))}\n`);
  };
  w.on("error", onOutputError);
  if (owned) output.on("error", onOutputError);

  let closed = false;
  const write = (level: LogLevel, message: string, fields: LogFields): void => {
    if (closed || !w.isLevelEnabled(level)) return;
    w.log({
      ...renameReserved(renderFields(fields, { stacks })),
      level,
      message: redactText(message),
    });
  };

  const endOutput = (stream: NodeJS.WritableStream): Promise<void> =>
    settle((done) => {
      stream.once("finish", done);
      stream.once("error", done);
      stream.end();
    });
  return {
    ...makeLogger(write, {}),
    close: async () => {
      if (closed) return;
      closed = true;
      await settle((done) => {
        transport.once("finish", done);
        w.end();
      });
      if (owned) await endOutput(output);
    },
    reopen: async () => {
      if (!owned || closed) return;
      const next = openOutput(options).stream;
      next.on("error", onOutputError);
      const nextTransport = new winston.transports.Stream({ stream: next });
      const [oldTransport, oldOutput] = [transport, output];
      // In one turn: every line logged from here on goes to the new file only.
      w.add(nextTransport);
      w.remove(oldTransport);
      [transport, output] = [nextTransport, next];
      await settle((done) => {
        oldTransport.once("finish", done);
        oldTransport.end();
      });
      await endOutput(oldOutput);
    },
  };
}

/** Runs `start(done)` and resolves when done is called or after CLOSE_TIMEOUT_MS. */
function settle(start: (done: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    timer.unref();
    start(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function openOutput(options: LoggerOptions): { stream: NodeJS.WritableStream; owned: boolean } {
  if (options.stream) return { stream: options.stream, owned: false };
  if (options.file === undefined) return { stream: process.stdout, owned: false };
  // Opened synchronously so that a bad path is one clear error at startup, not a crash later.
  // The directory is not created: a wrong path should be reported, not silently made.
  try {
    const fd = openSync(options.file, "a");
    return { stream: createWriteStream(options.file, { fd }), owned: true };
  } catch (err) {
    throw new ConfigError(
      `cannot open log file ${options.file}: ${errorText(err)}`,
      undefined,
      undefined,
      "logfile",
    );
  }
}

/** One JSON object per line: time, level, message first, then the (already rendered) fields. */
function jsonFormat(): winston.Logform.Format {
  return winston.format.printf((info) => {
    const { level, message, ...fields } = info;
    return JSON.stringify({ time: new Date().toISOString(), level, message, ...fields });
  });
}

function textFormat(): winston.Logform.Format {
  return winston.format.printf((info) => {
    const { level, message, component, ...rest } = info;
    const head = `${new Date().toISOString()} ${level.padEnd(7)}`;
    const comp = typeof component === "string" ? ` [${component}]` : "";
    const pairs = Object.entries(rest).map(([k, v]) => `${k}=${textValue(v)}`);
    return `${head}${comp} ${String(message)}${pairs.length ? " " + pairs.join(" ") : ""}`;
  });
}

function textValue(v: unknown): string {
  if (typeof v === "string") return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  return JSON.stringify(v) ?? String(v);
}

/** Keys winston uses itself; a field with one of these names gets a trailing "_". */
const RESERVED = new Set(["time", "level", "message"]);

function renameReserved(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) out[RESERVED.has(k) ? `${k}_` : k] = v;
  return out;
}

/** Where a logger's entries go, after the logger added its context. */
export type WriteFn = (level: LogLevel, message: string, fields: LogFields) => void;

/**
 * A logger over any output: `write` gets every entry with its message and fields redacted and
 * rendered as createLogger() writes them (test/support/test-logger.ts keeps them in memory).
 */
export function loggerOver(write: WriteFn, options: { level: LogLevel; stacks: boolean }): Logger {
  const max = LEVELS.indexOf(options.level);
  return makeLogger((level, message, fields) => {
    if (LEVELS.indexOf(level) > max) return;
    write(level, redactText(message), renderFields(fields, { stacks: options.stacks }));
  }, {});
}

function makeLogger(write: WriteFn, context: LogFields): Logger {
  const at =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void =>
      write(level, message, fields ? { ...context, ...fields } : context);
  return {
    error: at("error"),
    warn: at("warn"),
    info: at("info"),
    verbose: at("verbose"),
    debug: at("debug"),
    child: (fields) => makeLogger(write, { ...context, ...fields }),
  };
}

// ---------------------------------------------------------------------------------------------
// Field rendering and redaction

export interface RenderOptions {
  /** Add `<field>_stack` for top-level errors (only when the log level is debug). */
  stacks: boolean;
}

const MAX_DEPTH = 4;
const MAX_ARRAY = 50;
const MAX_STRING = 4096;

/**
 * Turns log fields into plain, JSON-safe, credential-free data: errors → their message (and
 * causes), URLs → without userinfo, secret-named fields → "[redacted]", binary data → its size.
 */
export function renderFields(fields: LogFields, options: RenderOptions): LogFields {
  const out: LogFields = {};
  const seen = new Set<object>();
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (isSensitiveKey(key)) {
      out[key] = REDACTED;
      continue;
    }
    out[key] = renderValue(value, 0, seen);
    if (options.stacks && value instanceof Error && typeof value.stack === "string") {
      out[`${key}_stack`] = redactText(value.stack);
    }
  }
  return out;
}

function renderValue(value: unknown, depth: number, seen: Set<object>): unknown {
  switch (typeof value) {
    case "string":
      return renderString(value);
    case "number":
    case "boolean":
    case "undefined":
      return value;
    case "bigint":
      return value.toString();
    case "symbol":
      return value.toString();
    case "function":
      return "[function]";
  }
  if (value === null) return null;
  if (value instanceof Error) return renderString(errorMessage(value));
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer)
    return `[${value.byteLength} bytes]`;
  if (typeof value !== "object") return String(value);
  if (seen.has(value)) return "[circular]";
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? "[array]" : "[object]";
  seen.add(value);
  try {
    if (Array.isArray(value) || value instanceof Set) {
      const items = Array.from(value as Iterable<unknown>);
      const rendered = items.slice(0, MAX_ARRAY).map((v) => renderValue(v, depth + 1, seen));
      if (items.length > MAX_ARRAY) rendered.push(`[${items.length - MAX_ARRAY} more]`);
      return rendered;
    }
    const entries = value instanceof Map ? Array.from(value.entries()) : Object.entries(value);
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const key = String(k);
      if (v === undefined) continue;
      out[key] = isSensitiveKey(key) ? REDACTED : renderValue(v, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function renderString(s: string): string {
  const clean = looksLikeUrl(s) ? redactUrl(s) : redactText(s);
  if (clean.length <= MAX_STRING) return clean;
  return `${clean.slice(0, MAX_STRING)}…[${clean.length - MAX_STRING} more chars]`;
}

/** An error's message followed by its causes: "publish failed: connection closed". */
function errorMessage(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let i = 0; i < 4 && current !== undefined && current !== null; i++) {
    const text = ownMessage(current);
    if (text !== "" && !parts.some((p) => p.includes(text))) parts.push(text);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ") || (err instanceof Error ? err.name : String(err));
}

function ownMessage(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (e.message !== "") return e.message;
  // AggregateError (e.g. a failed connect to every address of a host) has an empty message.
  const inner = (e as { errors?: unknown }).errors;
  if (Array.isArray(inner))
    return inner
      .map((x) => ownMessage(x))
      .filter(Boolean)
      .join("; ");
  return "";
}
