import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { createTestLogger } from "../support/test-logger";
import { computeLag, createLagPoller } from "../../src/metrics/lag-poller";
import type { FetchLike, PollTimers } from "../../src/metrics/lag-poller";
import { createMetrics } from "../../src/metrics/metrics";

// Responses captured from nats-streaming-server 0.25.6 (GET /streaming/channelsz?channel=X&subs=1).

/** 10 messages; durable "repl" (max in flight 3) acked 2 and holds 3 unacked: lag 8. */
const DURABLE_SAMPLE = {
  name: "orders",
  msgs: 10,
  bytes: 240,
  first_seq: 1,
  last_seq: 10,
  subs_count: 1,
  subscriptions: [
    {
      client_id: "cap1",
      inbox: "_INBOX.KLCFZQWKG30V66XLQR0XTM",
      ack_inbox: "_INBOX.cQl7R044g7Jeh5797y2KlY",
      durable_name: "repl",
      is_durable: true,
      is_offline: false,
      max_inflight: 3,
      ack_wait: 30,
      last_sent: 5,
      pending_count: 3,
      is_stalled: true,
    },
  ],
};

/**
 * 20 messages; durable queue group: durable "repl", group "repl" → queue_name "repl:repl"
 * (no durable_name). Two members, 4 acked in total, 8 pending: lag 16.
 */
const QUEUE_SAMPLE = {
  name: "cmdb",
  msgs: 20,
  bytes: 450,
  first_seq: 1,
  last_seq: 20,
  subs_count: 2,
  subscriptions: [
    {
      client_id: "repl_2",
      inbox: "_INBOX.4RGMQBHD4EQOX1ZU02UY1U",
      ack_inbox: "_INBOX.PNIXsvuwxjYVqw1ilTlViP",
      queue_name: "repl:repl",
      is_durable: true,
      is_offline: false,
      max_inflight: 4,
      ack_wait: 30,
      last_sent: 10,
      pending_count: 4,
      is_stalled: true,
    },
    {
      client_id: "repl_1",
      inbox: "_INBOX.4RGMQBHD4EQOX1ZU02UXOO",
      ack_inbox: "_INBOX.PNIXsvuwxjYVqw1ilTlVfO",
      queue_name: "repl:repl",
      is_durable: true,
      is_offline: false,
      max_inflight: 4,
      ack_wait: 30,
      last_sent: 12,
      pending_count: 4,
      is_stalled: true,
    },
  ],
};

test("computeLag - durable: last_seq - (last_sent - pending_count)", () => {
  assert.deepEqual(computeLag(DURABLE_SAMPLE, { durable: "repl" }), {
    ok: true,
    lag: 8,
    lastSeq: 10,
    acknowledged: 2,
  });
});

test("computeLag - durable queue group: max last_sent minus the members' pending", () => {
  assert.deepEqual(computeLag(QUEUE_SAMPLE, { durable: "repl", queueGroup: "repl" }), {
    ok: true,
    lag: 16,
    lastSeq: 20,
    acknowledged: 4,
  });
});

test("computeLag - a queue member does not match a plain durable of the same name", () => {
  assert.deepEqual(computeLag(QUEUE_SAMPLE, { durable: "repl" }), {
    ok: false,
    reason: "subscription_not_found",
  });
  assert.deepEqual(computeLag(DURABLE_SAMPLE, { durable: "repl", queueGroup: "repl" }), {
    ok: false,
    reason: "subscription_not_found",
  });
  assert.deepEqual(computeLag(DURABLE_SAMPLE, { durable: "other" }), {
    ok: false,
    reason: "subscription_not_found",
  });
});

test("computeLag - an offline durable still reports its lag", () => {
  const sub = { ...DURABLE_SAMPLE.subscriptions[0]!, is_offline: true, client_id: "" };
  const r = computeLag({ ...DURABLE_SAMPLE, subscriptions: [sub] }, { durable: "repl" });
  assert.equal(r.ok && r.lag, 8);
});

