/**
 * Decoding the NATS Streaming protobuf messages the server sends (see ./protocol.ts for the
 * encoders and why this is done by hand). Only the fields the replicator uses are read;
 * unknown fields are skipped, so newer servers stay compatible. Hot-path decoders take offsets
 * into a larger buffer and never read outside them.
 */
import { FIXED32, FIXED64, LENGTH_DELIMITED, VARINT } from "./protocol";

/** The weight of a varint's 10th byte: protobuf varints have at most 10 bytes (64 bits). */
const LAST_VARINT_SCALE = 2 ** 63;

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
      // Without this bound a longer run of continuation bytes gave a value beyond 2^64 and,
      // from about 147 bytes on, NaN (0 * Infinity), passed on as a message's sequence.
      if (scale === LAST_VARINT_SCALE) throw new Error("protobuf varint longer than 10 bytes");
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
