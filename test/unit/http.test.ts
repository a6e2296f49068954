import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { Registry } from "prom-client";
import { createHttpServer, healthReport } from "../../src/http/server";
import type { HttpServerOptions } from "../../src/http/server";
import { createTestLogger } from "../support/test-logger";
import { createMetrics } from "../../src/metrics/metrics";
import type { TopicStatus, WorkerStatus } from "../../src/replicator/status";
import { makeTestCerts } from "../support/certs";

const T0 = Date.UTC(2024, 0, 1, 0, 0, 0);

function worker(n: number, over: Partial<WorkerStatus> = {}): WorkerStatus {
  return {
    worker: n,
    clientId: `cmdb_${n}`,
    source: { kind: "up", since: T0 },
    target: { kind: "up", since: T0 },
    subscribed: true,
    ...over,
  };
}

function topic(over: Partial<TopicStatus> = {}): TopicStatus {
  return {
    name: "cmdb",
    topic: "acme.cmdb",
    targetTopic: "acme.cmdb",
    sourceUrls: ["nats://source:4222"],
    targetUrls: ["nats://target:4222"],
    workers: [worker(0), worker(1)],
    ...over,
  };
}

/** Starts a server on free ports of 127.0.0.1 for the test and stops it afterwards. */
async function serve(
  t: { after(fn: () => Promise<void>): void },
  over: Partial<HttpServerOptions> = {},
) {
  const registry = new Registry();
  const metrics = createMetrics(registry, { defaultMetrics: false, version: "9.9.9" });
  let status: TopicStatus[] = [topic()];
  const logger = createTestLogger();
  const server = createHttpServer({
    host: "127.0.0.1",
    port: 0,
    registry,
    status: () => status,
    logger,
    ...over,
  });
  const { ports } = await server.start();
  t.after(() => server.stop());
  const base = `http://127.0.0.1:${ports[0]}`;
  return {
    ports,
    base,
    metrics,
    logger,
    server,
    setStatus: (s: TopicStatus[]) => {
      status = s;
    },
    get: (path: string, init?: RequestInit) => fetch(base + path, init),
  };
}

test("GET /metrics - Prometheus text with the right content type", async (t) => {
  const s = await serve(t);
  s.metrics.copiedMsgs.inc({ name: "cmdb", worker: "cmdb_0" }, 3);
  const res = await s.get("/metrics");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const body = await res.text();
  assert.match(body, /^stream_replicator_copied_msgs\{name="cmdb",worker="cmdb_0"\} 3$/m);
  assert.match(body, /^stream_replicator_build_info\{version="9\.9\.9"\} 1$/m);
});

test("GET /healthz - 200 when every topic is healthy", async (t) => {
  const s = await serve(t);
  const res = await s.get("/healthz");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const body: any = await res.json();
  assert.equal(body.status, "ok");
  assert.equal(body.topics.length, 1);
  assert.equal(body.topics[0].healthy, true);
  assert.deepEqual(body.topics[0].problems, []);
});

test("GET /healthz - 200 with no topics at all", async (t) => {
  const s = await serve(t);
  s.setStatus([]);
  const res = await s.get("/healthz");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: "ok", topics: [] });
});

test("GET /healthz - 503 names the side, since when, the attempt and the last error", async (t) => {
  const s = await serve(t);
  s.setStatus([
    topic({
      workers: [
        worker(0),
        worker(1, {
          target: {
            kind: "reconnecting",
            since: T0 + 5000,
            attempt: 3,
            lastError: "connect ECONNREFUSED",
          },
        }),
      ],
    }),
    topic({ name: "other" }),
  ]);
  const res = await s.get("/healthz");
  assert.equal(res.status, 503);
  const body: any = await res.json();
  assert.equal(body.status, "unhealthy");
  const [cmdb, other] = body.topics;
  assert.equal(cmdb.healthy, false);
  assert.equal(other.healthy, true);
  assert.deepEqual(cmdb.workers[1].target, {
    state: "reconnecting",
    since: "2024-01-01T00:00:05.000Z",
    attempt: 3,
    lastError: "connect ECONNREFUSED",
  });
  assert.deepEqual(cmdb.workers[1].source, { state: "up", since: "2024-01-01T00:00:00.000Z" });
  assert.deepEqual(cmdb.problems, [
    "worker 1 target reconnecting since 2024-01-01T00:00:05.000Z (attempt 3): connect ECONNREFUSED",
  ]);
});

