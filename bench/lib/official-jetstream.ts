/**
 * A JetStream target session that publishes through the official client: the "B" side of the
 * A/B of the JetStream publish path (README, "Libraries and why"; `--js-ab`). The product's
 * session (src/jetstream/session.ts) writes HPUB frames on the project's own NATS connection;
 * this one calls `jetstream(nc).publish(subject, data, {msgID, expect: {lastMsgID}, headers})`
 * of @nats-io/jetstream v3 on a @nats-io/transport-node connection. Same headers, same ordered
 * chain (Nats-Expected-Last-Msg-Id, copies the stream already holds confirmed without a
 * publish), same duplicate and error semantics; only the publish path differs.
 */
import { JetStreamApiError, jetstream } from "@nats-io/jetstream";
import type { JetStreamClient, JetStreamPublishOptions } from "@nats-io/jetstream";
import { TimeoutError, headers as natsHeaders } from "@nats-io/nats-core";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { ConnectionError, PublishError, errorText } from "../../src/errors";
import type { PublishFailureReason } from "../../src/errors";
import { CopyHeaders, messageId } from "../../src/jetstream/copy-headers";
import type { CopyHeaderOptions } from "../../src/jetstream/copy-headers";
import { JS_ERR } from "../../src/jetstream/pub-ack";
import type {
  MessageOrigin,
  PublishOutcome,
  SessionEnd,
  TargetSession,
} from "../../src/replicator/ports";

export interface OfficialConnect {
  url: string;
  tls?: TlsConnectionOptions;
  user?: string;
  pass?: string;
  token?: string;
  name: string;
  timeoutMs: number;
}

export interface OfficialJetStreamSessionOptions {
  connect: OfficialConnect;
  stream: string;
  publishTimeoutMs: number;
  /** Where copies come from (their headers and message ids); absent for advisories. */
  copy?: CopyHeaderOptions;
  /** Ordered, only writer: the source sequence of the stream's last copy (-1: none). */
  chainFrom?: number;
  /** Before the first copy: start an empty stream at its sequence (align_sequences). */
  align?: (firstSequence: number) => Promise<void>;
}

