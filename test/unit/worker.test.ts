// The worker: the one reconnect loop. Connects both sides with backoff, rebuilds both sessions
// after any loss or failure, and stops promptly, with fake sessions and a fake sleep.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ClientIdInUseError, ConnectionError, PublishError } from "../../src/errors";
import { nullObserver } from "../../src/replicator/observer";
import { Worker } from "../../src/replicator/worker";
import type { WorkerOptions } from "../../src/replicator/worker";
import { FakeConnector, until } from "../support/fake-sessions";
import { createTestLogger } from "../support/test-logger";

interface Harness {
  worker: Worker;
  source: FakeConnector;
  target: FakeConnector;
  delays: number[];
  abort: AbortController;
  run: Promise<void>;
}

/** A worker whose sleeps are recorded and return at once (or wait for the abort signal). */
function start(
  overrides: Partial<WorkerOptions> & { source?: FakeConnector; target?: FakeConnector } = {},
  sleepsForever = false,
): Harness {
  const source = overrides.source ?? new FakeConnector();
  const target = overrides.target ?? new FakeConnector();
  const delays: number[] = [];
  const abort = new AbortController();
  const worker = new Worker({
    id: 0,
    clientId: "t_0",
    ordered: true,
    subscription: {
      subject: "in",
      durableName: "d",
      maxInFlight: 16,
      ackWaitMs: 30_000,
      start: { kind: "first" },
    },
    targetSubject: "out",
    source,
    target,
    observer: nullObserver,
    log: createTestLogger(),
    copiedUnacked: new Set(),
    isStalled: () => false,
    onRejected: () => undefined,
    settleTimeoutMs: 5_000,
    pauseAfterMs: 50,
    now: Date.now,
    sleep: (ms, signal) => {
      delays.push(ms);
      if (!sleepsForever) return Promise.resolve();
      return new Promise((resolve) => signal.addEventListener("abort", () => resolve()));
    },
    ...overrides,
  });
  return { worker, source, target, delays, abort, run: worker.run(abort.signal, 1_000) };
}

const refused = () => new ConnectionError("connect ECONNREFUSED", { retriable: true });

test("worker - retries a failing connect with growing backoff, then subscribes; status says so", async () => {
  const source = new FakeConnector();
  source.failNext("source", refused(), refused(), refused());
  const h = start({ source });
  await until(() => h.source.sessions("source").length === 1, "source opened");
  await until(() => h.worker.status().subscribed, "subscribed");
  assert.equal(h.delays.length, 3);
  const caps = [250, 500, 1000];
  h.delays.forEach((d, i) => assert.ok(d >= caps[i]! / 2 && d <= caps[i]!, `delay ${i}: ${d}`));
  const s = h.worker.status();
  assert.equal(s.source.kind, "up");
  assert.equal(s.target.kind, "up");
  assert.deepEqual(h.source.last("source").subscription?.durableName, "d");
  h.abort.abort();
  await h.run;
});

test("worker - reconnecting a side that was just up: at most 1 s between attempts (a leader election)", async () => {
  const h = start();
  await until(() => h.worker.status().subscribed, "subscribed");
  const failures = Array.from({ length: 6 }, refused);
  h.target.failNext("target", ...failures);
  h.target.last("target").end("connection_lost", "leader gone");
  await until(() => h.target.sessions("target").length === 2, "target rebuilt");
  const [reset, ...retries] = h.delays;
  assert.ok(reset !== undefined && reset <= 250, `the reset: ${reset}`);
  assert.equal(retries.length, 6);
  const caps = [250, 500, 1000, 1000, 1000, 1000];
  retries.forEach((d, i) => assert.ok(d >= caps[i]! / 2 && d <= caps[i]!, `retry ${i}: ${d}`));
  const target = h.target.attempts.filter((a) => a.side === "target").map((a) => a.failover);
  assert.deepEqual(
    target,
    [false, true, true, true, true, true, true, true],
    "the first connect is no failover",
  );
  h.abort.abort();
  await h.run;
});

test("worker - a reset waits at most 0.5 s for a close the target never answers", async () => {
  const h = start();
  await until(() => h.worker.status().subscribed, "subscribed");
  const first = h.target.last("target");
  first.closeHangs = true;
  const lostAt = Date.now();
  first.end("connection_lost", "leader hung");
  await until(() => h.target.sessions("target").length === 2, "target rebuilt", 5_000);
  const waited = Date.now() - lostAt;
  assert.ok(waited >= 450 && waited < 3_000, `rebuilt after ${waited} ms`);
  h.abort.abort();
  await h.run;
});

