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
 *
 * Memory: a million entries make a 40 MB file, so neither direction holds the file or a string per
 * entry. Saving copies each value's bytes from the table into a reused chunk; loading reads a
 * chunk at a time and puts each line's bytes straight into the table. A file is read twice, first
 * to check every line and then to load it, so a bad file still changes nothing.
 */
import { createHash } from "node:crypto";
import { constants as fsConstants, promises as fsp } from "node:fs";
import * as path from "node:path";
import { ConfigError, ReplicatorError, errorText } from "../errors";
import { TimeColumn } from "../value-table/time-column";
import { EntryLine, maxEntryLength, putEntry } from "./entry-line";
import { ChunkWriter, readAt, readLines } from "./state-io";

export const STATE_FILE_VERSION = 1;
/** The header and the trailer are looked for within this many bytes of either end. */
const EDGE_BYTES = 64 * 1024;

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
  /** Entries with a time `ageMs` or more before `now` are dropped; later ones are clamped to `now`. */
  ageMs: number;
  now: number;
  /** When given, a file whose header names another topic or inspect key is ignored. */
  expect?: Partial<StateMeta>;
}

/** Where loaded entries go (a TimeColumn). Each keeps the newer of its time and the one there. */
export interface StateSink {
  /** Called once before the entries: `entries` values are coming. */
  reserve(entries: number): void;
  restore(value: string, at: number): void;
  /** `buf[start, end)` is the value's UTF-8, valid only during the call. */
  restoreBytes(buf: Buffer, start: number, end: number, at: number): void;
}

export interface LoadResult {
  /** Entries put into the sink (duplicates included); 0 whenever `warning` is set. */
  loaded: number;
  /** Stale entries dropped. */
  stale: number;
  /** Set when the file was missing, unreadable or invalid; one line fit for a log. */
  warning?: string;
  /** There was no file: a first start, not a problem. */
  missing?: true;
}

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
 * Writes entries atomically to `file`, a chunk at a time. `entries` is a TimeColumn (written from
 * its bytes, live: see TimeColumn.indices) or any iterable of pairs. Throws ReplicatorError on I/O
 * failure (the old file, if any, is left intact and the temp file removed).
 */
export async function saveState(
  file: string,
  entries: TimeColumn | Iterable<readonly [string, number]>,
  meta: StateMeta,
  now: number = Date.now(),
): Promise<SaveResult> {
  const dir = path.dirname(file);
  const tmp = path.join(
    dir,
    `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`,
  );
  let count = 0;
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, "w", 0o644);
    const out = new ChunkWriter(fh);
    out.text(JSON.stringify({ version: STATE_FILE_VERSION, ...meta, saved: now }) + "\n");
    if (entries instanceof TimeColumn) {
      const table = entries.table;
      for (const e of entries.indices()) {
        const { bytes } = table;
        const offset = table.offset(e);
        const start = bytes.start(offset);
        const end = bytes.end(offset);
        out.reserve(maxEntryLength(end - start));
        out.used = putEntry(out.buf, out.used, bytes.block(offset), start, end, entries.timeAt(e));
        count++;
        // `e` is not used past this await: a compaction may move entries.
        if (out.full) await out.flush();
      }
    } else {
      for (const [value, at] of entries) {
        out.text("[" + JSON.stringify(value) + "," + Math.round(at) + "]\n");
        count++;
        if (out.full) await out.flush();
      }
    }
    out.text(JSON.stringify({ end: true, count }) + "\n");
    await out.flush();
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, file);
    await syncDir(dir);
    return { count, bytes: out.written };
  } catch (err) {
    if (fh !== undefined) await fh.close().catch(() => undefined);
    await fsp.unlink(tmp).catch(() => undefined);
    throw new ReplicatorError(`cannot save state file ${file}: ${errorText(err)}`, {
      cause: err,
      retriable: true,
    });
  }
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
 * Loads a state file into `into`. Never throws: a missing, unreadable, truncated, corrupt or
 * foreign file gives one warning and, unless reading fails between the two passes, leaves `into`
 * unchanged.
 */