test("GET /healthz - 503 with the stalled reason and a worker not subscribed", async (t) => {
  const s = await serve(t);
  s.setStatus([
    topic({
      workers: [worker(0, { subscribed: false }), worker(1)],
      stalled: { since: T0, sequence: 42, reason: "target rejected the message" },
    }),
  ]);
  const res = await s.get("/healthz");
  assert.equal(res.status, 503);
  const body: any = await res.json();
  assert.deepEqual(body.topics[0].stalled, {
    since: "2024-01-01T00:00:00.000Z",
    sequence: 42,
    reason: "target rejected the message",
  });
  assert.deepEqual(body.topics[0].problems, [
    "stalled at sequence 42 since 2024-01-01T00:00:00.000Z: target rejected the message",
    "worker 0 not subscribed",
  ]);
});

test("GET /healthz - credentials never appear, even when the status forgot to redact", async (t) => {
  const s = await serve(t);
  s.setStatus([
    topic({
      sourceUrls: ["nats://alice:hunter2@source:4222", "nats://s3cr3tt0ken@source2:4222"],
      targetUrls: ["nats://bob:pa55@target:4222,nats://bob:pa55@target2:4222"],
      workers: [
        worker(0, {
          source: {
            kind: "connecting",
            since: T0,
            attempt: 1,
            lastError: "could not connect to nats://alice:hunter2@source:4222",
          },
        }),
      ],
      stalled: { since: T0, sequence: 1, reason: "nats://bob:pa55@target:4222 rejected" },
    }),
  ]);
  const res = await s.get("/healthz");
  const text = await res.text();
  for (const secret of ["hunter2", "alice", "s3cr3tt0ken", "pa55", "bob"]) {
    assert.ok(!text.includes(secret), `${secret} leaked`);
  }
  const body = JSON.parse(text);
  assert.deepEqual(body.topics[0].sourceUrls, ["nats://source:4222", "nats://source2:4222"]);
  assert.deepEqual(body.topics[0].targetUrls, ["nats://target:4222,nats://target2:4222"]);
});

test("GET /healthz - a status callback that throws answers 500 without a stack", async (t) => {
  const s = await serve(t, {
    status: () => {
      throw new Error("status exploded");
    },
  });
  const res = await s.get("/healthz");
  assert.equal(res.status, 500);
  const text = await res.text();
  assert.deepEqual(JSON.parse(text), { error: "internal server error" });
  assert.ok(!text.includes("exploded") && !text.includes(" at "));
  assert.equal(s.logger.find("http request failed")[0]?.fields.err, "status exploded");
});

test("GET /livez - 200 alive, whatever the topics' health", async (t) => {
  const s = await serve(t);
  s.setStatus([topic({ stalled: { since: T0, sequence: 1, reason: "x" } })]);
  const res = await s.get("/livez");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: "alive" });
});

test("HEAD is answered like GET, without a body", async (t) => {
  const s = await serve(t);
  const res = await s.get("/livez", { method: "HEAD" });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "");
});

test("unknown path - 404 JSON without stack or framework banner", async (t) => {
  const s = await serve(t);
  const res = await s.get("/nope/../../etc/passwd");
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), { error: "not found" });
  assert.equal(res.headers.get("x-powered-by"), null);
});

test("no X-Powered-By header on any route", async (t) => {
  const s = await serve(t);
  for (const path of ["/metrics", "/healthz", "/livez", "/missing"]) {
    const res = await s.get(path);
    await res.arrayBuffer();
    assert.equal(res.headers.get("x-powered-by"), null, path);
  }
});

