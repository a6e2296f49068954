/**
 * The outbound side of a NATS connection: protocol lines and messages are copied into one buffer
 * that is written to the socket once per turn of the event loop (or at once above 64 KiB), so
 * a burst of publishes and acks costs one socket write, not one each.
 */
import { decimalDigits, writeDecimal } from "./decimal";

/** Above this many buffered bytes the outbound buffer is written at once. */
const FLUSH_BYTES = 64 * 1024;

export class Outbound {
  private out: Buffer = Buffer.allocUnsafe(FLUSH_BYTES * 2);
  private outLength = 0;
  private flushQueued = false;
  /** `PUB <subject> <reply>` (or HPUB) per subject and reply, encoded once. */
  private readonly pubHeads = new Map<string, Buffer>();
  private lastPubHead:
    { subject: string; reply: string; withHeaders: boolean; head: Buffer } | undefined;

  /** `send` writes one chunk to the socket; it keeps the chunk. */
  constructor(private readonly send: (bytes: Buffer) => void) {}

  /**
   * Queues a message of `size` bytes that `fill` writes straight into the outbound buffer at
   * `at` (returning the offset after it), so an envelope is not built in a buffer of its own
   * first. With `replyId` >= 0 the reply subject is `reply` followed by its digits: a reply
   * subject per message without a string per message. With `headerSize` >= 0 it is an HPUB:
   * `fill` writes the header block (`headerSize` bytes, from `NATS/1.0\r\n` to the empty line)
   * and then the payload; `size` counts both.
   */
  publish(
    subject: string,
    reply: string,
    size: number,
    fill: (out: Buffer, at: number) => number,
    replyId = -1,
    headerSize = -1,
  ): void {
    const head = this.pubHead(subject, reply, headerSize >= 0);
    const idDigits = replyId >= 0 ? decimalDigits(replyId) : 0;
    const headerDigits = headerSize >= 0 ? decimalDigits(headerSize) + 1 : 0;
    const sizeDigits = decimalDigits(size);
    this.reserve(head.length + idDigits + headerDigits + 1 + sizeDigits + 2 + size + 2);
    const out = this.out;
    let at = this.outLength;
    at += head.copy(out, at);
    if (replyId >= 0) at = writeDecimal(out, at, replyId, idDigits);
    if (headerSize >= 0) {
      out[at++] = 32;
      at = writeDecimal(out, at, headerSize, headerDigits - 1);
    }
    out[at++] = 32;
    at = writeDecimal(out, at, size, sizeDigits);
    out[at++] = 13;
    out[at++] = 10;
    const end = fill(out, at);
    if (end !== at + size) throw new Error(`publish wrote ${end - at} bytes, not ${size}`);
    out[end] = 13;
    out[end + 1] = 10;
    this.outLength = end + 2;
    this.scheduleFlush();
  }

  /**
   * `PUB <subject>[ <reply>]` (or HPUB) as bytes. A connection publishes to the same subject and
   * reply over and over, so the last pair is checked before the map (no key string per message).
   */
  private pubHead(subject: string, reply: string, withHeaders: boolean): Buffer {
    const last = this.lastPubHead;
    if (
      last !== undefined &&
      last.subject === subject &&
      last.reply === reply &&
      last.withHeaders === withHeaders
    ) {
      return last.head;
    }
    const op = withHeaders ? "HPUB" : "PUB";
    const key = reply === "" ? `${op} ${subject}` : `${op} ${subject} ${reply}`;
    let head = this.pubHeads.get(key);
    if (head === undefined) {
      head = Buffer.from(key);
      this.pubHeads.set(key, head);
    }
    this.lastPubHead = { subject, reply, withHeaders, head };
    return head;
  }

  /** Queues protocol bytes (SUB, PING, ...). */
  write(bytes: Buffer): void {
    this.reserve(bytes.length);
    this.outLength += bytes.copy(this.out, this.outLength);
    this.scheduleFlush();
  }

  private reserve(bytes: number): void {
    if (this.outLength + bytes <= this.out.length) return;
    if (this.outLength >= FLUSH_BYTES) this.flush();
    if (this.outLength + bytes <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.outLength + bytes));
    this.out.copy(bigger, 0, 0, this.outLength);
    this.out = bigger;
  }

  /** Everything queued in this turn of the event loop goes out in one write. */
  private scheduleFlush(): void {
    if (this.outLength >= FLUSH_BYTES) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what is queued now. */
  flush(): void {
    this.flushQueued = false;
    if (this.outLength === 0) return;
    // The socket keeps the buffer until it is written, so it gets a copy of the used part.
    this.send(Buffer.from(this.out.subarray(0, this.outLength)));
    this.outLength = 0;
  }
}
