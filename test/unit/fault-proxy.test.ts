// The TCP fault proxy of the integration test bed (test/support/fault-proxy.ts), against a local
// echo server: bytes pass unchanged and in order, latency delays each direction without
// reordering, a freeze holds and then releases, a blackhole drops without FIN or RST, a reset
// is a RST on both ends.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, test } from "node:test";
import { startFaultProxy } from "../support/fault-proxy";
import type { FaultProxy } from "../support/fault-proxy";

const HOST = "127.0.0.1";
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Echo server; records how each of its connections ended ("end", an error code, or open). */
interface Echo {
  port: number;
  ends: string[];
  connections: number;
  close(): Promise<void>;
}

async function startEcho(): Promise<Echo> {
  const sockets = new Set<net.Socket>();
  const echo: Echo = { port: 0, ends: [], connections: 0, close: async () => undefined };
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    echo.connections++;
    sockets.add(socket);
    socket.on("data", (data) => socket.write(data));
    socket.on("end", () => {
      echo.ends.push("end");
      socket.end();
    });
    socket.on("error", (err: NodeJS.ErrnoException) => echo.ends.push(err.code ?? err.message));
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  echo.port = (server.address() as net.AddressInfo).port;
  echo.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return echo;
}

/** A client connection with everything it received and how it ended. */
interface Client {
  socket: net.Socket;
  received(): string;
  ended(): string | undefined;
  waitFor(text: string, timeoutMs?: number): Promise<number>;
}

async function connect(proxy: FaultProxy): Promise<Client> {
  const socket = net.connect({ host: HOST, port: proxy.port });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let data = "";
  let ending: string | undefined;
  socket.on("data", (chunk: Buffer) => (data += chunk.toString()));
  socket.on("end", () => (ending ??= "end"));
  socket.on("error", (err: NodeJS.ErrnoException) => (ending ??= err.code ?? err.message));
  return {
    socket,
    received: () => data,
    ended: () => ending,
    async waitFor(text, timeoutMs = 5000) {
      const started = Date.now();
      while (!data.includes(text)) {
        if (Date.now() - started > timeoutMs) {
          assert.fail(`never received ${JSON.stringify(text)}; got ${JSON.stringify(data)}`);
        }
        await delay(2);
      }
      return Date.now() - started;
    },
  };
}

let echo: Echo;
const proxies: FaultProxy[] = [];
const clients: net.Socket[] = [];

async function proxy(): Promise<FaultProxy> {
  const p = await startFaultProxy({ port: echo.port });
  proxies.push(p);
  return p;
}

async function client(p: FaultProxy): Promise<Client> {
  const c = await connect(p);
  clients.push(c.socket);
  return c;
}

before(async () => {
  echo = await startEcho();
});

after(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(proxies.map((p) => p.close()));
  await echo.close();
});

test("fault proxy - forwards bytes both ways unchanged, and FIN in order", async () => {
  const p = await proxy();
  const c = await client(p);
  const lines = Array.from({ length: 2000 }, (_, i) => `line-${i}\n`).join("");
  c.socket.write(lines);
  await c.waitFor("line-1999\n");
  assert.equal(c.received(), lines);
  c.socket.end();
  const started = Date.now();
  while (c.ended() === undefined && Date.now() - started < 2000) await delay(5);
  assert.equal(c.ended(), "end", "the echo server's FIN came back through the proxy");
  assert.equal(p.stats().accepted, 1);
});

test("fault proxy - latency delays each direction and keeps the order of every chunk", async () => {
  const p = await proxy();
  p.setLatency({ toUpstreamMs: 30, toClientMs: 20 });
  const c = await client(p);
  const started = Date.now();
  c.socket.write("ping\n");
  await c.waitFor("ping\n");
  const rtt = Date.now() - started;
  assert.ok(rtt >= 48, `round trip ${rtt} ms, at least 30 + 20`);
  assert.ok(rtt < 500, `round trip ${rtt} ms`);
  // Many small writes, with the latency changed in the middle: order still holds.
  let expected = "";
  for (let i = 0; i < 500; i++) {
    const line = `n${i};`;
    expected += line;
    c.socket.write(line);
    if (i === 250) p.setLatency({ toUpstreamMs: 0, toClientMs: 0 });
    if (i % 50 === 0) await delay(1);
  }
  await c.waitFor("n499;");
  assert.equal(c.received(), `ping\n${expected}`);
});

