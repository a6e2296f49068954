/**
 * One STAN session: a NATS connection plus the streaming protocol on top of it.
 *
 * A session lives from `openSession()` until `ended` resolves; it is never revived. The
 * worker's reconnect loop makes a new one instead, so there is exactly one place that
 * reconnects (src/replicator/worker.ts). For that reason the NATS client's own reconnect is
 * switched off: a transparent reconnect can lose what sat in the socket buffer while it
 * flushes later publishes and acks, which would reorder an ordered topic.
 *
 * This is the only folder that imports node-nats-streaming. The traps of its 0.3.2 release
 * that this file designs around are listed next to the code that handles them.
 */
import * as stan from "node-nats-streaming";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { ConnectionError, PublishError, errorText } from "../errors";
import type { PublishFailureReason } from "../errors";

export interface SessionOptions {
  clusterId: string;
  clientId: string;
  /** The server to try. The NATS client's own server pool is not used: with reconnect off it
   * also tries its default URL and gives up, so the caller rotates through the list. */
  url: string;
  tls?: TlsConnectionOptions;
  user?: string;
  pass?: string;
  token?: string;
  /** NKey authentication: the public key (or a user JWT) and the signer of the server's nonce. */
  nkey?: string;
  userJwt?: string;
  signNonce?: (nonce: Buffer) => Buffer;
  connectTimeoutMs: number;
  /** How long the target has to acknowledge a publish. */
  publishTimeoutMs: number;
  /** Hard limit of the client library; our own window must stay well below it. */
  maxPubAcksInflight: number;
  /** STAN protocol pings: the session is declared lost after interval × maxOut without answer. */
  pingIntervalMs: number;
  pingMaxOut: number;
}

/** Why a session ended. `requested` is our own close(). */
export interface SessionEnd {
  reason: "requested" | "connection_lost" | "closed" | "error";
  error?: string;
}

export interface InboundMessage {
  sequence: number;
  /** Raw bytes, exactly as published on the source. */
  data: Buffer;
  /** Source publish time, milliseconds since the epoch. */
  timestampMs: number;
  redelivered: boolean;
  /** Sends the ack; false when it could not be sent (the server will redeliver). */
  ack(): boolean;
}

export type StartSpec =
  | { kind: "first" }
  | { kind: "new" }
  | { kind: "last" }
  | { kind: "sequence"; sequence: number }
  | { kind: "time"; time: Date }
  | { kind: "delta"; ms: number };

export interface SubscribeOptions {
  subject: string;
  durableName: string;
  queueGroup?: string;
  maxInFlight: number;
  ackWaitMs: number;
  start: StartSpec;
}

/**
 * Bytes the STAN envelope adds to a payload besides the client id and the subject (guid,
 * connection id, protobuf tags): 56 measured against v0.25.6, plus a margin.
 */
const ENVELOPE_FIXED_BYTES = 64;

export class StanSession {
  /** Resolves exactly once, when the session is over for any reason. */
  readonly ended: Promise<SessionEnd>;
  private endWith!: (end: SessionEnd) => void;
  private isEnded = false;
  /** Set as soon as the transport is known to be gone, before the library settles callbacks. */
  private transportGone = false;
  private readonly inflight = new Set<(reason: PublishFailureReason, text: string) => void>();

  private constructor(
    private readonly conn: stan.Stan,
    readonly options: SessionOptions,
  ) {
    this.ended = new Promise((resolve) => (this.endWith = resolve));
  }

