// A STAN session over a fake NATS connection that plays the streaming server: publishes settle
// once (PubAck, error answer, 503 no-responders, timeout, lost connection), pings find a server
// that no longer answers, subscriptions deliver and ack.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { HeaderInfo } from "../../src/nats/connection";
import type { PublishError } from "../../src/errors";
import type { InboundMessage } from "../../src/replicator/ports";
import { StanSession } from "../../src/stan/session";
import type { SessionOptions } from "../../src/stan/session-options";
import type { MessageHandler, StanWire } from "../../src/stan/wire";
import { reference } from "../support/stan-reference";

interface Sent {
  subject: string;
  reply: string;
  data: Buffer;
}

/** The NATS connection, with the streaming server's answers to connect and subscribe. */
class FakeServer implements StanWire {
  readonly closed: Promise<Error | undefined>;
  private closeWith!: (err: Error | undefined) => void;
  readonly maxPayload = 1024 * 1024;
  readonly sent: Sent[] = [];
  readonly requests: string[] = [];
  private readonly subs = new Map<number, { subject: string; handler: MessageHandler }>();
  private sid = 0;
  private inbox = 0;
  /** PingInterval (s) and PingMaxOut the server announces; 0 keeps the client's own. */
  pingInterval = 0;

  constructor() {
    this.closed = new Promise((resolve) => (this.closeWith = resolve));
  }

  createInbox(): string {
    return `_INBOX.t.${++this.inbox}`;
  }
  subscribe(subject: string, handler: MessageHandler): number {
    this.subs.set(++this.sid, { subject, handler });
    return this.sid;
  }
  unsubscribe(sid: number): void {
    this.subs.delete(sid);
  }
  publish(subject: string, data: Uint8Array, reply = ""): void {
    this.sent.push({ subject, reply, data: Buffer.from(data) });
  }
  publishWith(
    subject: string,
    reply: string,
    size: number,
    fill: (out: Buffer, at: number) => number,
    replyId = -1,
  ): void {
    const out = Buffer.alloc(size);
    fill(out, 0);
    this.publish(subject, out, replyId >= 0 ? `${reply}${replyId}` : reply);
  }
  async request(subject: string): Promise<Buffer> {
    this.requests.push(subject);
    if (subject.startsWith("_STAN.discover.")) {
      return Buffer.from(
        reference("ConnectResponse", {
          PubPrefix: "_STAN.pub.x",
          SubRequests: "_STAN.sub.x",
          CloseRequests: "_STAN.close.x",
          PingRequests: "_STAN.ping.x",
          PingInterval: this.pingInterval,
          Protocol: 1,
        }),
      );
    }
    if (subject === "_STAN.sub.x") {
      return Buffer.from(reference("SubscriptionResponse", { AckInbox: "_STAN.ack.x" }));
    }
    return Buffer.alloc(0); // close
  }
  async close(): Promise<void> {
    this.closeWith(undefined);
  }

  /** The connection breaks. */
  lose(): void {
    this.closeWith(new Error("connection reset"));
  }

  /** A message from the server on `subject` (wildcard subscriptions match its last token). */
  deliver(subject: string, data: Uint8Array, headers?: HeaderInfo): void {
    for (const { subject: pattern, handler } of this.subs.values()) {
      const matches =
        pattern === subject || (pattern.endsWith(".*") && subject.startsWith(pattern.slice(0, -1)));
      const id = /\.(\d+)$/.exec(subject);
      if (matches)
        handler(Buffer.from(data), 0, data.length, undefined, headers, id ? Number(id[1]) : -1);
    }
  }

  /** The publishes of application messages (not pings or acks), in order. */
  get publishes(): Sent[] {
    return this.sent.filter((s) => s.subject.startsWith("_STAN.pub.x."));
  }
}

const options = (overrides: Partial<SessionOptions> = {}): SessionOptions => ({
  clusterId: "dc2",
  clientId: "t_0",
  url: "nats://fake:4222",
  connectTimeoutMs: 1000,
  publishTimeoutMs: 5000,
  pingIntervalMs: 60_000,
  pingMaxOut: 3,
  ...overrides,
});

/** The session's timers are unref'd (they never keep a process up); the test keeps the loop up. */
let keepAlive: NodeJS.Timeout | undefined;
test.beforeEach(() => {
  keepAlive = setInterval(() => undefined, 1000);
});
test.afterEach(() => clearInterval(keepAlive));

async function open(overrides: Partial<SessionOptions> = {}, server = new FakeServer()) {
  const session = await StanSession.open(options(overrides), async () => server);
  return { session, server };
}

const pubAck = (guid: string, error = "") =>
  reference("PubAck", { Guid: guid, ...(error ? { Error: error } : {}) });

async function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    (v) => `resolved ${String(v)}`,
    (e: PublishError) => `rejected ${e.reason}: ${e.message}`,
  );
}