test("worker - while connecting, status shows the attempt and the last error", async () => {
  const source = new FakeConnector();
  source.failNext("source", refused());
  const h = start({ source }, true);
  await until(() => h.delays.length === 1, "first backoff");
  const s = h.worker.status().source;
  assert.equal(s.kind, "connecting");
  assert.ok(s.kind === "connecting" && s.attempt === 1 && /ECONNREFUSED/.test(s.lastError ?? ""));
  h.abort.abort();
  await h.run;
  assert.equal(h.worker.status().source.kind, "closed");
});

test("worker - stopping during a backoff wait returns at once without opening anything", async () => {
  const target = new FakeConnector();
  target.failNext("target", refused());
  const h = start({ target }, true);
  await until(() => h.delays.length === 1, "target backoff");
  const opened = h.source.opened.length;
  h.abort.abort();
  await h.run;
  assert.equal(h.source.last("source").closes, 1, "the source opened before is closed");
  assert.equal(h.source.opened.length, opened);
  assert.equal(h.target.opened.length, 0);
});

test("worker - a lost target session closes the source too and rebuilds both, resubscribing", async () => {
  const h = start();
  await until(() => h.worker.status().subscribed, "subscribed");
  h.target.last("target").end("connection_lost", "socket closed");
  await until(() => h.source.sessions("source").length === 2, "source rebuilt");
  await until(() => h.worker.status().subscribed, "subscribed again");
  assert.equal(h.source.sessions("source")[0]!.closes, 1);
  assert.equal(h.target.sessions("target").length, 2);
  assert.equal(h.delays.length, 1, "one backoff before the rebuild");
  h.abort.abort();
  await h.run;
});

test("worker - a failed publish halts, waits at most pause_after for in-flight ones, then rebuilds", async () => {
  const h = start();
  await until(() => h.worker.status().subscribed, "subscribed");
  const source = h.source.last("source");
  const target = h.target.last("target");
  source.deliver(1);
  target.published[0]!.resolve();
  await until(() => source.acks.length === 1, "first ack");
  source.deliver(2);
  source.deliver(3);
  await until(() => target.published.length === 3, "pipelined");
  const failedAt = Date.now();
  target.published[1]!.reject(new PublishError("no responders", "no_responders"));
  // 3 never settles: the worker gives up on it after pauseAfterMs (50 ms), not publish_timeout.
  await until(() => h.source.sessions("source").length === 2, "rebuilt", 3000);
  assert.ok(Date.now() - failedAt < 1000, `${Date.now() - failedAt} ms`);
  assert.deepEqual(source.acks, [1], "nothing acked past the failed message");
  assert.equal(source.closes, 1);
  assert.equal(target.closes, 1);
  h.abort.abort();
  await h.run;
});

test("worker - a subscribe that fails rebuilds both sessions", async () => {
  const source = new FakeConnector();
  let first = true;
  source.onOpen = (s) => {
    if (first) s.subscribeError = new ConnectionError("subscribe failed: timeout");
    first = false;
  };
  const h = start({ source });
  await until(() => h.source.sessions("source").length === 2, "rebuilt");
  await until(() => h.worker.status().subscribed, "subscribed on the second session");
  h.abort.abort();
  await h.run;
});

test("worker - stop waits for in-flight publishes (bounded) and acks what the target confirmed", async () => {
  const h = start();
  await until(() => h.worker.status().subscribed, "subscribed");
  const source = h.source.last("source");
  const target = h.target.last("target");
  source.deliver(1);
  h.abort.abort();
  await new Promise((r) => setTimeout(r, 20));
  target.published[0]!.resolve();
  await h.run;
  assert.deepEqual(source.acks, [1]);
  assert.equal(source.closes, 1);
  assert.equal(target.closes, 1);
  const s = h.worker.status();
  assert.equal(s.source.kind, "closed");
  assert.equal(s.subscribed, false);
});

test("worker - ordered: a client id held by another process makes a hot standby that asks every second and takes over", async () => {
  const source = new FakeConnector();
  const inUse = () => new ClientIdInUseError("client id still registered on the server");
  source.failNext("source", inUse(), inUse(), inUse());
  const h = start({ source });
  await until(() => h.worker.status().subscribed, "took over");
  assert.deepEqual(h.delays, [1000, 1000, 1000], "a steady 1 s, no backoff growth");
  h.abort.abort();
  await h.run;
});

test("worker - standby state while the other process holds the id", async () => {
  const source = new FakeConnector();
  source.failNext("source", new ClientIdInUseError("in use"));
  const h = start({ source }, true);
  await until(() => h.delays.length === 1, "waiting");
  assert.equal(h.worker.status().source.kind, "standby");
  h.abort.abort();
  await h.run;
});
