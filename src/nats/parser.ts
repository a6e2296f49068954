/**
 * Incremental parser of what a NATS server sends: MSG, HMSG, PING, PONG, +OK, -ERR and INFO.
 * Socket chunks may split a line or a payload anywhere; a payload that is complete in its chunk
 * is delivered as offsets into it (Node never reuses a socket chunk, so views of it stay valid),
 * a split one is gathered into a buffer of its own size.
 *
 * Of a message's headers (HMSG) only the status line is read: the server's `503` no-responders
 * answer is what the replicator needs; the header block is not passed on.
 */

/** What an HMSG adds to a message: its subject and the status code of its header block. */
export interface HeaderInfo {
  subject: string;
  /** `NATS/1.0 503` -> 503; 0 when the status line has no code. */
  status: number;
}

export interface ParserEvents {
  /**
   * The payload is `buf[start, end)`, passed as offsets so that the hot path creates no view
   * object per message. `reply` is undefined when the message has none (the common case);
   * `headers` is set only for an HMSG. `subjectId` is the number that ends the subject
   * (`_INBOX.x.42` -> 42), or -1: it tells which publish a reply answers, without a string.
   */
  msg(
    sid: number,
    reply: string | undefined,
    buf: Buffer,
    start: number,
    end: number,
    headers: HeaderInfo | undefined,
    subjectId: number,
  ): void;
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
  subjectId: number;
  reply: string | undefined;
  headers: HeaderInfo | undefined;
  /** Bytes of the header block at the start of `buf` (0 for MSG). */
  headerSize: number;
  size: number;
  /** payload + CRLF */
  buf: Buffer;
  filled: number;
}

export class MessageParser {
  /** The pieces of a control line that has not ended yet, and their total size. */
  private readonly pendingLine: Buffer[] = [];
  private pendingLength = 0;
  private partial: PartialMsg | undefined;
  private failed = false;

  constructor(private readonly on: ParserEvents) {}