export async function loadState(
  file: string,
  options: LoadOptions,
  into: StateSink,
): Promise<LoadResult> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(file, "r");
    return await readState(fh, options, into);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    let warning: string;
    if (code === "ENOENT") warning = `state file ${file} does not exist, starting with empty state`;
    else if (code !== undefined) {
      warning = `state file ${file} cannot be read, starting with empty state: ${errorText(err)}`;
    } else {
      const reason = err instanceof InvalidState ? err.message : `corrupt (${errorText(err)})`;
      warning = `state file ${file} is ${reason}, starting with empty state`;
    }
    return {
      loaded: 0,
      stale: 0,
      warning,
      ...(code === "ENOENT" ? { missing: true as const } : {}),
    };
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

async function readState(
  fh: fsp.FileHandle,
  options: LoadOptions,
  into: StateSink,
): Promise<LoadResult> {
  const { size } = await fh.stat();
  if (size === 0) throw new InvalidState("empty");
  const head = await readAt(fh, 0, Math.min(size, EDGE_BYTES));
  const tailStart = Math.max(0, size - EDGE_BYTES);
  const tail = tailStart === 0 ? head : await readAt(fh, tailStart, EDGE_BYTES);
  if (tail[tail.length - 1] !== 0x0a) throw new InvalidState("truncated (no final newline)");

  const headerEnd = head.indexOf(0x0a);
  if (headerEnd < 0) throw new InvalidState("not a stream-replicator state file (no header line)");
  checkHeader(JSON.parse(head.toString("utf8", 0, headerEnd)), options.expect);
  // The trailer is the last line; it must start after the header.
  const lastBreak = tail.length >= 2 ? tail.lastIndexOf(0x0a, tail.length - 2) : -1;
  const trailerStart = lastBreak >= 0 ? tailStart + lastBreak + 1 : 0;
  const trailer: unknown =
    trailerStart > headerEnd
      ? JSON.parse(tail.toString("utf8", lastBreak + 1, tail.length - 1))
      : null;
  if (!isRecord(trailer) || trailer.end !== true || typeof trailer.count !== "number") {
    throw new InvalidState("truncated (no trailer)");
  }

  const lines = { from: headerEnd + 1, to: trailerStart };
  const checked = await readEntries(fh, lines, options);
  if (trailer.count !== checked.count) {
    throw new InvalidState(
      `truncated (trailer says ${trailer.count} entries, found ${checked.count})`,
    );
  }
  into.reserve(checked.fresh);
  await readEntries(fh, lines, options, into);
  return { loaded: checked.fresh, stale: checked.count - checked.fresh };
}

function checkHeader(header: unknown, expect: Partial<StateMeta> | undefined): void {
  if (!isRecord(header) || typeof header.version !== "number") {
    throw new InvalidState("not a stream-replicator state file");
  }
  if (header.version !== STATE_FILE_VERSION) {
    throw new InvalidState(`of unsupported version ${header.version}`);
  }
  for (const key of ["topic", "inspect"] as const) {
    const want = expect?.[key];
    if (want !== undefined && header[key] !== want) {
      throw new InvalidState(
        `for ${key} ${JSON.stringify(header[key])}, not ${JSON.stringify(want)}`,
      );
    }
  }
}

/** One pass over the entry lines: checks them all, and puts the fresh ones into `into` if given. */
async function readEntries(
  fh: fsp.FileHandle,
  lines: { from: number; to: number },
  options: LoadOptions,
  into?: StateSink,
): Promise<{ count: number; fresh: number }> {
  const cutoff = options.now - options.ageMs;
  const entry = new EntryLine();
  let count = 0;
  let fresh = 0;
  await readLines(fh, lines.from, lines.to, (buf, start, end) => {
    count++;
    if (!entry.parse(buf, start, end)) {
      throw new InvalidState(`corrupt (bad entry on line ${count + 1})`);
    }
    if (entry.at <= cutoff) return;
    fresh++;
    const at = Math.min(entry.at, options.now);
    if (entry.value !== undefined) into?.restore(entry.value, at);
    else into?.restoreBytes(buf, entry.start, entry.end, at);
  });
  return { count, fresh };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
