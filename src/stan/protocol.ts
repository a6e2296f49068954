/**
 * The NATS Streaming wire protocol: its protobuf messages (stan.go pb/protocol.proto),
 * encoded and decoded by hand.
 *
 * Why by hand: the messages are a handful of strings, varints and one bytes field, and the
 * generic protobuf runtime was the largest single cost per replicated message (a decoded
 * object per message, a copy of every payload, UTF-16 strings for every field). Here a
 * payload is decoded as a view of the received bytes, and a publish is written straight into
 * the connection's outbound buffer.
 *
 * Only the fields the replicator uses are decoded; unknown fields are skipped, so newer
 * servers stay compatible.
 */
import { decimalDigits, writeDecimal } from "./decimal";

/** Protobuf wire types. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

export enum StartPosition {
  NewOnly = 0,
  LastReceived = 1,
  TimeDeltaStart = 2,
  SequenceStart = 3,
  First = 4,
}

// ---------------------------------------------------------------------------------------
// Encoding

type Field =
  | { n: number; s: string | undefined }
  | { n: number; b: Uint8Array | undefined }
  | { n: number; v: number | undefined };

/** Encodes fields in the given order, leaving out empty ones as proto3 does. */
function encodeFields(fields: readonly Field[]): Buffer {
  const parts: Array<{ n: number; bytes?: Buffer; value?: number }> = [];
  let size = 0;
  for (const f of fields) {
    if ("s" in f || "b" in f) {
      const raw = "s" in f ? f.s : f.b;
      if (raw === undefined || raw.length === 0) continue;
      const bytes = typeof raw === "string" ? Buffer.from(raw, "utf8") : Buffer.from(raw);
      size += varintSize(f.n << 3) + varintSize(bytes.length) + bytes.length;
      parts.push({ n: f.n, bytes });
    } else if (f.v !== undefined && f.v !== 0) {
      size += varintSize(f.n << 3) + varintSize(f.v);
      parts.push({ n: f.n, value: f.v });
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of parts) {
    if (p.bytes !== undefined) {
      at = writeVarint(out, at, (p.n << 3) | LENGTH_DELIMITED);
      at = writeVarint(out, at, p.bytes.length);
      at += p.bytes.copy(out, at);
    } else {
      at = writeVarint(out, at, (p.n << 3) | VARINT);
      at = writeVarint(out, at, p.value ?? 0);
    }
  }
  return out;
}

export function encodeConnectRequest(r: {
  clientId: string;
  heartbeatInbox: string;
  connId: Uint8Array;
  pingIntervalSeconds: number;
  pingMaxOut: number;
}): Buffer {
  return encodeFields([
    { n: 1, s: r.clientId },
    { n: 2, s: r.heartbeatInbox },
    { n: 3, v: 1 }, // protocol 1: client pings, connection ids
    { n: 4, b: r.connId },
    { n: 5, v: r.pingIntervalSeconds },
    { n: 6, v: r.pingMaxOut },
  ]);
}

export interface SubscriptionRequest {
  clientId: string;
  subject: string;
  queueGroup?: string;
  inbox: string;
  maxInFlight: number;
  ackWaitSeconds: number;
  durableName?: string;
  startPosition: StartPosition;
  startSequence?: number;
  /** Nanoseconds before now. */
  startTimeDeltaNs?: number;
}

export function encodeSubscriptionRequest(r: SubscriptionRequest): Buffer {
  return encodeFields([
    { n: 1, s: r.clientId },
    { n: 2, s: r.subject },
    { n: 3, s: r.queueGroup },
    { n: 4, s: r.inbox },
    { n: 5, v: r.maxInFlight },
    { n: 6, v: r.ackWaitSeconds },
    { n: 7, s: r.durableName },
    { n: 10, v: r.startPosition },
    { n: 11, v: r.startSequence },
    { n: 12, v: r.startTimeDeltaNs },
  ]);
}

export function encodeCloseRequest(clientId: string): Buffer {
  return encodeFields([{ n: 1, s: clientId }]);
}

export function encodePing(connId: Uint8Array): Buffer {
  return encodeFields([{ n: 1, b: connId }]);
}

/**
 * Builds PubMsg envelopes for one connection. The parts that never change (client id,
 * connection id) are encoded once, the subject once per subject. The guid is the decimal
 * digits of a per-session counter, and an envelope is written straight into the connection's
 * outbound buffer (`encodeInto`), so a publish copies its payload once.
 */
export class PubMsgEncoder {
  private readonly head: Buffer;
  private readonly tail: Buffer;
  private readonly subjects = new Map<string, Buffer>();

  constructor(clientId: string, connId: Uint8Array) {
    this.head = encodeFields([{ n: 1, s: clientId }]);
    this.tail = encodeFields([{ n: 6, b: connId }]);
  }

  /** Envelope size for a guid, a subject and a payload length. */
  sizeOf(guid: number, subject: string, dataLength: number): number {
    const dataHeader = dataLength === 0 ? 0 : 1 + varintSize(dataLength);
    return (
      this.head.length +
      2 +
      decimalDigits(guid) +
      this.subjectField(subject).length +
      dataHeader +
      dataLength +
      this.tail.length
    );
  }

  /** Writes the envelope at `at`; returns the offset after it. */
  encodeInto(out: Buffer, at: number, guid: number, subject: string, data: Uint8Array): number {
    at += this.head.copy(out, at);
    out[at++] = (2 << 3) | LENGTH_DELIMITED;
    const digits = decimalDigits(guid);
    out[at++] = digits; // < 128
    at = writeDecimal(out, at, guid, digits);
    at += this.subjectField(subject).copy(out, at);
    if (data.length > 0) {
      out[at++] = (5 << 3) | LENGTH_DELIMITED;
      at = writeVarint(out, at, data.length);
      out.set(data, at);
      at += data.length;
    }
    return at + this.tail.copy(out, at);
  }

  /** The envelope as a Buffer of its own (tests, and anything off the hot path). */
  encode(guid: number, subject: string, data: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(this.sizeOf(guid, subject, data.length));
    this.encodeInto(out, 0, guid, subject, data);
    return out;
  }

  private subjectField(subject: string): Buffer {
    let field = this.subjects.get(subject);
    if (field === undefined) {
      field = encodeFields([{ n: 3, s: subject }]);
      this.subjects.set(subject, field);
    }
    return field;
  }
}

/** Ack envelopes of one subscription: the subject is encoded once. */
export class AckEncoder {
  private readonly subjectField: Buffer;

  constructor(subject: string) {
    this.subjectField = encodeFields([{ n: 1, s: subject }]);
  }

  sizeOf(sequence: number): number {
    return this.subjectField.length + 1 + varintSize(sequence);
  }

  /** Writes the Ack at `at`; returns the offset after it. */
  encodeInto(out: Buffer, at: number, sequence: number): number {
    at += this.subjectField.copy(out, at);
    out[at++] = (2 << 3) | VARINT;
    return writeVarint(out, at, sequence);
  }

  encode(sequence: number): Buffer {
    const out = Buffer.allocUnsafe(this.sizeOf(sequence));
    this.encodeInto(out, 0, sequence);
    return out;
  }
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Writes a non-negative integer below 2^53; returns the next offset. */
function writeVarint(out: Buffer, at: number, value: number): number {
  while (value >= 128) {
    out[at++] = (value % 128) | 128;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

// ---------------------------------------------------------------------------------------
// Decoding

/** A cursor over one protobuf message. Numbers above 2^53 lose precision (never exact ones we use). */
class Reader {
  at: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.at = start;
  }

  get done(): boolean {
    return this.at >= this.end;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.at < this.end ? this.buf[this.at++] : undefined;
      if (byte === undefined) throw new Error("truncated protobuf varint");
      value += (byte & 127) * scale;
      if (byte < 128) return value;
      scale *= 128;
    }
  }

  /** The bytes of a length-delimited field, as a view. */
  bytes(): Buffer {
    const length = this.varint();
    const start = this.at;
    this.at += length;
    if (this.at > this.end) throw new Error("truncated protobuf field");
    return this.buf.subarray(start, this.at);
  }

  string(): string {
    return this.bytes().toString("utf8");
  }

  /** A length-delimited field of ASCII digits as a number, -1 if it is not one. */
  decimal(): number {
    const length = this.varint();
    const start = this.at;
    this.at += length;
    if (this.at > this.end) throw new Error("truncated protobuf field");
    if (length === 0 || length > 15) return -1;
    let value = 0;
    for (let i = start; i < this.at; i++) {
      const digit = (this.buf[i] ?? 0) - 0x30;
      if (digit < 0 || digit > 9) return -1;
      value = value * 10 + digit;
    }
    return value;
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === LENGTH_DELIMITED) this.bytes();
    else if (wireType === FIXED64) this.at += 8;
    else if (wireType === FIXED32) this.at += 4;
    else throw new Error(`unsupported protobuf wire type ${wireType}`);
    if (this.at > this.end) throw new Error("truncated protobuf field");
  }
}

/** Decodes a message whose fields are all strings, into field number -> text. */
function decodeStrings(data: Uint8Array): Map<number, string> {
  const r = new Reader(asBuffer(data));
  const fields = new Map<number, string>();
  while (!r.done) {
    const tag = r.varint();
    const wireType = tag & 7;
    if (wireType === LENGTH_DELIMITED) fields.set(tag >>> 3, r.string());
    else r.skip(wireType);
  }
  return fields;
}

export interface ConnectResponse {
  pubPrefix: string;
  subRequests: string;
  closeRequests: string;
  error: string;
  pingRequests: string;
  pingIntervalSeconds: number;
  pingMaxOut: number;
  protocol: number;
}

export function decodeConnectResponse(data: Uint8Array): ConnectResponse {
  const r = new Reader(asBuffer(data));
  const out: ConnectResponse = {
    pubPrefix: "",
    subRequests: "",
    closeRequests: "",
    error: "",
    pingRequests: "",
    pingIntervalSeconds: 0,
    pingMaxOut: 0,
    protocol: 0,
  };
  while (!r.done) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType === LENGTH_DELIMITED && field <= 7) {
      const text = r.string();
      if (field === 1) out.pubPrefix = text;
      else if (field === 2) out.subRequests = text;
      else if (field === 4) out.closeRequests = text;
      else if (field === 5) out.error = text;
      else if (field === 7) out.pingRequests = text;
    } else if (wireType === VARINT && field >= 8 && field <= 10) {
      const value = r.varint();
      if (field === 8) out.pingIntervalSeconds = value;
      else if (field === 9) out.pingMaxOut = value;
      else out.protocol = value;
    } else r.skip(wireType);
  }
  return out;
}

