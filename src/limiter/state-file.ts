/**
 * Persistence of `[value, timeMs]` entries (limiter last-copied times, optionally advisor
 * last-seen times) so a restart does not re-copy every value at once.
 *
 * Format, version 1 (JSON Lines, UTF-8):
 *   {"version":1,"topic":"cmdb","inspect":"sender","saved":1700000000000}   header
 *   ["host1.example.net",1699999990000]                                     one line per entry
 *   {"end":true,"count":1}                                                  trailer
 * The trailer makes truncation detectable. Files are replaced atomically: written to a temp file
 * in the same folder, fsynced, renamed over the old file, then the folder is fsynced.
 */
import { createHash } from "node:crypto";
import { constants as fsConstants, promises as fsp } from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { ConfigError, ReplicatorError, errorText } from "../errors";

export const STATE_FILE_VERSION = 1;
const ENTRIES_PER_CHUNK = 5_000;
/** Parsing yields to the event loop after this much work. */
const PARSE_SLICE_MS = 8;

export interface StateMeta {
  /** Topic (configuration key) the entries belong to. */
  topic: string;
  /** The inspect key; a file written for another key is not loaded. */
  inspect?: string;
}

export interface SaveResult {
  count: number;
  bytes: number;
}

export interface LoadOptions {
  /** Entries with a time `ageMs` or more before `now` are dropped. */
  ageMs: number;
  now: number;
  /** When given, a file whose header names another topic or inspect key is ignored. */
  expect?: Partial<StateMeta>;
}

export interface LoadResult {
  /** value → time (ms); empty whenever `warning` is set. Duplicate values keep the newest time. */
  entries: Map<string, number>;
  /** Stale entries dropped. */
  stale: number;
  /** Set when the file was missing, unreadable or invalid; one line fit for a log. */
  warning?: string;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** `<stateDir>/<topic>.state.jsonl`; unsafe names are sanitised and given a short hash suffix. */
export function stateFilePath(stateDir: string, topic: string): string {
  let base = topic;
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/.test(topic)) {
    const hash = createHash("sha256").update(topic).digest("hex").slice(0, 8);
    const safe = topic
      .replace(/[^A-Za-z0-9._-]/g, "_")
      .replace(/^\./, "_")
      .slice(0, 100);
    base = `${safe}-${hash}`;
  }
  return path.join(stateDir, `${base}.state.jsonl`);
}

/** Creates `dir` if needed and checks it is writable; throws ConfigError otherwise. */
export async function ensureStateDir(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true });
    await fsp.access(dir, fsConstants.W_OK);
    // access() passes for root even on read-only mounts: prove it with a real file.
    const probe = path.join(dir, `.write-probe-${process.pid}-${Date.now()}`);
    await fsp.writeFile(probe, "");
    await fsp.unlink(probe);
  } catch (err) {
    throw new ConfigError(
      `state_dir ${dir} is not a writable directory: ${errorText(err)}`,
      undefined,
      undefined,
      "state_dir",
    );
  }
}

/**
 * Writes entries atomically to `file`, in chunks, yielding to the event loop between chunks.
 * `entries` may be a live Map iterator. Throws ReplicatorError on I/O failure (the old file, if
 * any, is left intact and the temp file removed).
 */
export async function saveState(
  file: string,
  entries: Iterable<readonly [string, number]>,
  meta: StateMeta,
  now: number = Date.now(),
): Promise<SaveResult> {
  const dir = path.dirname(file);
  const tmp = path.join(
    dir,
    `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`,
  );
  let count = 0;
  let bytes = 0;
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, "w", 0o644);
    const header = { version: STATE_FILE_VERSION, ...meta, saved: now };
    let chunk = JSON.stringify(header) + "\n";
    let inChunk = 0;
    for (const [value, at] of entries) {
      chunk += "[" + JSON.stringify(value) + "," + Math.round(at) + "]\n";
      count++;
      if (++inChunk >= ENTRIES_PER_CHUNK) {
        bytes += await writeAll(fh, chunk);
        chunk = "";
        inChunk = 0;
        await yieldToEventLoop();
      }
    }
    chunk += JSON.stringify({ end: true, count }) + "\n";
    bytes += await writeAll(fh, chunk);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, file);
  } catch (err) {
    if (fh !== undefined) await fh.close().catch(() => undefined);
    await fsp.unlink(tmp).catch(() => undefined);
    throw new ReplicatorError(`cannot save state file ${file}: ${errorText(err)}`, {
      cause: err,
      retriable: true,
    });
  }
  await syncDir(dir);
  return { count, bytes };
}