  /** Connects once. Rejects with a retriable ConnectionError; the caller owns retrying. */
  static open(options: SessionOptions): Promise<StanSession> {
    return new Promise((resolve, reject) => {
      let conn: stan.Stan;
      try {
        conn = stan.connect(options.clusterId, options.clientId, {
          url: options.url,
          reconnect: false,
          waitOnFirstConnect: false,
          connectTimeout: options.connectTimeoutMs,
          ackTimeout: options.publishTimeoutMs,
          maxPubAcksInflight: options.maxPubAcksInflight,
          stanPingInterval: options.pingIntervalMs,
          stanMaxPingOut: options.pingMaxOut,
          ...(options.tls ? { tls: options.tls } : {}),
          ...(options.user !== undefined ? { user: options.user, pass: options.pass } : {}),
          ...(options.token !== undefined ? { token: options.token } : {}),
          ...(options.nkey !== undefined ? { nkey: options.nkey } : {}),
          ...(options.userJwt !== undefined ? { userJWT: options.userJwt } : {}),
          ...(options.signNonce !== undefined ? { nonceSigner: options.signNonce } : {}),
        } as stan.StanOptions);
      } catch (err) {
        reject(new ConnectionError(errorText(err), { cause: err, retriable: false }));
        return;
      }
      const session = new StanSession(conn, options);
      let settled = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        session.finish({ reason: "error", error: errorText(err) });
        safeClose(conn);
        reject(new ConnectionError(describeConnectError(err), { cause: err, retriable: true }));
      };
      // The library gives up on a dead server without any event at all when the NATS
      // connection never comes up; a timer of our own bounds every attempt.
      const timer = setTimeout(
        () => fail(new Error("connect timed out")),
        options.connectTimeoutMs + 1000,
      );
      conn.on("error", (err: unknown) => {
        if (!settled) fail(err);
        else session.finish({ reason: "error", error: errorText(err) });
      });
      conn.on("close", () => {
        if (!settled) fail(new Error("connection closed while connecting"));
        session.transportGone = true;
        session.finish({ reason: "closed" });
      });
      conn.on("disconnect", () => {
        session.transportGone = true;
      });
      conn.on("connection_lost", (err: unknown) => {
        session.transportGone = true;
        session.finish({ reason: "connection_lost", error: errorText(err) });
      });
      conn.on("connect", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(session);
      });
    });
  }

  /**
   * Largest payload the server accepts on `subject`, from its INFO. A larger one is not
   * refused with an error: the server drops the connection and the ack never comes.
   */
  maxPayloadFor(subject: string): number {
    const info = (this.conn as unknown as { nc?: { info?: { max_payload?: number } } }).nc?.info;
    const max = info?.max_payload ?? 1024 * 1024;
    return max - ENVELOPE_FIXED_BYTES - this.options.clientId.length - subject.length;
  }

  get closed(): boolean {
    return this.isEnded;
  }

  /**
   * Publishes and settles exactly once: resolved on the server's PubAck, rejected with a
   * PublishError otherwise. The library may call its callback twice ("max in flight
   * reached", then the real ack) and, when the NATS connection closes by itself, calls it
   * with no error for every message in flight: a false success we turn into a failure.
   */
  publish(subject: string, data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.isEnded || this.transportGone) {
        reject(new PublishError("session closed", "connection_closed"));
        return;
      }
      let settled = false;
      const settle = (reason: PublishFailureReason | undefined, text = ""): void => {
        if (settled) return;
        settled = true;
        this.inflight.delete(failNow);
        if (reason === undefined) resolve();
        else reject(new PublishError(text, reason));
      };
      const failNow = (reason: PublishFailureReason, text: string): void => settle(reason, text);
      this.inflight.add(failNow);
      try {
        // A plain Uint8Array view: given a Buffer, the library copies the payload twice.
        const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        this.conn.publish(subject, bytes, (err: unknown) => {
          if (err === undefined || err === null || err === "") {
            if (this.transportGone || this.isEnded) settle("connection_closed", "connection lost");
            else settle(undefined);
          } else {
            // Pub-ack errors from the server arrive as plain strings, ours as Errors.
            settle(classifyPublishError(err), errorText(err));
          }
        });
      } catch (err) {
        settle("error", errorText(err));
      }
    });
  }

  /**
   * Subscribes in manual-ack mode. Messages that arrive before the server confirmed the
   * subscription are held back until it has (acking them earlier throws inside the library).
   */
  subscribe(options: SubscribeOptions, onMessage: (msg: InboundMessage) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const opts = this.conn
        .subscriptionOptions()
        .setManualAckMode(true)
        .setMaxInFlight(options.maxInFlight)
        .setAckWait(options.ackWaitMs)
        .setDurableName(options.durableName);
      applyStart(opts, options.start);
      const sub =
        options.queueGroup !== undefined
          ? this.conn.subscribe(options.subject, options.queueGroup, opts)
          : this.conn.subscribe(options.subject, opts);
      let ready = false;
      const early: stan.Message[] = [];
      const deliver = (m: stan.Message): void => onMessage(toInbound(m, () => this.isEnded));
      sub.on("message", (m: stan.Message) => {
        if (ready) deliver(m);
        else early.push(m);
      });
      sub.on("ready", () => {
        ready = true;
        resolve();
        for (const m of early.splice(0)) deliver(m);
      });
      const failed = (err: unknown): void => {
        if (ready) this.finish({ reason: "error", error: `subscription: ${errorText(err)}` });
        else
          reject(
            new ConnectionError(`subscribe failed: ${errorText(err)}`, {
              cause: err,
              retriable: true,
            }),
          );
      };
      sub.on("error", failed);
      sub.on("timeout", failed);
    });
  }

  /**
   * Closes the connection without unsubscribing, so durables keep their position. Every
   * publish still in flight fails. Resolves when the server answered or after a bound.
   */
  async close(): Promise<void> {
    if (this.isEnded) return;
    this.finish({ reason: "requested" });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.options.connectTimeoutMs);
      this.conn.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      safeClose(this.conn);
    });
  }

  private finish(end: SessionEnd): void {
    if (this.isEnded) return;
    this.isEnded = true;
    for (const fail of [...this.inflight]) fail("connection_closed", end.error ?? end.reason);
    this.endWith(end);
  }
}