test("other methods - 405 with Allow on known paths, 404 elsewhere; bodies are not read", async (t) => {
  const s = await serve(t);
  for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
    const res = await s.get("/healthz", {
      method,
      body: JSON.stringify({ a: 1 }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get("allow"), "GET, HEAD");
    assert.deepEqual(await res.json(), { error: "method not allowed" });
  }
  const res = await s.get("/elsewhere", { method: "POST", body: "x" });
  assert.equal(res.status, 404);
  await res.arrayBuffer();
});

test("a malformed request gets a JSON 4xx without a stack", async (t) => {
  const s = await serve(t);
  const reply = await new Promise<string>((resolve, reject) => {
    const sock = net.connect(Number(new URL(s.base).port), "127.0.0.1", () => {
      sock.write("GET /%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    });
    let data = "";
    sock.on("data", (c) => (data += c.toString()));
    sock.on("end", () => resolve(data));
    sock.on("error", reject);
  });
  assert.match(reply, /^HTTP\/1\.1 (400|404) /);
  assert.ok(!reply.includes(" at "), "no stack");
  assert.ok(!/x-powered-by/i.test(reply));
});

test("extra ports - each distinct port serves the same endpoints", async (t) => {
  const s = await serve(t, { extraPorts: [0, 0] });
  assert.equal(s.ports.length, 3);
  assert.equal(new Set(s.ports).size, 3);
  for (const port of s.ports) {
    const res = await fetch(`http://127.0.0.1:${port}/livez`);
    assert.equal(res.status, 200, `port ${port}`);
    await res.arrayBuffer();
  }
});

test("extra ports - duplicates of the main or another extra port are served once", async (t) => {
  const probe = createHttpServer({
    host: "127.0.0.1",
    port: 0,
    registry: new Registry(),
    status: () => [],
    logger: createTestLogger(),
  });
  const { ports } = await probe.start();
  await probe.stop();
  const free = ports[0]!;
  const s = await serve(t, { port: free, extraPorts: [free, 0] });
  assert.equal(s.ports.length, 2);
  assert.equal(s.ports[0], free);
});

test("start - a port in use rejects with a clear error and leaves nothing listening", async (t) => {
  const a = await serve(t);
  const server = createHttpServer({
    host: "127.0.0.1",
    port: 0,
    extraPorts: [a.ports[0]!],
    registry: new Registry(),
    status: () => [],
    logger: createTestLogger(),
  });
  await assert.rejects(server.start(), /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  await server.stop();
});

test("stop - closes keep-alive connections and is idempotent", async (t) => {
  const s = await serve(t);
  const res = await s.get("/livez", { headers: { connection: "keep-alive" } });
  await res.arrayBuffer();
  const started = Date.now();
  await s.server.stop();
  await s.server.stop();
  assert.ok(Date.now() - started < 2000);
  await assert.rejects(fetch(`${s.base}/livez`));
});

test("healthReport - unknown since times are null instead of throwing", () => {
  const report = healthReport([
    topic({ workers: [worker(0, { source: { kind: "closed", since: Number.NaN } })] }),
  ]);
  assert.equal(report.status, "unhealthy");
  assert.equal(report.topics[0]!.workers[0]!.source.since, null);
});

// ---- security: basic auth on /metrics, bodies, HTTPS ----

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

test("basic auth - /metrics answers 401 without or with wrong credentials, 200 with them", async (t) => {
  const s = await serve(t, { basicAuth: { user: "prom", password: "s3cret" } });
  for (const headers of [
    {} as Record<string, string>,
    { authorization: basic("prom", "wrong") },
    { authorization: basic("other", "s3cret") },
    { authorization: "Bearer s3cret" },
  ]) {
    const res = await s.get("/metrics", { headers });
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Basic realm=/);
    assert.deepEqual(await res.json(), { error: "unauthorized" });
  }
  const ok = await s.get("/metrics", { headers: { authorization: basic("prom", "s3cret") } });
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /stream_replicator_build_info/);
  assert.ok(!JSON.stringify(s.logger.entries).includes("s3cret"));
});

test("basic auth - /healthz and /livez stay open for probes", async (t) => {
  const s = await serve(t, { basicAuth: { user: "prom", password: "s3cret" } });
  for (const path of ["/healthz", "/livez"]) {
    const res = await s.get(path);
    assert.equal(res.status, 200, path);
    await res.arrayBuffer();
  }
});

test("a GET with a body gets 413 and the connection is closed", async (t) => {
  const s = await serve(t);
  const reply = await new Promise<string>((resolve, reject) => {
    const sock = net.connect(Number(new URL(s.base).port), "127.0.0.1", () => {
      sock.write("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    });
    let data = "";
    sock.on("data", (c) => (data += c.toString()));
    sock.on("end", () => resolve(data));
    sock.on("error", reject);
  });
  assert.match(reply, /^HTTP\/1\.1 413 /);
  assert.match(reply, /\r\nConnection: close\r\n/i);
  assert.match(reply, /\{"error":"request body not accepted"\}$/);
});

test("https - served with the configured certificate; a missing file fails the start clearly", async (t) => {
  const certs = makeTestCerts();
  const s = await serve(t, { tls: { cert: certs.serverCert, key: certs.serverKey } });
  const port = s.ports[0]!;
  const body = await new Promise<string>((resolve, reject) => {
    const req = https.get(
      { host: "127.0.0.1", port, path: "/livez", ca: readFileSync(certs.ca) },
      (res) => {
        let data = "";
        res.on("data", (c: Buffer) => (data += c.toString()));
        res.on("end", () => resolve(`${res.statusCode} ${data}`));
      },
    );
    req.on("error", reject);
  });
  assert.equal(body, '200 {"status":"alive"}');
  await assert.rejects(fetch(`http://127.0.0.1:${port}/livez`));

  const broken = createHttpServer({
    host: "127.0.0.1",
    port: 0,
    registry: new Registry(),
    status: () => [],
    logger: createTestLogger(),
    tls: { cert: certs.serverCert, key: "/nonexistent/key.pem" },
  });
  await assert.rejects(broken.start(), /cannot read the HTTPS key \/nonexistent\/key\.pem: ENOENT/);
});
