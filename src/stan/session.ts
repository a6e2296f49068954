/**
 * One STAN session: a NATS connection plus the streaming protocol on top of it.
 *
 * A session lives from `open()` until `ended` resolves; it is never revived. The worker's
 * reconnect loop makes a new one instead, so there is exactly one place that reconnects
 * (src/replicator/worker.ts). For that reason the NATS connection never reconnects by itself:
 * a transparent reconnect can lose what sat in the socket buffer while it flushes later
 * publishes and acks, which would reorder an ordered topic.
 *
 * The streaming protocol is spoken here directly, over a NATS connection and with the protobuf
 * envelopes of ./protocol.ts (why not a client library: README, "Libraries and why"). What the
 * protocol asks of a client:
 * - connect: a request to `_STAN.discover.<cluster id>` with a heartbeat inbox the server
 *   pings (we answer), then our own pings to the server's ping subject (protocol 1);
 * - publish: a PubMsg to `<pubPrefix>.<subject>` with a guid; the server answers a PubAck on
 *   the publish's reply subject, `<ack prefix><guid>`, all under one wildcard subscription.
 *   The reply subject per publish tells which publish the NATS server's `503` no-responders
 *   answer is about: a cluster without a leader for the channel does not store it, and that
 *   must fail the publish at once rather than after the publish timeout (the ordering argument
 *   in src/replicator/pipeline.ts). Acks not answered within the publish timeout fail, found
 *   by one sweep timer for the whole session rather than one timer per message;
 * - subscribe: a SubscriptionRequest naming our inbox; messages arrive there as MsgProto and
 *   are acknowledged with an Ack on the subscription's ack inbox;
 * - close: a CloseRequest. Subscriptions are not unsubscribed, so durables keep their place.
 */
import { randomBytes } from "node:crypto";
import { ClientIdInUseError, ConnectionError, PublishError, errorText } from "../errors";
import { PubMsgEncoder, encodeCloseRequest, encodeConnectRequest, encodePing } from "./protocol";
import { decodeConnectResponse, decodeErrorResponse, decodePubAck } from "./protocol-decode";
import type { ConnectResponse } from "./protocol-decode";
import { NO_RESPONDERS } from "../nats/connection";
import { describeConnectError } from "./connect-errors";
import type {
  InboundMessage,
  PublishOutcome,
  SessionEnd,
  SourceSession,
  SubscribeOptions,
  TargetSession,
} from "../replicator/ports";
import type { SessionOptions } from "./session-options";
import { PendingReplies } from "../nats/pending-replies";
import { subscribeDurable } from "./subscription";
import { dialNats } from "./wire";
import type { DialWire, StanWire } from "./wire";

/**
 * Bytes the STAN envelope adds to a payload besides the client id and the subject (guid,
 * connection id, protobuf tags): under 56 with our short guids, plus a margin.
 */
const ENVELOPE_FIXED_BYTES = 64;
const EMPTY = Buffer.alloc(0);
const NO_LEADER = "no responders: the target cluster has no leader serving the channel (election?)";
/** The longest ping interval a server may ask for. */
const MAX_PING_INTERVAL_MS = 60 * 60 * 1000;

export class StanSession implements SourceSession, TargetSession {
  /** Resolves exactly once, when the session is over for any reason. */
  readonly ended: Promise<SessionEnd>;
  private endWith!: (end: SessionEnd) => void;
  private isEnded = false;
  /** Set as soon as the socket is known to be gone. */
  private transportGone = false;
  private readonly pending: PendingReplies<PublishOutcome>;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly connId = randomBytes(16);
  /** Reply subject of a publish: this prefix and its guid. */
  private readonly ackPrefix = `_STAN.acks.${randomBytes(11).toString("hex")}.`;
  private readonly pubMsgs: PubMsgEncoder;
  /** `<pubPrefix>.<subject>` per target subject, built once. */
  private readonly pubSubjects = new Map<string, string>();
  private proto!: ConnectResponse;