test("fault proxy - a freeze holds both directions with sockets open, thaw releases in order", async () => {
  const p = await proxy();
  const c = await client(p);
  c.socket.write("before;");
  await c.waitFor("before;");
  p.freeze();
  c.socket.write("during-1;");
  c.socket.write("during-2;");
  await delay(300);
  assert.equal(c.received(), "before;", "nothing passes while frozen");
  assert.equal(c.ended(), undefined, "the connection stays open");
  // A connection opened during the freeze is accepted and held too.
  const late = await client(p);
  late.socket.write("late;");
  await delay(100);
  assert.equal(late.received(), "");
  p.thaw();
  await c.waitFor("during-2;");
  await late.waitFor("late;");
  assert.equal(c.received(), "before;during-1;during-2;");
  // freeze(ms) thaws by itself.
  p.freeze(200);
  c.socket.write("timed;");
  const waited = await c.waitFor("timed;", 3000);
  assert.ok(waited >= 150, `held ${waited} ms`);
});

test("fault proxy - a FIN sent during a freeze arrives after the held bytes", async () => {
  const p = await proxy();
  const endsBefore = echo.ends.length;
  const c = await client(p);
  p.freeze();
  c.socket.write("last words;");
  c.socket.end();
  await delay(200);
  assert.equal(echo.ends.length, endsBefore, "the FIN is held too");
  p.thaw();
  await c.waitFor("last words;");
  const started = Date.now();
  while (c.ended() === undefined && Date.now() - started < 2000) await delay(5);
  assert.equal(c.ended(), "end");
  assert.equal(echo.ends[endsBefore], "end");
});

test("fault proxy - a blackhole drops bytes silently and never sends FIN or RST", async () => {
  const p = await proxy();
  const c = await client(p);
  c.socket.write("before;");
  await c.waitFor("before;");
  const endsBefore = echo.ends.length;
  p.blackhole();
  c.socket.write("lost;");
  await delay(300);
  assert.equal(c.received(), "before;");
  assert.equal(c.ended(), undefined, "no FIN or RST reaches the client");
  assert.ok(p.stats().droppedBytes >= "lost;".length);
  // A new connection is accepted and dead.
  const fresh = await client(p);
  fresh.socket.write("hello;");
  await delay(200);
  assert.equal(fresh.received(), "");
  // The client gives up on its connection: the server hears nothing of it during the blackhole.
  c.socket.destroy();
  await delay(200);
  assert.equal(echo.ends.length, endsBefore, "the server still thinks the client is there");

  p.restore();
  // New connections work again; one that lived through the blackhole never does.
  const after = await client(p);
  after.socket.write("back;");
  await after.waitFor("back;");
  fresh.socket.write("still dead;");
  await delay(200);
  assert.equal(fresh.received(), "");
  // At restore the server's end of the connection the client closed was reset.
  const started = Date.now();
  while (echo.ends.length === endsBefore && Date.now() - started < 2000) await delay(5);
  assert.equal(echo.ends[endsBefore], "ECONNRESET");
});

test("fault proxy - resetAll resets both ends: the client gets ECONNRESET, the server too", async () => {
  const p = await proxy();
  const c = await client(p);
  c.socket.write("hi;");
  await c.waitFor("hi;");
  const endsBefore = echo.ends.length;
  p.resetAll();
  const started = Date.now();
  while (
    (c.ended() === undefined || echo.ends.length === endsBefore) &&
    Date.now() - started < 2000
  ) {
    await delay(5);
  }
  assert.equal(c.ended(), "ECONNRESET");
  assert.equal(echo.ends[endsBefore], "ECONNRESET");
  assert.equal(p.stats().resets, 1);
  // The proxy itself keeps working.
  const again = await client(p);
  again.socket.write("again;");
  await again.waitFor("again;");
});

test("fault proxy - an upstream that refuses connections resets the client", async () => {
  const closed = await startEcho();
  const port = closed.port;
  await closed.close();
  const p = await startFaultProxy({ port });
  proxies.push(p);
  const c = await client(p);
  const started = Date.now();
  while (c.ended() === undefined && Date.now() - started < 2000) await delay(5);
  assert.equal(c.ended(), "ECONNRESET");
});
