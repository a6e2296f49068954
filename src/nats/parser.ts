/**
 * Incremental parser of what a NATS server sends: MSG, PING, PONG, +OK, -ERR and INFO. Socket
 * chunks may split a line or a payload anywhere; a payload that is complete in its chunk is
 * delivered as offsets into it (Node never reuses a socket chunk, so views of it stay valid),
 * a split one is gathered into a buffer of its own size.
 */

export interface ParserEvents {
  /**
   * The payload is `buf[start, end)`, passed as offsets so that the hot path creates no view
   * object per message. `reply` is undefined when the message has none (the common case).
   */
  msg(sid: number, reply: string | undefined, buf: Buffer, start: number, end: number): void;
  ping(): void;
  pong(): void;
  info(json: string): void;
  /** A -ERR from the server; the server closes the connection after most of them. */
  err(text: string): void;
  protocolError(text: string): void;
}

const CR = 13;
const LF = 10;
/** A control line longer than this is not NATS (subjects are far shorter). */
const MAX_CONTROL_LINE = 64 * 1024;
/** NATS servers refuse max_payload above 64 MB; a larger size is a broken stream, not a message. */
const MAX_PAYLOAD = 64 * 1024 * 1024;

interface PartialMsg {
  sid: number;
  reply: string | undefined;
  size: number;
  /** payload + CRLF */
  buf: Buffer;
  filled: number;
}

export class MessageParser {
  /** Bytes of a control line that has not ended yet. */
  private pendingLine: Buffer | undefined;
  private partial: PartialMsg | undefined;
  private failed = false;

  constructor(private readonly on: ParserEvents) {}

  push(chunk: Buffer): void {
    if (this.failed) return;
    let buf = chunk;
    let p = 0;
    if (this.partial !== undefined) {
      p = this.fillPartial(buf);
      if (this.partial !== undefined) return;
    }
    if (this.pendingLine !== undefined) {
      buf = Buffer.concat([this.pendingLine, buf.subarray(p)]);
      p = 0;
      this.pendingLine = undefined;
    }
    while (p < buf.length && !this.failed) {
      const eol = buf.indexOf(CR, p);
      if (eol < 0 || eol + 1 >= buf.length) {
        if (buf.length - p > MAX_CONTROL_LINE) return this.fail("control line too long");
        this.pendingLine = buf.subarray(p);
        return;
      }
      if (buf[eol + 1] !== LF) return this.fail("control line without CRLF");
      const next = eol + 2;
      switch (buf[p]) {
        case 0x4d: // MSG
        case 0x6d:
          p = this.onMsg(buf, p, eol, next);
          break;
        case 0x50: // PING / PONG
        case 0x70:
          if ((buf[p + 1] ?? 0) === 0x49 || buf[p + 1] === 0x69) this.on.ping();
          else this.on.pong();
          p = next;
          break;
        case 0x2b: // +OK
          p = next;
          break;
        case 0x2d: // -ERR
          this.on.err(errText(buf.toString("utf8", p, eol)));
          p = next;
          break;
        case 0x49: // INFO
        case 0x69:
          this.on.info(buf.toString("utf8", p + 5, eol));
          p = next;
          break;
        default:
          return this.fail(`unknown operation ${JSON.stringify(buf.toString("latin1", p, eol))}`);
      }
    }
  }

  /** `MSG <subject> <sid> [reply] <size>`; returns where parsing continues. */
  private onMsg(buf: Buffer, start: number, eol: number, payloadStart: number): number {
    const tokens = tokenize(buf, start, eol);
    if (tokens === undefined || (tokens.length !== 8 && tokens.length !== 10)) {
      this.fail(`bad MSG line ${JSON.stringify(buf.toString("latin1", start, eol))}`);
      return buf.length;
    }
    const sid = digits(buf, tokens[4] ?? 0, tokens[5] ?? 0);
    const size = digits(buf, tokens[tokens.length - 2] ?? 0, tokens[tokens.length - 1] ?? 0);
    if (sid < 0 || size < 0 || size > MAX_PAYLOAD) {
      this.fail("bad number in MSG line");
      return buf.length;
    }
    const reply =
      tokens.length === 10 ? buf.toString("latin1", tokens[6] ?? 0, tokens[7] ?? 0) : undefined;
    const end = payloadStart + size;
    if (end + 2 <= buf.length) {
      this.on.msg(sid, reply, buf, payloadStart, end);
      return end + 2;
    }
    const partial: PartialMsg = { sid, reply, size, buf: Buffer.allocUnsafe(size + 2), filled: 0 };
    partial.filled = buf.copy(partial.buf, 0, payloadStart);
    this.partial = partial;
    return buf.length;
  }

  /** Adds to a split payload; returns how much of `buf` it took. */
  private fillPartial(buf: Buffer): number {
    const m = this.partial;
    if (m === undefined) return 0;
    const taken = buf.copy(m.buf, m.filled, 0, Math.min(buf.length, m.buf.length - m.filled));
    m.filled += taken;
    if (m.filled < m.buf.length) return taken;
    this.partial = undefined;
    this.on.msg(m.sid, m.reply, m.buf, 0, m.size);
    return taken;
  }

  private fail(text: string): void {
    this.failed = true;
    this.on.protocolError(text);
  }
}

/** Start/end offsets of the space-separated tokens of [start, end); undefined if over 5. */
function tokenize(buf: Buffer, start: number, end: number): number[] | undefined {
  const offsets: number[] = [];
  let i = start;
  while (i < end) {
    while (i < end && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
    if (i >= end) break;
    const tokenStart = i;
    while (i < end && buf[i] !== 0x20 && buf[i] !== 0x09) i++;
    offsets.push(tokenStart, i);
    if (offsets.length > 10) return undefined;
  }
  return offsets;
}

/** A non-negative decimal in [start, end), or -1. */
function digits(buf: Buffer, start: number, end: number): number {
  if (end <= start) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const d = (buf[i] ?? 0) - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** `-ERR 'Authorization Violation'` -> `Authorization Violation` */
export function errText(line: string): string {
  return line
    .replace(/^-ERR\s*/i, "")
    .trim()
    .replace(/^'(.*)'$/, "$1");
}