  push(chunk: Buffer): void {
    if (this.failed) return;
    let buf = chunk;
    let p = 0;
    if (this.partial !== undefined) {
      p = this.fillPartial(buf);
      if (this.partial !== undefined || this.failed) return;
    }
    if (this.pendingLength > 0) {
      const rest = buf.subarray(p);
      if (!this.completesLine(rest)) return this.holdLine(rest);
      this.pendingLine.push(rest);
      buf = Buffer.concat(this.pendingLine, this.pendingLength + rest.length);
      p = 0;
      this.pendingLine.length = 0;
      this.pendingLength = 0;
    }
    while (p < buf.length && !this.failed) {
      const eol = buf.indexOf(CR, p);
      if (eol < 0 || eol + 1 >= buf.length) return this.holdLine(buf.subarray(p));
      // The limit holds for a line that came in one chunk too, so that the same bytes give the
      // same events however the socket cut them (before, only a split line was limited).
      if (eol - p > MAX_CONTROL_LINE) return this.fail("control line too long");
      if (buf[eol + 1] !== LF) return this.fail("control line without CRLF");
      const next = eol + 2;
      switch (buf[p]) {
        case 0x4d: // MSG
        case 0x6d:
          p = this.onMsg(buf, p, eol, next, false);
          break;
        case 0x48: // HMSG
        case 0x68:
          p = this.onMsg(buf, p, eol, next, true);
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

  /**
   * `MSG <subject> <sid> [reply] <size>` or `HMSG <subject> <sid> [reply] <header size>
   * <total size>`; returns where parsing continues.
   */
  private onMsg(
    buf: Buffer,
    start: number,
    eol: number,
    payloadStart: number,
    withHeaders: boolean,
  ): number {
    const tokens = tokenize(buf, start, eol);
    const plain = withHeaders ? 10 : 8; // offsets of the tokens without a reply subject
    if (tokens === undefined || (tokens.length !== plain && tokens.length !== plain + 2)) {
      return this.badLine(buf, start, eol, withHeaders ? "HMSG" : "MSG");
    }
    const n = tokens.length;
    const sid = digits(buf, tokens[4] ?? 0, tokens[5] ?? 0);
    const size = digits(buf, tokens[n - 2] ?? 0, tokens[n - 1] ?? 0);
    const headerSize = withHeaders ? digits(buf, tokens[n - 4] ?? 0, tokens[n - 3] ?? 0) : 0;
    if (sid < 0 || size < 0 || size > MAX_PAYLOAD || headerSize < 0 || headerSize > size) {
      return this.badLine(buf, start, eol, withHeaders ? "HMSG" : "MSG");
    }
    // Subjects are UTF-8: read as latin1, a non-ASCII reply subject went back as other bytes.
    const reply =
      n === plain + 2 ? buf.toString("utf8", tokens[6] ?? 0, tokens[7] ?? 0) : undefined;
    const headers = withHeaders
      ? { subject: buf.toString("utf8", tokens[2] ?? 0, tokens[3] ?? 0), status: 0 }
      : undefined;
    const subjectId = trailingNumber(buf, tokens[2] ?? 0, tokens[3] ?? 0);
    const end = payloadStart + size;
    if (end + 2 <= buf.length) {
      if (!this.endsWithCrlf(buf, end)) return buf.length;
      if (headers !== undefined) headers.status = statusOf(buf, payloadStart, headerSize);
      this.on.msg(sid, reply, buf, payloadStart + headerSize, end, headers, subjectId);
      return end + 2;
    }
    const partial: PartialMsg = {
      sid,
      subjectId,
      reply,
      headers,
      headerSize,
      size,
      buf: Buffer.allocUnsafe(size + 2),
      filled: 0,
    };
    partial.filled = buf.copy(partial.buf, 0, payloadStart);
    this.partial = partial;
    return buf.length;
  }

  private badLine(buf: Buffer, start: number, eol: number, op: string): number {
    this.fail(
      `bad ${op} line ${JSON.stringify(buf.toString("latin1", start, Math.min(eol, start + 200)))}`,
    );
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
    if (!this.endsWithCrlf(m.buf, m.size)) return taken;
    if (m.headers !== undefined) m.headers.status = statusOf(m.buf, 0, m.headerSize);
    this.on.msg(m.sid, m.reply, m.buf, m.headerSize, m.size, m.headers, m.subjectId);
    return taken;
  }

  /** Whether `rest` ends the held control line: its CRLF, or a byte after its CR, is there. */
  private completesLine(rest: Buffer): boolean {
    const last = this.pendingLine[this.pendingLine.length - 1];
    if (last?.[last.length - 1] === CR) return rest.length > 0;
    const cr = rest.indexOf(CR);
    return cr >= 0 && cr + 1 < rest.length;
  }

  /**
   * Holds the start of a control line until its end comes, refusing it as soon as it is too
   * long. Only new bytes are searched and the pieces are joined once: a line that trickles in a
   * byte at a time used to be copied whole for every byte (quadratic in its length).
   */
  private holdLine(rest: Buffer): void {
    if (rest.length === 0) return;
    const cr = rest.indexOf(CR); // only ever the last byte here
    if (this.pendingLength + (cr < 0 ? rest.length : cr) > MAX_CONTROL_LINE) {
      return this.fail("control line too long");
    }
    this.pendingLine.push(rest);
    this.pendingLength += rest.length;
  }

  /**
   * A payload must be followed by CRLF; otherwise its declared size is wrong, and without this
   * check a truncated or overlong payload was delivered as a message before the stream failed.
   */
  private endsWithCrlf(buf: Buffer, end: number): boolean {
    if (buf[end] === CR && buf[end + 1] === LF) return true;
    this.fail("message payload not followed by CRLF");
    return false;
  }

  private fail(text: string): void {
    this.failed = true;
    this.on.protocolError(text);
  }
}

/** Start/end offsets of the space-separated tokens of [start, end); undefined if over 6. */
function tokenize(buf: Buffer, start: number, end: number): number[] | undefined {
  const offsets: number[] = [];
  let i = start;
  while (i < end) {
    while (i < end && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
    if (i >= end) break;
    const tokenStart = i;
    while (i < end && buf[i] !== 0x20 && buf[i] !== 0x09) i++;
    offsets.push(tokenStart, i);
    if (offsets.length > 12) return undefined;
  }
  return offsets;
}

/** The decimal number after the last `.` of the subject in [start, end), or -1. */
function trailingNumber(buf: Buffer, start: number, end: number): number {
  let i = end;
  while (i > start && end - i < 15) {
    const c = buf[i - 1] ?? 0;
    if (c < 0x30 || c > 0x39) break;
    i--;
  }
  if (i === end || i <= start || buf[i - 1] !== 0x2e) return -1;
  return digits(buf, i, end);
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

/** The code of a header block's status line (`NATS/1.0 503 No Responders` -> 503), else 0. */
function statusOf(buf: Buffer, start: number, size: number): number {
  const prefix = 9; // "NATS/1.0 "
  if (size < prefix + 3 || buf.toString("latin1", start, start + prefix) !== "NATS/1.0 ") return 0;
  const code = digits(buf, start + prefix, start + prefix + 3);
  return code < 0 ? 0 : code;
}

/** `-ERR 'Authorization Violation'` -> `Authorization Violation` */
export function errText(line: string): string {
  return line
    .replace(/^-ERR\s*/i, "")
    .trim()
    .replace(/^'(.*)'$/, "$1");
}
