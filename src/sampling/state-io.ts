/**
 * Chunked file I/O for state files, so that memory stays flat whatever the file size: lines are
 * read into one reused buffer, and written through another. Every read or write is a real I/O
 * wait, so the event loop runs between chunks.
 */
import type { promises as fsp } from "node:fs";

const READ_BYTES = 128 * 1024;
const WRITE_BYTES = 128 * 1024;
/** The writer flushes once this much is buffered; the rest of the buffer is room for one line. */
const FLUSH_AT = 64 * 1024;
const NEWLINE = 0x0a;

/**
 * Calls `onLine(buf, start, end)` for each line (without its newline) in bytes [from, to) of the
 * file; `to` must be just after a newline. `buf` is only valid during the call. A line longer than
 * the buffer grows it.
 */
export async function readLines(
  fh: fsp.FileHandle,
  from: number,
  to: number,
  onLine: (buf: Buffer, start: number, end: number) => void,
): Promise<void> {
  let buf = Buffer.allocUnsafe(READ_BYTES);
  let filled = 0;
  for (let pos = from; pos < to;) {
    if (filled === buf.length) {
      const bigger = Buffer.allocUnsafe(2 * buf.length);
      buf.copy(bigger, 0, 0, filled);
      buf = bigger;
    }
    const { bytesRead } = await fh.read(buf, filled, Math.min(buf.length - filled, to - pos), pos);
    if (bytesRead === 0) throw new Error("file shorter than its size while reading");
    pos += bytesRead;
    filled += bytesRead;
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE, start); nl >= 0 && nl < filled;) {
      onLine(buf, start, nl);
      start = nl + 1;
      nl = buf.indexOf(NEWLINE, start);
    }
    buf.copyWithin(0, start, filled);
    filled -= start;
  }
  if (filled > 0) throw new Error("last line has no newline");
}

/** Reads `length` bytes at `position` (fewer at the end of the file). */
export async function readAt(
  fh: fsp.FileHandle,
  position: number,
  length: number,
): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/**
 * Collects output in one reused buffer. Callers reserve room, write into `buf` at `used`, and
 * `await flush()` whenever `full` is true.
 */
export class ChunkWriter {
  /** Bytes written to the file so far. */
  written = 0;
  buf = Buffer.allocUnsafe(WRITE_BYTES);
  used = 0;

  constructor(private readonly fh: fsp.FileHandle) {}

  get full(): boolean {
    return this.used >= FLUSH_AT;
  }

  /** Makes room for `n` more bytes; grows the buffer (until the next flush) for a long line. */
  reserve(n: number): void {
    if (this.used + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(this.used + n);
    this.buf.copy(bigger, 0, 0, this.used);
    this.buf = bigger;
  }

  text(s: string): void {
    this.reserve(3 * s.length);
    this.used += this.buf.write(s, this.used);
  }

  async flush(): Promise<void> {
    let off = 0;
    while (off < this.used) {
      const { bytesWritten } = await this.fh.write(this.buf, off, this.used - off);
      off += bytesWritten;
    }
    this.written += this.used;
    this.used = 0;
    if (this.buf.length > WRITE_BYTES) this.buf = Buffer.allocUnsafe(WRITE_BYTES);
  }
}
