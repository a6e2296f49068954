/**
 * The header block of a copy in JetStream, written straight into the outbound buffer:
 *
 *   NATS/1.0
 *   Nats-Msg-Id: <source cluster>:<channel>:<sequence>          the stream drops redeliveries
 *   Nats-Expected-Last-Msg-Id: <cluster>:<channel>:<previous>   ordered, only writer: no gaps
 *   Nats-Streaming-Channel / -Sequence / -Timestamp              as stan2js writes them
 *   Nats-Streaming-Cluster: <source cluster>
 *   Stream-Replicator: <topic name>
 *
 * The constant parts are encoded once per session; per copy only digits and the timestamp.
 */
import { decimalDigits, writeDecimal } from "../nats/decimal";

export interface CopyHeaderOptions {
  sourceClusterId: string;
  channel: string;
  /** The replicator's topic name. */
  replicator: string;
}

/** The message id of a copy: unique per source cluster, channel and sequence. */
export function messageId(
  o: Pick<CopyHeaderOptions, "sourceClusterId" | "channel">,
  sequence: number,
): string {
  return `${o.sourceClusterId}:${o.channel}:${sequence}`;
}

const TIMESTAMP_LENGTH = "2026-01-01T00:00:00.000Z".length;

export class CopyHeaders {
  private readonly idHead: Buffer;
  private readonly expectHead: Buffer;
  private readonly sequenceHead: Buffer;
  private readonly timestampHead: Buffer;
  private readonly tail: Buffer;
  /** The last timestamp formatted: copies in a burst share their millisecond. */
  private lastMs = Number.NaN;
  private lastTimestamp = "";

  constructor(readonly source: CopyHeaderOptions) {
    const o = source;
    const id = `${o.sourceClusterId}:${o.channel}:`;
    this.idHead = Buffer.from(`NATS/1.0\r\nNats-Msg-Id: ${id}`);
    this.expectHead = Buffer.from(`\r\nNats-Expected-Last-Msg-Id: ${id}`);
    this.sequenceHead = Buffer.from(
      `\r\nNats-Streaming-Channel: ${o.channel}\r\nNats-Streaming-Sequence: `,
    );
    this.timestampHead = Buffer.from("\r\nNats-Streaming-Timestamp: ");
    this.tail = Buffer.from(
      `\r\nNats-Streaming-Cluster: ${o.sourceClusterId}\r\nStream-Replicator: ${o.replicator}\r\n\r\n`,
    );
  }

  /** Bytes of the block for `sequence`, chained to `previous` when it is >= 0. */
  sizeOf(sequence: number, previous: number): number {
    const digits = decimalDigits(sequence);
    return (
      this.idHead.length +
      digits +
      (previous >= 0 ? this.expectHead.length + decimalDigits(previous) : 0) +
      this.sequenceHead.length +
      digits +
      this.timestampHead.length +
      TIMESTAMP_LENGTH +
      this.tail.length
    );
  }

  /** Writes the block at `at`; returns the offset after it. */
  encodeInto(
    out: Buffer,
    at: number,
    sequence: number,
    previous: number,
    timestampMs: number,
  ): number {
    const digits = decimalDigits(sequence);
    at += this.idHead.copy(out, at);
    at = writeDecimal(out, at, sequence, digits);
    if (previous >= 0) {
      at += this.expectHead.copy(out, at);
      at = writeDecimal(out, at, previous, decimalDigits(previous));
    }
    at += this.sequenceHead.copy(out, at);
    at = writeDecimal(out, at, sequence, digits);
    at += this.timestampHead.copy(out, at);
    if (timestampMs !== this.lastMs) {
      this.lastMs = timestampMs;
      this.lastTimestamp = new Date(timestampMs).toISOString();
    }
    at += out.write(this.lastTimestamp, at, "latin1");
    return at + this.tail.copy(out, at);
  }

  /** The largest block, for the payload limit. */
  maxSize(): number {
    return this.sizeOf(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  }
}