function toInbound(m: stan.Message, sessionEnded: () => boolean): InboundMessage {
  return {
    sequence: m.getSequence(),
    data: rawBytes(m),
    timestampMs: Math.floor(m.getTimestampRaw() / 1e6),
    redelivered: m.isRedelivered(),
    ack: () => {
      // After the session ended the library would publish on a closed connection and throw;
      // the server redelivers unacknowledged messages anyway.
      if (sessionEnded()) return false;
      try {
        m.ack();
        return true;
      } catch {
        return false; // connection went away between the check and the ack
      }
    },
  };
}

/**
 * The payload as a Buffer view of the decoded protobuf bytes, without the copy getRawData()
 * makes. Byte-exact either way; this is the per-message hot path.
 */
function rawBytes(m: stan.Message): Buffer {
  const proto = (m as unknown as { msg?: { getData?: () => unknown } }).msg;
  const raw = proto?.getData?.();
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  return m.getRawData();
}

function applyStart(opts: stan.SubscriptionOptions, start: StartSpec): void {
  switch (start.kind) {
    case "first":
      opts.setDeliverAllAvailable();
      break;
    case "new":
      opts.setStartAt(stan.StartPosition.NEW_ONLY);
      break;
    case "last":
      opts.setStartWithLastReceived();
      break;
    case "sequence":
      opts.setStartAtSequence(start.sequence);
      break;
    case "time":
      opts.setStartTime(start.time);
      break;
    case "delta":
      opts.setStartAtTimeDelta(start.ms);
      break;
  }
}

function classifyPublishError(err: unknown): PublishFailureReason {
  const text = errorText(err);
  if (text.includes("ack timeout")) return "timeout";
  if (text.includes("Connection closed") || text.includes("connection lost"))
    return "connection_closed";
  return "error";
}

/** What to check for the security failures an operator meets, appended to the library's text. */
const CONNECT_HINTS: ReadonlyArray<[RegExp, string]> = [
  [
    /unable to verify|self[- ]signed|unable to get (local )?issuer|certificate has expired/i,
    "TLS: the server's certificate is not trusted (check tls.ca)",
  ],
  [
    /Hostname\/IP does not match/i,
    "TLS: the server's certificate is not valid for this host (check the URL or tls.server_name)",
  ],
  [
    /requires a client certificate|certificate required|bad certificate/i,
    "TLS: the server wants a client certificate it trusts (check tls.cert and tls.key)",
  ],
  [
    /does not support a secure connection/i,
    "TLS is configured but the server has none (use disable_source_tls / disable_target_tls)",
  ],
  [
    /requires a secure connection/i,
    "the server requires TLS (add a tls block or use a tls:// URL)",
  ],
  [
    /Authorization Violation|Authentication Timeout|requires an Nkey signature/i,
    "check the credentials (source_auth / target_auth or the URL)",
  ],
];

function describeConnectError(err: unknown): string {
  const text = errorText(err);
  if (text.includes("clientID already registered")) {
    return "client id still registered on the server (an earlier session has not been released yet)";
  }
  const hint = CONNECT_HINTS.find(([pattern]) => pattern.test(text))?.[1];
  return hint === undefined ? text : `${text} (${hint})`;
}

function safeClose(conn: stan.Stan): void {
  try {
    conn.close();
  } catch {
    /* already closed */
  }
}
