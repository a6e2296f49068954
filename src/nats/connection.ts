/**
 * A NATS core protocol connection, just what the streaming protocol needs: CONNECT with
 * credentials (user/password, token, NKey or JWT signature of the server's nonce), TLS upgrade
 * after the server's INFO, SUB, PUB with a reply subject, MSG delivery, and the server's `503`
 * no-responders answer (CONNECT asks for headers and no_responders, so a message with a reply
 * subject that nobody receives is answered at once instead of vanishing). Our own PINGs find a
 * half-open connection. No reconnect (see src/stan/session.ts), no JetStream.
 *
 * Why our own: on the per-message path the general-purpose client spent more CPU than all of
 * the replication logic (its parser, a `PUB` command string built and UTF-8 encoded for every
 * publish and ack, a deferred promise per socket write). Here a publish copies its header and
 * payload into one outbound buffer that is written once per event-loop turn, and a delivered
 * payload is a view of the socket's bytes.
 *
 * Protocol reference: https://docs.nats.io/reference/reference-protocols/nats-protocol
 */
import { randomBytes } from "node:crypto";
import type * as net from "node:net";
import * as tls from "node:tls";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { credentials, dial, hostPort, parseInfo, readLine, upgrade } from "./handshake";
import type { ServerInfo, ConnectAuth } from "./handshake";
import { Outbound } from "./outbound";
import { MessageParser, errText } from "./parser";
import type { HeaderInfo } from "./parser";

export type { ConnectAuth, HeaderInfo };

export interface ConnectOptions extends ConnectAuth {
  /** nats://host:port or tls://host:port */
  url: string;
  tls?: TlsConnectionOptions;
  /** Connection name shown by the server's monitoring. */
  name: string;
  timeoutMs: number;
  /** Our PING every this often; the connection is lost after `maxPingsOut` without PONG. */
  pingIntervalMs?: number;
  maxPingsOut?: number;
}

/**
 * A delivered message: its payload is `buf[start, end)` (offsets, no view object per message;
 * `buf` is not reused, so a view of it may be kept). `headers` is set for a message with
 * headers, such as a `503` no-responders status. `subjectId` is the number ending the subject
 * (`<inbox>.<id>`), or -1.
 */
export type MessageHandler = (
  buf: Buffer,
  start: number,
  end: number,
  reply: string | undefined,
  headers: HeaderInfo | undefined,
  subjectId: number,
) => void;

/** The status of the server's answer to a message nobody receives. */
export const NO_RESPONDERS = 503;

/** A request reached no subscriber: the server answered `503` at once. */
export class NoRespondersError extends Error {
  override readonly name = "NoRespondersError";
  constructor(readonly subject: string) {
    super(`no responders on ${subject}`);
  }
}

const PING = Buffer.from("PING\r\n");
const PONG = Buffer.from("PONG\r\n");
/**
 * Defaults of our own pings: a half-open connection is found within 9-12 s, and a process short
 * of CPU for a few seconds does not drop a healthy connection.
 */
const PING_INTERVAL_MS = 3_000;
const MAX_PINGS_OUT = 3;
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

export class NatsConnection {
  /** Resolves once, when the connection is gone: with the error that ended it, if any. */
  readonly closed: Promise<Error | undefined>;
  private closeWith!: (err: Error | undefined) => void;
  private isClosed = false;
  /** close() was called: the socket closing is not an error then. */
  private closing = false;
  private readonly handlers = new Map<number, MessageHandler>();
  private nextSid = 1;
  private readonly out: Outbound;
  private readonly inboxPrefix = `_INBOX.${randomBytes(11).toString("hex")}.`;
  private pingsOut = 0;
  private inboxCount = 0;

  private constructor(
    private socket: net.Socket,
    readonly info: ServerInfo,
  ) {
    this.closed = new Promise((resolve) => (this.closeWith = resolve));
    this.out = new Outbound((bytes) => {
      if (!this.isClosed) this.socket.write(bytes);
    });
  }

  get maxPayload(): number {
    return this.info.max_payload ?? DEFAULT_MAX_PAYLOAD;
  }

  /** A subject no other connection uses, for replies. */
  createInbox(): string {
    return `${this.inboxPrefix}${++this.inboxCount}`;
  }