export class OfficialJetStreamSession implements TargetSession {
  readonly ended: Promise<SessionEnd>;
  private endWith!: (end: SessionEnd) => void;
  private isEnded = false;
  private readonly js: JetStreamClient;
  /** Rejections of publishes not settled yet, for the end of the session. */
  private readonly pending = new Set<(err: Error) => void>();
  private previous: number;
  private align?: (firstSequence: number) => Promise<void>;
  private readonly headerBytes: number;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly o: OfficialJetStreamSessionOptions,
  ) {
    this.ended = new Promise((resolve) => (this.endWith = resolve));
    this.js = jetstream(nc, { timeout: o.publishTimeoutMs });
    this.previous = o.chainFrom ?? -1;
    this.align = o.align;
    this.headerBytes = o.copy ? new CopyHeaders(o.copy).maxSize() : 0;
    void nc
      .closed()
      .then((err) =>
        this.finish(
          err ? { reason: "connection_lost", error: errorText(err) } : { reason: "closed" },
        ),
      );
  }

  /** Connects once (no reconnect, like the product's session); rejects with a ConnectionError. */
  static async open(o: OfficialJetStreamSessionOptions): Promise<OfficialJetStreamSession> {
    const c = o.connect;
    try {
      const nc = await connect({
        servers: c.url,
        name: c.name,
        timeout: c.timeoutMs,
        reconnect: false,
        noAsyncTraces: true,
        ...(c.user !== undefined ? { user: c.user, pass: c.pass ?? "" } : {}),
        ...(c.token !== undefined ? { token: c.token } : {}),
        ...(c.tls !== undefined ? { tls: { ...c.tls } } : {}),
      });
      return new OfficialJetStreamSession(nc, o);
    } catch (err) {
      throw new ConnectionError(errorText(err), { cause: err, retriable: true });
    }
  }

  maxPayloadFor(): number {
    return (this.nc.info?.max_payload ?? 1024 * 1024) - this.headerBytes;
  }

  publish(subject: string, data: Buffer, origin?: MessageOrigin): Promise<PublishOutcome> {
    if (this.isEnded) {
      return Promise.reject(new PublishError("session closed", "connection_closed"));
    }
    const chained = this.o.chainFrom !== undefined;
    if (origin !== undefined && chained && origin.sequence <= this.previous) {
      return Promise.resolve("duplicate"); // the stream has it: stored before this session
    }
    if (this.align !== undefined && origin !== undefined) {
      const align = this.align;
      this.align = undefined;
      return align(origin.sequence).then(
        () => this.send(subject, data, origin, chained),
        (err: unknown) => {
          this.align = align;
          throw new PublishError(`aligning the stream failed: ${errorText(err)}`, "error");
        },
      );
    }
    return this.send(subject, data, origin, chained);
  }

  private send(
    subject: string,
    data: Buffer,
    origin: MessageOrigin | undefined,
    chained: boolean,
  ): Promise<PublishOutcome> {
    const opts: Partial<JetStreamPublishOptions> = { timeout: this.o.publishTimeoutMs };
    const copy = this.o.copy;
    if (origin !== undefined && copy !== undefined) {
      const h = natsHeaders();
      h.set("Nats-Streaming-Channel", copy.channel);
      h.set("Nats-Streaming-Sequence", String(origin.sequence));
      h.set("Nats-Streaming-Timestamp", new Date(origin.timestampMs).toISOString());
      h.set("Nats-Streaming-Cluster", copy.sourceClusterId);
      h.set("Stream-Replicator", copy.replicator);
      opts.headers = h;
      opts.msgID = messageId(copy, origin.sequence);
      const previous = chained ? this.previous : -1;
      if (previous >= 0) opts.expect = { lastMsgID: messageId(copy, previous) };
    }
    return new Promise<PublishOutcome>((resolve, reject) => {
      const settle = (): boolean => this.pending.delete(reject);
      this.pending.add(reject);
      // The client writes the message before its first await: publishes leave in call order.
      this.js.publish(subject, data, opts).then(
        (ack) => {
          if (settle()) resolve(ack.duplicate ? "duplicate" : "stored");
        },
        (err: unknown) => {
          if (settle()) reject(publishError(err, this.o.stream));
        },
      );
      if (chained && origin !== undefined) this.previous = origin.sequence;
    });
  }

  async close(): Promise<void> {
    if (this.isEnded) return;
    this.finish({ reason: "requested" });
    await this.nc.close();
  }

  private finish(end: SessionEnd): void {
    if (this.isEnded) return;
    this.isEnded = true;
    const text = end.error ?? end.reason;
    for (const reject of this.pending) reject(new PublishError(text, "connection_closed"));
    this.pending.clear();
    this.endWith(end);
  }
}

/** The official client's failures in the product session's terms (src/jetstream/session.ts). */
function publishError(err: unknown, stream: string): PublishError {
  if (err instanceof JetStreamApiError) {
    const reason: PublishFailureReason = err.code === JS_ERR.messageTooLarge ? "rejected" : "error";
    const text =
      err.code === JS_ERR.wrongLastMsgId
        ? `the stream refused a copy that would leave a gap (${err.message}); resuming from its last copy`
        : `JetStream: ${err.message} (${err.code || err.status})`;
    return new PublishError(text, reason, { cause: err });
  }
  if (err instanceof TimeoutError) {
    return new PublishError("publish ack timeout", "timeout", { cause: err });
  }
  if (err instanceof Error && err.name === "JetStreamNotEnabled") {
    return new PublishError(
      `no responders: no JetStream stream took the message (stream ${stream} missing, not capturing the subject, or JetStream down)`,
      "no_responders",
      { cause: err },
    );
  }
  return new PublishError(errorText(err), "connection_closed", { cause: err });
}
