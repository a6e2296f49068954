/**
 * The STAN session's NATS connection (src/stan/wire.ts) over the official client,
 * @nats-io/nats-core v3 with @nats-io/transport-node: the "B" side of the A/B that decides
 * whether the project keeps its own NATS client (README, "Libraries and why"). Same session,
 * same protocol code above it; only the NATS layer differs. No reconnect, like ours.
 */
import { createInbox } from "@nats-io/nats-core";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { DialWire, MessageHandler, StanWire } from "../../src/stan/wire";

class OfficialWire implements StanWire {
  readonly closed: Promise<Error | undefined>;
  private readonly subs = new Map<number, Subscription>();
  private nextSid = 1;

  constructor(private readonly nc: NatsConnection) {
    this.closed = nc.closed().then((err) => err ?? undefined);
  }

  get maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  createInbox(): string {
    return createInbox();
  }

  subscribe(subject: string, handler: MessageHandler): number {
    const sid = this.nextSid++;
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        const d = msg.data;
        const status = msg.headers?.code ?? 0;
        const headers = msg.headers ? { subject: msg.subject, status } : undefined;
        handler(
          Buffer.from(d.buffer, d.byteOffset, d.byteLength),
          0,
          d.byteLength,
          msg.reply,
          headers,
          trailingId(msg.subject),
        );
      },
    });
    this.subs.set(sid, sub);
    return sid;
  }

  unsubscribe(sid: number): void {
    this.subs.get(sid)?.unsubscribe();
    this.subs.delete(sid);
  }

  publish(subject: string, data: Uint8Array, reply = ""): void {
    this.nc.publish(subject, data, reply === "" ? undefined : { reply });
  }

  publishWith(
    subject: string,
    reply: string,
    size: number,
    fill: (out: Buffer, at: number) => number,
    replyId = -1,
  ): void {
    const out = Buffer.allocUnsafe(size);
    fill(out, 0);
    this.publish(subject, out, replyId >= 0 ? `${reply}${replyId}` : reply);
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Buffer> {
    const msg = await this.nc.request(subject, data, { timeout: timeoutMs });
    const d = msg.data;
    return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}

/** The number ending a subject (`<inbox>.<id>`), or -1. */
function trailingId(subject: string): number {
  const m = /\.(\d{1,15})$/.exec(subject);
  return m ? Number(m[1]) : -1;
}

export const dialOfficial: DialWire = async (o) => {
  if (o.nkey !== undefined || o.userJwt !== undefined) {
    throw new Error("the official-client A/B wire supports user/password and token only");
  }
  const nc = await connect({
    servers: o.url,
    noResponders: true,
    headers: true,
    name: o.name,
    timeout: o.timeoutMs,
    reconnect: false,
    ...(o.user !== undefined ? { user: o.user, pass: o.pass ?? "" } : {}),
    ...(o.token !== undefined ? { token: o.token } : {}),
    ...(o.tls !== undefined ? { tls: o.tls as Record<string, unknown> } : {}),
  });
  return new OfficialWire(nc);
};
