// The NATS connection against peers that are not a working NATS server: a wrong port (an
// HTTP server), a peer that never speaks, one that hangs up. Each attempt must fail with one
// clear error within its timeout, never hang or crash. (Real servers: test/integration.)
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { NatsConnection } from "../../src/nats/connection";

async function peer(
  onConnection: (socket: net.Socket) => void,
): Promise<{ url: string; close(): void }> {
  const server = net.createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return { url: `nats://127.0.0.1:${port}`, close: () => server.close() };
}

async function connectError(
  url: string,
  timeoutMs = 500,
): Promise<{ message: string; ms: number }> {
  const started = Date.now();
  try {
    await NatsConnection.connect({ url, name: "t", timeoutMs });
  } catch (err) {
    return { message: (err as Error).message, ms: Date.now() - started };
  }
  assert.fail("connect succeeded");
}

test("nats wire - a peer that is not NATS (HTTP on the port) is named as such", async () => {
  const p = await peer((s) => s.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
  try {
    assert.match(
      (await connectError(p.url)).message,
      /not a NATS server \(it said: HTTP\/1\.1 400/,
    );
  } finally {
    p.close();
  }
});

test("nats wire - a peer that accepts and never speaks fails after the timeout", async () => {
  const sockets: net.Socket[] = [];
  const p = await peer((s) => sockets.push(s));
  try {
    const { message, ms } = await connectError(p.url, 300);
    assert.equal(message, "connect timed out");
    assert.ok(ms >= 250 && ms < 2000, `${ms} ms`);
  } finally {
    for (const s of sockets) s.destroy();
    p.close();
  }
});

test("nats wire - a peer that hangs up, and a closed port, fail at once", async () => {
  const p = await peer((s) => s.destroy());
  try {
    const { message, ms } = await connectError(p.url, 5000);
    assert.match(message, /connection closed by the server|ECONNRESET/);
    assert.ok(ms < 1000, `${ms} ms`);
  } finally {
    p.close();
  }
  const closed = await peer(() => undefined);
  closed.close();
  assert.match((await connectError(closed.url, 5000)).message, /ECONNREFUSED/);
});

test("nats wire - a -ERR answer to CONNECT is the error, without quotes", async () => {
  const p = await peer((s) => {
    s.write('INFO {"server_id":"fake","max_payload":1048576,"auth_required":true}\r\n');
    s.once("data", () => s.end("-ERR 'Authorization Violation'\r\n"));
  });
  try {
    assert.equal((await connectError(p.url)).message, "Authorization Violation");
  } finally {
    p.close();
  }
});

test("nats connection - a server that stops answering our PINGs ends the connection", async () => {
  const sockets: net.Socket[] = [];
  const p = await peer((s) => {
    sockets.push(s);
    s.write('INFO {"server_id":"fake","max_payload":1048576}\r\n');
    // Answers the handshake's PING, then nothing more: a half-open connection.
    s.once("data", () => s.write("PONG\r\n"));
  });
  try {
    const nc = await NatsConnection.connect({
      url: p.url,
      name: "t",
      timeoutMs: 1000,
      pingIntervalMs: 50,
      maxPingsOut: 2,
    });
    const started = Date.now();
    const err = await nc.closed;
    assert.match(err?.message ?? "", /no answer to 2 pings/);
    assert.ok(Date.now() - started < 2000);
  } finally {
    for (const s of sockets) s.destroy();
    p.close();
  }
});

test("nats connection - CONNECT asks for headers and no-responders answers", async () => {
  let connect = "";
  const p = await peer((s) => {
    s.write('INFO {"server_id":"fake","max_payload":1048576}\r\n');
    s.once("data", (d: Buffer) => {
      connect = d.toString();
      s.write("PONG\r\n");
    });
  });
  try {
    const nc = await NatsConnection.connect({ url: p.url, name: "t", timeoutMs: 1000 });
    const json = JSON.parse(connect.slice("CONNECT ".length, connect.indexOf("\r\n"))) as {
      headers: boolean;
      no_responders: boolean;
    };
    assert.equal(json.headers, true);
    assert.equal(json.no_responders, true);
    await nc.close();
  } finally {
    p.close();
  }
});
