/**
 * A JetStream target session: copies published with HPUB on the project's own NATS connection
 * (README, "Libraries and why": the official client's publish cost several times the CPU), each
 * with a reply subject of its own under one wildcard subscription, answered by a PubAck.
 *
 * Exactly once: every copy carries a message id derived from the source cluster, channel and
 * sequence (copy-headers.ts), so the stream drops a redelivered copy within its duplicate window
 * and answers `duplicate`. In ordered mode with the replicator as the stream's only writer, each
 * copy also names the previous one (Nats-Expected-Last-Msg-Id): a gap is refused by the server
 * (the pipeline halts and the source redelivers in order), and copies of sequences the stream
 * already holds are confirmed without publishing them again, however long ago they were stored.
 */
import { PublishError, ConnectionError, errorText } from "../errors";
import { NO_RESPONDERS, NatsConnection } from "../nats/connection";
import type { ConnectOptions } from "../nats/connection";
import { PendingReplies } from "../nats/pending-replies";
import type { MessageOrigin, PublishOutcome, SessionEnd, TargetSession } from "../replicator/ports";
import { CopyChain, noStream, refusal } from "./copy-chain";
import type { CopyHeaders } from "./copy-headers";
import { parsePubAck } from "./pub-ack";

export interface JetStreamSessionOptions {
  connect: ConnectOptions;
  stream: string;
  publishTimeoutMs: number;
  /** The header block of copies; without it (advisories) messages go out as they are. */
  headers?: CopyHeaders;
  /**
   * Ordered, only writer: the source sequence of the stream's last copy (-1: none). Copies up to
   * it are in the stream already; each new copy names the previous one.
   */
  chainFrom?: number;
  /** Before the first copy: start an empty stream at its sequence (align_sequences). */
  align?: (firstSequence: number) => Promise<void>;
}

export class JetStreamSession implements TargetSession {
  readonly ended: Promise<SessionEnd>;
  private endWith!: (end: SessionEnd) => void;
  private isEnded = false;
  private readonly pending: PendingReplies<PublishOutcome>;
  private readonly replyPrefix: string;
  private readonly sweep: NodeJS.Timeout;
  private readonly chain: CopyChain;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly o: JetStreamSessionOptions,
  ) {
    this.ended = new Promise((resolve) => (this.endWith = resolve));
    this.chain = new CopyChain(o.chainFrom, o.align);
    this.pending = new PendingReplies<PublishOutcome>(
      o.publishTimeoutMs,
      () => new PublishError("publish ack timeout", "timeout"),
    );
    this.replyPrefix = `${nc.createInbox()}.`;
    nc.subscribe(`${this.replyPrefix}*`, (buf, start, end, _reply, headers, id) => {
      if (headers?.status === NO_RESPONDERS) {
        this.pending.reject(id, noStream(o.stream));
      } else if (headers === undefined) this.onPubAck(id, buf, start, end);
    });
    void nc.closed.then((err) =>
      this.finish(
        err ? { reason: "connection_lost", error: errorText(err) } : { reason: "closed" },
      ),
    );
    const every = Math.max(10, Math.min(1000, o.publishTimeoutMs / 4));
    this.sweep = setInterval(() => this.pending.expire(), every).unref();
  }

  /** Connects once; rejects with a retriable ConnectionError. */
  static async open(o: JetStreamSessionOptions): Promise<JetStreamSession> {
    try {
      return new JetStreamSession(await NatsConnection.connect(o.connect), o);
    } catch (err) {
      throw new ConnectionError(errorText(err), { cause: err, retriable: true });
    }
  }

  maxPayloadFor(): number {
    return this.nc.maxPayload - (this.o.headers?.maxSize() ?? 0);
  }

  publish(subject: string, data: Buffer, origin?: MessageOrigin): Promise<PublishOutcome> {
    if (this.isEnded) {
      return Promise.reject(new PublishError("session closed", "connection_closed"));
    }
    if (this.chain.has(origin)) return Promise.resolve("duplicate");
    if (this.chain.mustAlign(origin)) {
      return this.chain.alignThen(origin, () => this.send(subject, data, origin));
    }
    return this.send(subject, data, origin);
  }

  private send(subject: string, data: Buffer, origin?: MessageOrigin): Promise<PublishOutcome> {
    return new Promise((resolve, reject) => {
      const id = this.pending.add(resolve, reject);
      const headers = origin === undefined ? undefined : this.o.headers;
      try {
        if (headers === undefined || origin === undefined) {
          this.nc.publishWith(subject, this.replyPrefix, data.length, copy(data), id);
          return;
        }
        const previous = this.chain.previousFor(origin);
        const headerSize = headers.sizeOf(origin.sequence, previous);
        this.nc.publishWith(
          subject,
          this.replyPrefix,
          headerSize + data.length,
          (out, at) => {
            at = headers.encodeInto(out, at, origin.sequence, previous, origin.timestampMs);
            return at + data.copy(out, at);
          },
          id,
          headerSize,
        );
        this.chain.sent(origin);
      } catch (err) {
        this.pending.reject(id, new PublishError(errorText(err), "connection_closed"));
      }
    });
  }

  private onPubAck(id: number, buf: Buffer, start: number, end: number): void {
    const ack = parsePubAck(buf, start, end);
    if (ack.kind !== "error") return this.pending.resolve(id, ack.kind);
    this.pending.reject(id, refusal(ack.errCode, ack.code, ack.description));
  }

  async close(): Promise<void> {
    if (this.isEnded) return;
    this.finish({ reason: "requested" });
    await this.nc.close();
  }

  private finish(end: SessionEnd): void {
    if (this.isEnded) return;
    this.isEnded = true;
    clearInterval(this.sweep);
    const text = end.error ?? end.reason;
    this.pending.rejectAll(() => new PublishError(text, "connection_closed"));
    this.endWith(end);
  }
}

function copy(data: Buffer): (out: Buffer, at: number) => number {
  return (out, at) => at + data.copy(out, at);
}