test("computeLag - messages the channel dropped (before first_seq) are not counted", () => {
  const r = computeLag({ ...DURABLE_SAMPLE, first_seq: 7 }, { durable: "repl" });
  assert.deepEqual(r, { ok: true, lag: 4, lastSeq: 10, acknowledged: 6 });
});

test("computeLag - caught up is 0, never negative", () => {
  const sub = { ...DURABLE_SAMPLE.subscriptions[0]!, last_sent: 10, pending_count: 0 };
  const r = computeLag({ ...DURABLE_SAMPLE, subscriptions: [sub] }, { durable: "repl" });
  assert.equal(r.ok && r.lag, 0);
});

test("computeLag - malformed bodies are bad_response", () => {
  for (const body of [
    null,
    "text",
    [],
    {},
    { last_seq: "10" },
    { last_seq: 10, subscriptions: {} },
    { last_seq: 10, subscriptions: [{ durable_name: "repl", is_durable: true, last_sent: -1 }] },
  ]) {
    assert.deepEqual(computeLag(body, { durable: "repl" }), { ok: false, reason: "bad_response" });
  }
});

// ------------------------------------------------------------------------------------------
// The poller with a fake fetch and manual timers

class ManualTimers implements PollTimers {
  private next = 1;
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { fn, ms });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** Runs every pending timer of exactly `ms`. */
  fire(ms: number): void {
    for (const [id, t] of [...this.pending]) {
      if (t.ms !== ms) continue;
      this.pending.delete(id);
      t.fn();
    }
  }
  count(ms: number): number {
    return [...this.pending.values()].filter((t) => t.ms === ms).length;
  }
}

function jsonResponse(body: unknown, status = 200) {
  return { ok: status >= 200 && status < 300, status, json: async () => body };
}

function setup(fetchImpl: FetchLike, extra: { monitorUrl?: string; queueGroup?: string } = {}) {
  const registry = new Registry();
  const metrics = createMetrics(registry, { defaultMetrics: false });
  const logger = createTestLogger();
  const timers = new ManualTimers();
  const poller = createLagPoller({
    name: "orders",
    monitorUrl: extra.monitorUrl ?? "http://source:8222",
    channel: "orders",
    durable: "repl",
    queueGroup: extra.queueGroup,
    intervalMs: 10_000,
    timeoutMs: 2_000,
    metrics,
    logger,
    fetch: fetchImpl,
    timers,
  });
  const lag = async () => (await metrics.replicationLag.get()).values[0]?.value;
  const errors = async () => (await metrics.lagPollErrors.get()).values[0]?.value ?? 0;
  return { poller, logger, timers, lag, errors };
}

/** Lets pending promise callbacks run. */
const flush = () => new Promise((r) => setImmediate(r));

test("poller - requests channelsz for the channel with subs and sets the gauge", async () => {
  const urls: string[] = [];
  const { poller, lag } = setup(async (url) => {
    urls.push(url);
    return jsonResponse(DURABLE_SAMPLE);
  });
  const r = await poller.pollOnce();
  assert.equal(r.ok, true);
  assert.deepEqual(urls, ["http://source:8222/streaming/channelsz?channel=orders&subs=1"]);
  assert.equal(await lag(), 8);
});

test("poller - credentials in the monitor URL become a Basic auth header, not URL userinfo", async () => {
  let seen: { url: string; headers: Record<string, string> } | undefined;
  const { poller, logger } = setup(
    async (url, init) => {
      seen = { url, headers: init.headers };
      return jsonResponse({}, 500);
    },
    { monitorUrl: "http://mon:s3cret@source:8222/base/" },
  );
  await poller.pollOnce();
  assert.equal(seen?.url, "http://source:8222/base/streaming/channelsz?channel=orders&subs=1");
  assert.equal(
    seen?.headers.authorization,
    `Basic ${Buffer.from("mon:s3cret").toString("base64")}`,
  );
  assert.ok(!JSON.stringify(logger.entries).includes("s3cret"));
});