  private constructor(
    private readonly nc: StanWire,
    readonly options: SessionOptions,
  ) {
    this.ended = new Promise((resolve) => (this.endWith = resolve));
    this.pubMsgs = new PubMsgEncoder(options.clientId, this.connId);
    this.pending = new PendingReplies<PublishOutcome>(
      options.publishTimeoutMs,
      () => new PublishError("publish ack timeout", "timeout"),
    );
  }

  /** Connects once. Rejects with a retriable ConnectionError; the caller owns retrying. */
  static async open(options: SessionOptions, dial: DialWire = dialNats): Promise<StanSession> {
    const attempt = { tls: options.tls !== undefined };
    let nc: StanWire;
    try {
      nc = await dial({
        ...options,
        name: options.clientId,
        timeoutMs: options.connectTimeoutMs,
        pingIntervalMs: options.natsPingIntervalMs,
      });
    } catch (err) {
      throw new ConnectionError(describeConnectError(err, attempt), {
        cause: err,
        retriable: true,
      });
    }
    const session = new StanSession(nc, options);
    try {
      await session.handshake();
    } catch (err) {
      session.finish({ reason: "error", error: errorText(err) });
      await nc.close();
      const InUse = /clientID already registered/.test(errorText(err))
        ? ClientIdInUseError
        : ConnectionError;
      throw new InUse(describeConnectError(err, attempt), { cause: err, retriable: true });
    }
    return session;
  }

  /** The streaming-level connect, once the NATS connection is up. */
  private async handshake(): Promise<void> {
    const { nc, options } = this;
    void nc.closed.then((err) => {
      this.transportGone = true;
      this.finish(
        err ? { reason: "connection_lost", error: errorText(err) } : { reason: "closed" },
      );
    });
    const heartbeatInbox = nc.createInbox();
    nc.subscribe(heartbeatInbox, (_buf, _start, _end, reply) => {
      if (reply !== undefined) this.send(reply, EMPTY);
    });
    nc.subscribe(`${this.ackPrefix}*`, (buf, start, end, _reply, headers, guid) => {
      if (headers === undefined) this.onPubAck(buf, start, end);
      else if (headers.status === NO_RESPONDERS) {
        this.pending.reject(guid, new PublishError(NO_LEADER, "no_responders"));
      }
    });
    const reply = await nc.request(
      `_STAN.discover.${options.clusterId}`,
      encodeConnectRequest({
        clientId: options.clientId,
        heartbeatInbox,
        connId: this.connId,
        pingIntervalSeconds: Math.max(1, Math.round(options.pingIntervalMs / 1000)),
        pingMaxOut: options.pingMaxOut,
      }),
      options.connectTimeoutMs,
    );
    this.proto = decodeConnectResponse(reply);
    if (this.proto.error !== "") throw new Error(this.proto.error);
    this.startPings();
    const sweep = Math.max(10, Math.min(1000, options.publishTimeoutMs / 4));
    this.timers.push(setInterval(() => this.pending.expire(), sweep).unref());
  }

  /**
   * Protocol-1 pings: the server answers each one; an error answer means it no longer knows
   * this client (replaced or timed out), and pingMaxOut unanswered ones mean it is gone.
   */
  private startPings(): void {
    const interval = this.proto.pingIntervalSeconds > 0 ? this.proto.pingIntervalSeconds : 0;
    // Bounded: beyond setInterval's limit (about 24.8 days) Node would fire every millisecond.
    const everyMs =
      interval > 0 ? Math.min(interval * 1000, MAX_PING_INTERVAL_MS) : this.options.pingIntervalMs;
    const maxOut = this.proto.pingMaxOut > 0 ? this.proto.pingMaxOut : this.options.pingMaxOut;
    const inbox = this.nc.createInbox();
    let unanswered = 0;
    this.nc.subscribe(inbox, (buf, start, end, _reply, headers) => {
      if (headers !== undefined) return; // no leader to answer (503): not an answer
      unanswered = 0;
      let error = "";
      try {
        error = decodeErrorResponse(buf.subarray(start, end));
      } catch {
        return; // not a PingResponse: it still counts as an answer
      }
      if (error !== "") this.lose(error);
    });
    const ping = encodePing(this.connId);
    const tick = (): void => {
      if (unanswered >= maxOut) return this.lose("no answer to pings from the streaming server");
      unanswered++;
      this.send(this.proto.pingRequests, ping, inbox);
    };
    this.timers.push(setInterval(tick, everyMs).unref());
  }