test("stan session - each publish has its own reply subject; its PubAck settles it as stored", async () => {
  const { session, server } = await open();
  const a = session.publish("orders", Buffer.from("a"));
  const b = session.publish("orders", Buffer.from("b"));
  const [pa, pb] = server.publishes;
  assert.ok(pa && pb);
  assert.notEqual(pa.reply, pb.reply);
  assert.equal(pa.subject, "_STAN.pub.x.orders");
  server.deliver(pb.reply, pubAck("2"));
  server.deliver(pa.reply, pubAck("1"));
  assert.equal(await outcome(a), "resolved stored");
  assert.equal(await outcome(b), "resolved stored");
  await session.close();
});

test("stan session - an error PubAck rejects its publish with the server's text", async () => {
  const { session, server } = await open();
  const a = session.publish("orders", Buffer.from("a"));
  server.deliver(server.publishes[0]!.reply, pubAck("1", "stan: invalid publish request"));
  assert.equal(await outcome(a), "rejected error: stan: invalid publish request");
  await session.close();
});

test("stan session - a 503 on a publish's reply subject fails that publish at once, the others stay pending", async () => {
  const { session, server } = await open();
  const first = session.publish("orders", Buffer.from("a"));
  const second = session.publish("orders", Buffer.from("b"));
  let secondSettled = false;
  void second.finally(() => (secondSettled = true)).catch(() => undefined);
  const reply = server.publishes[0]!.reply;
  server.deliver(reply, Buffer.alloc(0), { subject: reply, status: 503 });
  assert.match(await outcome(first), /^rejected no_responders: no responders/);
  await new Promise((r) => setImmediate(r));
  assert.equal(secondSettled, false);
  server.deliver(server.publishes[1]!.reply, pubAck("2"));
  assert.equal(await outcome(second), "resolved stored");
  await session.close();
});

test("stan session - a publish nobody answers fails by the publish timeout", async () => {
  const { session } = await open({ publishTimeoutMs: 40 });
  const started = Date.now();
  assert.equal(
    await outcome(session.publish("orders", Buffer.from("a"))),
    "rejected timeout: publish ack timeout",
  );
  assert.ok(Date.now() - started < 1000);
  await session.close();
});

test("stan session - a lost connection fails every pending publish and ends the session", async () => {
  const { session, server } = await open();
  const pending = [session.publish("o", Buffer.from("a")), session.publish("o", Buffer.from("b"))];
  server.lose();
  const end = await session.ended;
  assert.deepEqual(end, { reason: "connection_lost", error: "connection reset" });
  for (const p of pending) assert.match(await outcome(p), /^rejected connection_closed/);
  assert.match(
    await outcome(session.publish("o", Buffer.from("c"))),
    /^rejected connection_closed/,
  );
});

test("stan session - unanswered pings end it; a 503 to a ping does not count as an answer", async () => {
  const { session, server } = await open({ pingIntervalMs: 20, pingMaxOut: 2 });
  const pings = () => server.sent.filter((s) => s.subject === "_STAN.ping.x");
  // The server has no leader: every ping is answered with a 503.
  const timer = setInterval(() => {
    for (const p of pings())
      server.deliver(p.reply, Buffer.alloc(0), { subject: p.reply, status: 503 });
  }, 5);
  try {
    const end = await session.ended;
    assert.equal(end.reason, "connection_lost");
    assert.match(end.error ?? "", /no answer to pings/);
  } finally {
    clearInterval(timer);
  }
});

test("stan session - messages arriving before the subscription is confirmed are delivered after it; acks go to the ack inbox", async () => {
  const server = new FakeServer();
  const realRequest = server.request.bind(server);
  let inbox = "";
  server.request = async (subject: string) => {
    if (subject === "_STAN.sub.x") {
      inbox = [...server["subs"].values()]
        .map((s) => s.subject)
        .filter((s) => s.startsWith("_INBOX"))
        .at(-1)!;
      server.deliver(
        inbox,
        reference("MsgProto", { Sequence: 7, Subject: "in", Data: Buffer.from("early") }),
      );
    }
    return realRequest(subject);
  };
  const { session } = await open({}, server);
  const got: InboundMessage[] = [];
  await session.subscribe(
    {
      subject: "in",
      durableName: "d",
      maxInFlight: 8,
      ackWaitMs: 30_000,
      start: { kind: "first" },
    },
    (m) => got.push(m),
  );
  assert.deepEqual(
    got.map((m) => [m.sequence, m.data.toString()]),
    [[7, "early"]],
  );
  server.deliver(
    inbox,
    reference("MsgProto", { Sequence: 8, Subject: "in", Data: Buffer.from("late") }),
  );
  assert.equal(got.length, 2);
  assert.equal(got[0]!.ack(), true);
  assert.equal(server.sent.at(-1)?.subject, "_STAN.ack.x");
  await session.close();
  assert.ok(server.requests.includes("_STAN.close.x"), "close sends a CloseRequest");
  assert.equal(got[1]!.ack(), false, "no ack after close");
});