/**
 * PubAck: guid (1), error (2). One per publish, so read without strings: the guid is our
 * decimal counter (-1 when it is not one of ours).
 */
export function decodePubAck(
  data: Uint8Array,
  start = 0,
  end = data.length,
): { guid: number; error: string } {
  const r = new Reader(asBuffer(data), start, end);
  let guid = -1;
  let error = "";
  while (!r.done) {
    const tag = r.varint();
    if (tag === ((1 << 3) | LENGTH_DELIMITED)) guid = r.decimal();
    else if (tag === ((2 << 3) | LENGTH_DELIMITED)) error = r.string();
    else r.skip(tag & 7);
  }
  return { guid, error };
}

/** SubscriptionResponse: ackInbox (2), error (3). */
export function decodeSubscriptionResponse(data: Uint8Array): { ackInbox: string; error: string } {
  const fields = decodeStrings(data);
  return { ackInbox: fields.get(2) ?? "", error: fields.get(3) ?? "" };
}

/** PingResponse and CloseResponse: error (1). */
export function decodeErrorResponse(data: Uint8Array): string {
  return decodeStrings(data).get(1) ?? "";
}

export interface DeliveredMessage {
  sequence: number;
  /** A view of the received bytes, not a copy. */
  data: Buffer;
  /** Nanoseconds since the epoch (as a float: exact to about 256 ns). */
  timestampNs: number;
  redelivered: boolean;
}

const EMPTY = Buffer.alloc(0);

/** MsgProto: sequence (1), data (4), timestamp (5), redelivered (6); the rest is skipped. */
export function decodeMsgProto(data: Uint8Array, start = 0, end = data.length): DeliveredMessage {
  const r = new Reader(asBuffer(data), start, end);
  let sequence = 0;
  let payload: Buffer = EMPTY;
  let timestampNs = 0;
  let redelivered = false;
  while (!r.done) {
    const tag = r.varint();
    switch (tag) {
      case (1 << 3) | VARINT:
        sequence = r.varint();
        break;
      case (4 << 3) | LENGTH_DELIMITED:
        payload = r.bytes();
        break;
      case (5 << 3) | VARINT:
        timestampNs = r.varint();
        break;
      case (6 << 3) | VARINT:
        redelivered = r.varint() !== 0;
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return { sequence, data: payload, timestampNs, redelivered };
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