  /** Connects, upgrades to TLS when either side asks, authenticates; rejects on any failure. */
  static async connect(o: ConnectOptions): Promise<NatsConnection> {
    const { host, port } = hostPort(o.url);
    let socket: net.Socket = await dial(host, port, o.timeoutMs);
    try {
      const { line, rest } = await readLine(socket, o.timeoutMs);
      const info = parseInfo(line);
      const serverHasTls = info.tls_required === true || info.tls_available === true;
      if (o.tls !== undefined && !serverHasTls) {
        throw new Error("the server does not support a secure connection");
      }
      if (o.tls !== undefined || info.tls_required === true) {
        socket = await upgrade(socket, host, o.tls ?? {}, o.timeoutMs);
      } else if (rest.length > 0) socket.unshift(rest);
      const wire = new NatsConnection(socket, info);
      await wire.handshake(o);
      return wire;
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  /** CONNECT + PING; the server answers PONG, or -ERR when it refuses us. */
  private async handshake(o: ConnectOptions): Promise<void> {
    const connect = {
      verbose: false,
      pedantic: false,
      tls_required: this.socket instanceof tls.TLSSocket,
      name: o.name,
      lang: "stream-replicator",
      version: "1",
      protocol: 1,
      echo: true,
      headers: true,
      no_responders: true,
      ...credentials(o, this.info.nonce),
    };
    const socket = this.socket;
    socket.write(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`);
    const { line, rest } = await readLine(socket, o.timeoutMs);
    if (line.startsWith("-ERR")) throw new Error(errText(line));
    if (line !== "PONG" && line !== "+OK") throw new Error(`unexpected answer to CONNECT: ${line}`);
    this.start(rest);
    this.startPings(o.pingIntervalMs ?? PING_INTERVAL_MS, o.maxPingsOut ?? MAX_PINGS_OUT);
  }

  /** A server that stops answering (freeze, blackhole, half-open socket) ends the connection. */
  private startPings(intervalMs: number, maxOut: number): void {
    const timer = setInterval(() => {
      if (this.pingsOut >= maxOut) {
        this.destroy(new Error(`no answer to ${maxOut} pings from the server (stale connection)`));
        return;
      }
      this.pingsOut++;
      this.write(PING);
    }, intervalMs);
    timer.unref();
    void this.closed.then(() => clearInterval(timer));
  }

  /** From here on the parser owns the socket. */
  private start(rest: Buffer): void {
    const parser = new MessageParser({
      msg: (sid, reply, buf, start, end, headers, subjectId) =>
        this.handlers.get(sid)?.(buf, start, end, reply, headers, subjectId),
      ping: () => this.write(PONG),
      pong: () => (this.pingsOut = 0),
      info: () => undefined, // cluster updates: we never reconnect, so nothing to do
      err: (text) => this.destroy(new Error(text)),
      protocolError: (text) => this.destroy(new Error(`NATS protocol error: ${text}`)),
    });
    const socket = this.socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => parser.push(chunk));
    let socketError: Error | undefined;
    socket.on("error", (err) => (socketError = err));
    socket.on("close", () =>
      this.destroy(this.closing ? undefined : (socketError ?? new Error("connection closed"))),
    );
    if (rest.length > 0) parser.push(rest);
    socket.resume(); // readLine() paused it between the handshake steps
  }

  subscribe(subject: string, handler: MessageHandler): number {
    const sid = this.nextSid++;
    this.handlers.set(sid, handler);
    this.write(Buffer.from(`SUB ${subject} ${sid}\r\n`));
    return sid;
  }

  unsubscribe(sid: number): void {
    if (!this.handlers.delete(sid)) return;
    this.write(Buffer.from(`UNSUB ${sid}\r\n`));
  }

  /** Queues a message; throws when the connection is closed or the payload too large. */
  publish(subject: string, data: Uint8Array, reply = ""): void {
    this.publishWith(subject, reply, data.length, (out, at) => {
      out.set(data, at);
      return at + data.length;
    });
  }

  /**
   * Queues a message of `size` bytes that `fill` writes straight into the outbound buffer
   * (src/nats/outbound.ts has the details: per-message reply subjects, HPUB).
   */
  publishWith(
    subject: string,
    reply: string,
    size: number,
    fill: (out: Buffer, at: number) => number,
    replyId = -1,
    headerSize = -1,
  ): void {
    if (this.isClosed) throw new Error("connection closed");
    if (size > this.maxPayload) throw new Error("maximum payload exceeded");
    this.out.publish(subject, reply, size, fill, replyId, headerSize);
  }

  /** One request, one reply: rejects after `timeoutMs`. */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const inbox = this.createInbox();
      const timer = setTimeout(() => {
        this.unsubscribe(sid);
        reject(new Error(`no answer from ${subject} within ${timeoutMs} ms`));
      }, timeoutMs);
      const sid = this.subscribe(inbox, (buf, start, end, _reply, headers) => {
        clearTimeout(timer);
        this.unsubscribe(sid);
        if (headers?.status === NO_RESPONDERS) reject(new NoRespondersError(subject));
        else resolve(buf.subarray(start, end));
      });
      try {
        this.publish(subject, data, inbox);
      } catch (err) {
        clearTimeout(timer);
        this.unsubscribe(sid);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Writes what is queued, then closes; resolves when the socket is gone (bounded). */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.isClosed) return;
    this.closing = true;
    this.out.flush();
    this.socket.end();
    const timer = setTimeout(() => this.destroy(undefined), timeoutMs);
    await this.closed;
    clearTimeout(timer);
  }

  private destroy(err: Error | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.handlers.clear();
    this.socket.destroy();
    this.closeWith(err);
  }

  private write(bytes: Buffer): void {
    if (!this.isClosed) this.out.write(bytes);
  }
}