test("poller - errors are counted, logged at debug, remove the gauge and never throw", async () => {
  let mode: "ok" | "404" | "throw" | "junk" = "ok";
  const { poller, logger, lag, errors } = setup(async () => {
    if (mode === "throw") throw new TypeError("fetch failed");
    if (mode === "404") return jsonResponse("Channel orders not found", 404);
    if (mode === "junk") return jsonResponse({ nope: true });
    return jsonResponse(DURABLE_SAMPLE);
  });
  await poller.pollOnce();
  assert.equal(await lag(), 8);

  const reasons: string[] = [];
  for (const m of ["404", "throw", "junk"] as const) {
    mode = m;
    const r = await poller.pollOnce();
    assert.equal(r.ok, false);
    if (!r.ok) reasons.push(r.reason);
    assert.equal(await lag(), undefined, "stale lag removed");
  }
  assert.deepEqual(reasons, ["channel_not_found", "request_failed", "bad_response"]);
  assert.equal(await errors(), 3);
  const failures = logger.find("lag poll failed");
  assert.equal(failures.length, 3);
  assert.ok(failures.every((e) => e.level === "debug"));
  assert.equal(failures[1]!.fields.err, "fetch failed");

  mode = "ok";
  await poller.pollOnce();
  assert.equal(await lag(), 8, "gauge back after a good poll");
});

test("poller - a request that hangs is aborted after timeoutMs", async () => {
  const { poller, timers } = setup(
    (_url, init) =>
      new Promise((_resolve, reject) => {
        init.signal.addEventListener("abort", () => reject(new Error("aborted")));
      }),
  );
  const pending = poller.pollOnce();
  assert.equal(timers.count(2_000), 1);
  timers.fire(2_000);
  assert.deepEqual(await pending, { ok: false, reason: "timeout" });
});

test("poller - start polls now, then every interval after the previous poll ends", async () => {
  let calls = 0;
  const { poller, timers } = setup(async () => {
    calls++;
    return jsonResponse(DURABLE_SAMPLE);
  });
  poller.start();
  poller.start(); // a second start does nothing
  await flush();
  assert.equal(calls, 1);
  assert.equal(timers.count(10_000), 1);
  timers.fire(10_000);
  await flush();
  assert.equal(calls, 2);
  assert.equal(timers.count(10_000), 1);
  await poller.stop();
  assert.equal(timers.count(10_000), 0);
  timers.fire(10_000);
  await flush();
  assert.equal(calls, 2);
});

test("poller - stop aborts a request in flight without counting an error", async () => {
  const { poller, errors, timers } = setup(
    (_url, init) =>
      new Promise((_resolve, reject) => {
        init.signal.addEventListener("abort", () => reject(new Error("aborted")));
      }),
  );
  poller.start();
  await flush();
  await poller.stop();
  assert.equal(await errors(), 0);
  assert.equal(timers.count(10_000), 0);
});

test("poller - an invalid monitor URL disables the poller with one warning", async () => {
  let calls = 0;
  const { poller, logger, timers } = setup(
    async () => {
      calls++;
      return jsonResponse(DURABLE_SAMPLE);
    },
    { monitorUrl: "nats://user:pw@source:4222" },
  );
  poller.start();
  await flush();
  assert.equal(calls, 0);
  assert.equal(timers.pending.size, 0);
  const warn = logger.find("lag poller disabled: monitor url is not an http(s) URL");
  assert.equal(warn.length, 1);
  assert.equal(warn[0]!.fields.url, "nats://source:4222");
});

test("poller - a body that is not JSON is bad_response; a refused connection logs its cause", async () => {
  let mode: "html" | "refused" = "html";
  const { poller, logger } = setup(async () => {
    if (mode === "refused") {
      throw new TypeError("fetch failed", {
        cause: new Error("connect ECONNREFUSED 10.0.0.1:8222"),
      });
    }
    return {
      ok: true,
      status: 200,
      json: async () => JSON.parse("<html>"),
    };
  });
  assert.deepEqual(await poller.pollOnce(), { ok: false, reason: "bad_response" });
  mode = "refused";
  assert.deepEqual(await poller.pollOnce(), { ok: false, reason: "request_failed" });
  assert.equal(
    logger.find("lag poll failed")[1]?.fields.err,
    "fetch failed: connect ECONNREFUSED 10.0.0.1:8222",
  );
});