async function writeAll(fh: fsp.FileHandle, text: string): Promise<number> {
  const buf = Buffer.from(text, "utf8");
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
  return buf.length;
}

/** Makes the rename durable. Best effort: not every platform can fsync a directory. */
async function syncDir(dir: string): Promise<void> {
  try {
    const dh = await fsp.open(dir, "r");
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // ignored
  }
}

class InvalidState extends Error {}

/**
 * Reads a state file. Never throws: a missing, unreadable, truncated, corrupt or foreign file
 * gives empty entries and one warning. Parsing yields to the event loop between chunks.
 */
export async function loadState(file: string, options: LoadOptions): Promise<LoadResult> {
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const warning =
      code === "ENOENT"
        ? `state file ${file} does not exist, starting with empty state`
        : `state file ${file} cannot be read, starting with empty state: ${errorText(err)}`;
    return { entries: new Map(), stale: 0, warning };
  }
  try {
    return await parseState(text, options);
  } catch (err) {
    const reason = err instanceof InvalidState ? err.message : `corrupt (${errorText(err)})`;
    return {
      entries: new Map(),
      stale: 0,
      warning: `state file ${file} is ${reason}, starting with empty state`,
    };
  }
}

async function parseState(text: string, options: LoadOptions): Promise<LoadResult> {
  if (text.length === 0) throw new InvalidState("empty");
  if (!text.endsWith("\n")) throw new InvalidState("truncated (no final newline)");
  // Lines are cut one at a time (no split of the whole file) so no single step blocks for long.
  const headerEnd = text.indexOf("\n");
  const header: unknown = JSON.parse(text.slice(0, headerEnd));
  if (!isRecord(header) || typeof header.version !== "number") {
    throw new InvalidState("not a stream-replicator state file");
  }
  if (header.version !== STATE_FILE_VERSION) {
    throw new InvalidState(`of unsupported version ${header.version}`);
  }
  for (const key of ["topic", "inspect"] as const) {
    const want = options.expect?.[key];
    if (want !== undefined && header[key] !== want) {
      throw new InvalidState(
        `for ${key} ${JSON.stringify(header[key])}, not ${JSON.stringify(want)}`,
      );
    }
  }

  const trailerStart = text.lastIndexOf("\n", text.length - 2) + 1;
  const trailer: unknown =
    trailerStart > headerEnd ? JSON.parse(text.slice(trailerStart, text.length - 1)) : null;
  if (!isRecord(trailer) || trailer.end !== true || typeof trailer.count !== "number") {
    throw new InvalidState("truncated (no trailer)");
  }

  const cutoff = options.now - options.ageMs;
  const entries = new Map<string, number>();
  let stale = 0;
  let count = 0;
  let sliceStart = performance.now();
  for (let pos = headerEnd + 1; pos < trailerStart;) {
    const end = text.indexOf("\n", pos);
    const entry: unknown = JSON.parse(text.slice(pos, end));
    pos = end + 1;
    count++;
    if (
      !Array.isArray(entry) ||
      entry.length !== 2 ||
      typeof entry[0] !== "string" ||
      typeof entry[1] !== "number" ||
      !Number.isFinite(entry[1])
    ) {
      throw new InvalidState(`corrupt (bad entry on line ${count + 1})`);
    }
    const [value, at] = entry as [string, number];
    if (at <= cutoff) stale++;
    else if ((entries.get(value) ?? -Infinity) < at) entries.set(value, at);
    if ((count & 511) === 0 && performance.now() - sliceStart >= PARSE_SLICE_MS) {
      await yieldToEventLoop();
      sliceStart = performance.now();
    }
  }
  if (trailer.count !== count) {
    throw new InvalidState(`truncated (trailer says ${trailer.count} entries, found ${count})`);
  }
  return { entries, stale };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
