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
import { CopyChain, noStream, refusal } from "../../src/jetstream/copy-chain";
import { CopyHeaders, messageId } from "../../src/jetstream/copy-headers";
import type { CopyHeaderOptions } from "../../src/jetstream/copy-headers";
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
  private readonly chain: CopyChain;
  private readonly headerBytes: number;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly o: OfficialJetStreamSessionOptions,
  ) {
    this.ended = new Promise((resolve) => (this.endWith = resolve));
    this.js = jetstream(nc, { timeout: o.publishTimeoutMs });
    this.chain = new CopyChain(o.chainFrom, o.align);
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
    if (this.chain.has(origin)) return Promise.resolve("duplicate");
    if (this.chain.mustAlign(origin)) {
      return this.chain.alignThen(origin, () => this.send(subject, data, origin));
    }
    return this.send(subject, data, origin);
  }

  private send(subject: string, data: Buffer, origin?: MessageOrigin): Promise<PublishOutcome> {
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
      const previous = this.chain.previousFor(origin);
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
      if (origin !== undefined) this.chain.sent(origin);
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
  if (err instanceof JetStreamApiError) return refusal(err.code, err.status, err.message, err);
  if (err instanceof TimeoutError) {
    return new PublishError("publish ack timeout", "timeout", { cause: err });
  }
  if (err instanceof Error && err.name === "JetStreamNotEnabled") return noStream(stream, err);
  return new PublishError(errorText(err), "connection_closed", { cause: err });
}
