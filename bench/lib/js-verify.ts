/**
 * Verification of a JetStream run, as pure logic (js-read.ts feeds it from the servers): the
 * stream must hold exactly the messages published to the source channel, once each, byte for
 * byte, and for ordered contenders in source order.
 *
 * A copy is matched to its source message by its Nats-Streaming-Sequence header (every
 * contender writes it, as stan2js does), or by the payload's phase and id when the header is
 * missing. Unlike the STAN rows (at least once), a duplicate fails the run: exactly once is
 * what the message ids are for. Contenders that set message ids must set the right one.
 */
import { createHash } from "node:crypto";
import { decode } from "./payload";
import type { Verification } from "./verify";

export const SEQUENCE_HEADER = "Nats-Streaming-Sequence";
export const MSG_ID_HEADER = "Nats-Msg-Id";

/** 16 bytes that tell payloads apart (MD5: a checksum here, not a security measure). */
export function digest(data: Uint8Array): Buffer {
  return createHash("md5").update(data).digest();
}

function payloadKey(data: Uint8Array): string | undefined {
  const d = decode(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  return d === undefined ? undefined : `${d.phase}${d.id}`;
}

/** The source channel as it was published: each sequence's payload digest. */
export class SourceIndex {
  private readonly digests = new Map<number, Buffer>();
  private readonly byPayload = new Map<string, number>();

  add(sequence: number, data: Uint8Array): void {
    this.digests.set(sequence, digest(data));
    const key = payloadKey(data);
    if (key !== undefined) this.byPayload.set(key, sequence);
  }

  get size(): number {
    return this.digests.size;
  }

  digestOf(sequence: number): Buffer | undefined {
    return this.digests.get(sequence);
  }

  /** The source sequence of a copy: its sequence header, else its payload's phase and id. */
  sequenceOf(sequenceHeader: string | undefined, data: Uint8Array): number | undefined {
    if (sequenceHeader !== undefined && /^\d{1,15}$/.test(sequenceHeader)) {
      const n = Number(sequenceHeader);
      return this.digests.has(n) ? n : undefined;
    }
    const key = payloadKey(data);
    return key === undefined ? undefined : this.byPayload.get(key);
  }

  sequences(): IterableIterator<number> {
    return this.digests.keys();
  }
}

export interface StreamExpectation {
  /** Source sequences 1..backlog are the backlog (a fresh channel, filled before the run). */
  backlog: number;
  /** First copies must be in source order. */
  ordered: boolean;
  /** Every copy must carry the message id `<prefix><sequence>`; undefined: none required. */
  msgIdPrefix?: string;
}

export interface StreamCopy {
  /** A header of the stored message, undefined when absent. */
  header(name: string): string | undefined;
  data: Uint8Array;
  /** The stream's store time, ms since the epoch. */
  storedMs: number;
}

export interface JsVerification extends Verification {
  /** Messages in the stream by its own count, and on the source channel. */
  streamMessages: number;
  sourceMessages: number;
  /** Copies whose bytes differ from the source message they name. */
  payloadMismatches: number;
  /** Copies without the expected message id (only when one is expected). */
  wrongMsgIds: number;
  /** Copies without a usable sequence header, matched by payload id. */
  matchedByPayload: number;
}

/** Fed with every message of the stream in stream order; `result()` says what is wrong. */
export class StreamCheck {
  private readonly copies = new Map<number, number>();
  private read = 0;
  private distinct = 0;
  private duplicates = 0;
  private unexpected = 0;
  private outOfOrder = 0;
  private firstOutOfOrder?: string;
  private payloadMismatches = 0;
  private wrongMsgIds = 0;
  private matchedByPayload = 0;
  private lastFirst = 0;
  private backlogDistinct = 0;
  private backlogStoredFirstMs?: number;
  private backlogStoredLastMs?: number;

  constructor(
    private readonly source: SourceIndex,
    private readonly exp: StreamExpectation,
  ) {}

  add(copy: StreamCopy): void {
    this.read++;
    const header = copy.header(SEQUENCE_HEADER);
    const seq = this.source.sequenceOf(header, copy.data);
    if (seq === undefined) {
      this.unexpected++;
      return;
    }
    if (header === undefined) this.matchedByPayload++;
    if (!digest(copy.data).equals(this.source.digestOf(seq) ?? Buffer.alloc(0))) {
      this.payloadMismatches++;
    }
    const prefix = this.exp.msgIdPrefix;
    if (prefix !== undefined && copy.header(MSG_ID_HEADER) !== `${prefix}${seq}`) {
      this.wrongMsgIds++;
    }
    const seen = this.copies.get(seq) ?? 0;
    this.copies.set(seq, seen + 1);
    if (seen > 0) {
      this.duplicates++;
      return;
    }
    this.distinct++;
    if (this.exp.ordered && seq < this.lastFirst) {
      this.outOfOrder++;
      this.firstOutOfOrder ??= `stream message ${this.read}: source sequence ${seq} after ${this.lastFirst}`;
    }
    this.lastFirst = Math.max(this.lastFirst, seq);
    if (seq <= this.exp.backlog) {
      this.backlogDistinct++;
      this.backlogStoredFirstMs = Math.min(
        this.backlogStoredFirstMs ?? copy.storedMs,
        copy.storedMs,
      );
      this.backlogStoredLastMs = Math.max(this.backlogStoredLastMs ?? copy.storedMs, copy.storedMs);
    }
  }

  /** `streamMessages`: the stream's own message count; `expectedSource`: what was published. */
  result(streamMessages: number, expectedSource: number): JsVerification {
    const expected = this.source.size;
    const missing = expected - this.distinct;
    const problems: string[] = [];
    if (expected !== expectedSource) {
      problems.push(
        `the source channel holds ${expected} messages, ${expectedSource} were published`,
      );
    }
    if (this.read !== streamMessages) {
      problems.push(`read ${this.read} of ${streamMessages} stream messages`);
    }
    if (missing > 0) problems.push(`${missing} of ${expected} messages missing`);
    if (this.duplicates > 0) problems.push(`${this.duplicates} duplicates in the stream`);
    if (this.unexpected > 0) {
      problems.push(`${this.unexpected} stream messages that are not from the channel`);
    }
    if (this.payloadMismatches > 0) {
      problems.push(`${this.payloadMismatches} copies differ from their source message`);
    }
    if (this.wrongMsgIds > 0) {
      problems.push(
        `${this.wrongMsgIds} copies without the message id ${this.exp.msgIdPrefix ?? ""}<sequence>`,
      );
    }
    if (this.outOfOrder > 0) {
      problems.push(`${this.outOfOrder} out of order (${this.firstOutOfOrder ?? ""})`);
    }
    return {
      ok: problems.length === 0,
      read: this.read,
      distinct: this.distinct,
      expected,
      missing,
      duplicates: this.duplicates,
      unexpected: this.unexpected,
      outOfOrder: this.outOfOrder,
      firstOutOfOrder: this.firstOutOfOrder,
      backlogStoredFirstMs: this.backlogStoredFirstMs,
      backlogStoredLastMs: this.backlogStoredLastMs,
      backlogDistinct: this.backlogDistinct,
      streamMessages,
      sourceMessages: expected,
      payloadMismatches: this.payloadMismatches,
      wrongMsgIds: this.wrongMsgIds,
      matchedByPayload: this.matchedByPayload,
      problems,
      warnings:
        this.matchedByPayload > 0
          ? [`${this.matchedByPayload} copies without ${SEQUENCE_HEADER}, matched by payload id`]
          : [],
    };
  }
}
