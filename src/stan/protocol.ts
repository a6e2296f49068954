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
 * This file has the encoders, ./protocol-decode.ts the decoders.
 */
import { decimalDigits, writeDecimal } from "../nats/decimal";

/** Protobuf wire types. */
export const VARINT = 0;
export const FIXED64 = 1;
export const LENGTH_DELIMITED = 2;
export const FIXED32 = 5;

/** The wire values of the SubscriptionRequest startPosition field. */
export enum StartPositionCode {
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
  startPosition: StartPositionCode;
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