  /**
   * Largest payload the server accepts on `subject`, from its INFO. A larger one is not
   * refused with an error: the server drops the connection and the ack never comes.
   */
  maxPayloadFor(subject: string): number {
    const max = this.nc.maxPayload;
    return max - ENVELOPE_FIXED_BYTES - this.options.clientId.length - subject.length;
  }

  /**
   * Publishes and settles exactly once: resolved on the server's PubAck, rejected with a
   * PublishError on an error answer, on the publish timeout, or when the session ends.
   */
  publish(subject: string, data: Buffer): Promise<PublishOutcome> {
    return new Promise((resolve, reject) => {
      if (this.isEnded || this.transportGone) {
        reject(new PublishError("session closed", "connection_closed"));
        return;
      }
      const guid = this.pending.add(resolve, reject);
      let natsSubject = this.pubSubjects.get(subject);
      if (natsSubject === undefined) {
        natsSubject = `${this.proto.pubPrefix}.${subject}`;
        this.pubSubjects.set(subject, natsSubject);
      }
      const size = this.pubMsgs.sizeOf(guid, subject, data.length);
      const sent = this.trySend(() =>
        this.nc.publishWith(
          natsSubject,
          this.ackPrefix,
          size,
          (out, at) => this.pubMsgs.encodeInto(out, at, guid, subject, data),
          guid,
        ),
      );
      if (!sent) {
        this.pending.reject(guid, new PublishError("connection lost", "connection_closed"));
      }
    });
  }

  private onPubAck(buf: Buffer, start: number, end: number): void {
    let ack: { guid: number; error: string };
    try {
      ack = decodePubAck(buf, start, end);
    } catch {
      return; // not a PubAck; the publish it answers times out
    }
    if (ack.error === "") this.pending.resolve(ack.guid, "stored");
    else this.pending.reject(ack.guid, new PublishError(ack.error, "error"));
  }

  /** Subscribes in manual-ack mode (./subscription.ts). */
  subscribe(options: SubscribeOptions, onMessage: (msg: InboundMessage) => void): Promise<void> {
    return subscribeDurable({
      nc: this.nc,
      subRequests: this.proto.subRequests,
      clientId: this.options.clientId,
      timeoutMs: this.options.connectTimeoutMs,
      options,
      onMessage,
      send: (write) => this.trySend(write),
    });
  }

  /**
   * Closes the connection without unsubscribing, so durables keep their position. Every
   * publish still in flight fails. Resolves when the server answered or after a bound.
   */
  async close(): Promise<void> {
    if (this.isEnded) return;
    this.finish({ reason: "requested" });
    if (!this.transportGone && this.proto !== undefined) {
      await this.nc
        .request(
          this.proto.closeRequests,
          encodeCloseRequest(this.options.clientId),
          this.options.connectTimeoutMs,
        )
        .catch(() => undefined); // the server drops the client by its heartbeats anyway
    }
    await this.nc.close(this.options.connectTimeoutMs);
  }

  /** Publishes a protocol message; false when the connection can no longer take it. */
  private send(subject: string, data: Uint8Array, reply?: string): boolean {
    return this.trySend(() => this.nc.publish(subject, data, reply));
  }

  /** Runs one write to the connection; false when the session or the socket is gone. */
  private trySend(write: () => void): boolean {
    if (this.isEnded || this.transportGone) return false;
    try {
      write();
      return true;
    } catch {
      return false; // closed between the check and the write
    }
  }

  /** The server no longer serves this client: the session is over, the socket closed. */
  private lose(error: string): void {
    this.transportGone = true;
    this.finish({ reason: "connection_lost", error });
    void this.nc.close();
  }

  private finish(end: SessionEnd): void {
    if (this.isEnded) return;
    this.isEnded = true;
    for (const timer of this.timers) clearInterval(timer);
    const text = end.error ?? end.reason;
    this.pending.rejectAll(() => new PublishError(text, "connection_closed"));
    this.endWith(end);
  }
}
