import { test } from "node:test";
import assert from "node:assert/strict";
import { AdvisoryPublisher, backoffDelayMs } from "../../src/sampling/advisory-publisher";
import type { SleepFn } from "../../src/sampling/advisory-publisher";
import { AGE_ADVISORY_SCHEMA } from "../../src/sampling/advisor";
import type { AdvisoryEvent } from "../../src/sampling/advisor";
import { ReplicatorError } from "../../src/errors";

function event(value: string, kind: AdvisoryEvent["event"] = "timeout"): AdvisoryEvent {
  return {
    $schema: AGE_ADVISORY_SCHEMA,
    inspect: "sender",
    value,
    age: 60,
    seen: 1_700_000_000,
    timestamp: 1_700_000_060,
    replicator: "cmdb",
    event: kind,
  };
}

/** Records requested delays and resolves at once (or on abort). */
function instantSleep(): { sleep: SleepFn; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    sleep: (ms) => {
      delays.push(ms);
      return new Promise((resolve) => setImmediate(resolve));
    },
  };
}

/** A sleep that only ends when aborted: time never passes on its own. */
const frozenSleep: SleepFn = (_ms, signal) =>
  new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });

async function until(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

test("advisory-publisher - publishes events in order as JSON on the subject", async () => {
  const sent: [string, AdvisoryEvent][] = [];
  const { sleep } = instantSleep();
  const pub = new AdvisoryPublisher({
    subject: "sr.advisories",
    sleep,
    publish: async (subject, data) => {
      sent.push([subject, JSON.parse(data.toString()) as AdvisoryEvent]);
    },
  });
  assert.equal(pub.enqueue(event("a"), event("b")), true);
  pub.enqueue(event("c", "recover"));
  await until(() => sent.length === 3, "3 publishes");
  assert.deepEqual(sent, [
    ["sr.advisories", event("a")],
    ["sr.advisories", event("b")],
    ["sr.advisories", event("c", "recover")],
  ]);
  assert.equal(await pub.stop(1000), 0);
});

test("advisory-publisher - retries a failed publish with backoff, then succeeds", async () => {
  const { sleep, delays } = instantSleep();
  let calls = 0;
  const failures: number[] = [];
  const published: string[] = [];
  const dropped: string[] = [];
  const pub = new AdvisoryPublisher({
    subject: "s",
    sleep,
    initialDelayMs: 100,
    maxDelayMs: 1000,
    publish: async () => {
      if (++calls <= 4) throw new Error(`nope ${calls}`);
    },
    onAttemptFailed: (_e, _err, attempt) => failures.push(attempt),
    onPublished: (e) => published.push(e.value),
    onDropped: (e) => dropped.push(e.value),
  });
  pub.enqueue(event("a"));
  await until(() => published.length === 1, "publish");
  assert.equal(calls, 5);
  assert.deepEqual(failures, [1, 2, 3, 4]);
  assert.deepEqual(delays, [100, 200, 400, 800]);
  assert.deepEqual(dropped, []);
  await pub.stop(1000);
});

test("advisory-publisher - gives up after 10 attempts and calls onDropped, then carries on", async () => {
  const { sleep, delays } = instantSleep();
  const attempts = new Map<string, number>();
  const dropped: [string, unknown][] = [];
  const published: string[] = [];
  const pub = new AdvisoryPublisher({
    subject: "s",
    sleep,
    publish: async (_s, data) => {
      const v = (JSON.parse(data.toString()) as AdvisoryEvent).value;
      attempts.set(v, (attempts.get(v) ?? 0) + 1);
      if (v === "bad") throw new Error("target down");
    },
    onDropped: (e, err) => dropped.push([e.value, err]),
    onPublished: (e) => published.push(e.value),
  });
  pub.enqueue(event("bad"), event("good"));
  await until(() => published.length === 1, "the next event");
  assert.equal(attempts.get("bad"), 10);
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 5000, 5000, 5000, 5000, 5000]);
  assert.equal(dropped.length, 1);
  const [value, err] = dropped[0] ?? [];
  assert.equal(value, "bad");
  assert.ok(err instanceof ReplicatorError);
  assert.match(err.message, /after 10 attempts/);
  assert.equal((err.cause as Error).message, "target down");
  await pub.stop(1000);
});

test("advisory-publisher - a full queue drops new events through onDropped without blocking", async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const dropped: string[] = [];
  const published: string[] = [];
  const pub = new AdvisoryPublisher({
    subject: "s",
    maxQueue: 3,
    sleep: instantSleep().sleep,
    publish: () => gate,
    onDropped: (e, err) => dropped.push(`${e.value}:${(err as Error).message}`),
    onPublished: (e) => published.push(e.value),
  });
  assert.equal(pub.enqueue(event("1"), event("2"), event("3")), true);
  assert.equal(pub.enqueue(event("4")), false);
  assert.equal(pub.queued, 3);
  assert.deepEqual(dropped, ["4:advisory queue is full (3)"]);
  release();
  await until(() => published.length === 3, "queue drained");
  assert.deepEqual(published, ["1", "2", "3"]);
  assert.equal(pub.queued, 0);
  await pub.stop(1000);
});

test("advisory-publisher - hooks that throw do not stop the publisher", async () => {
  const published: string[] = [];
  const pub = new AdvisoryPublisher({
    subject: "s",
    sleep: instantSleep().sleep,
    publish: async () => undefined,
    onPublished: (e) => {
      published.push(e.value);
      throw new Error("bad hook");
    },
  });
  pub.enqueue(event("a"), event("b"));
  await until(() => published.length === 2, "both published");
  await pub.stop(1000);
});

test("advisory-publisher - stop waits for the queue to drain", async () => {
  const published: string[] = [];
  const pub = new AdvisoryPublisher({
    subject: "s",
    sleep: frozenSleep, // the stop deadline never passes on its own
    publish: () => new Promise((r) => setTimeout(r, 5)),
    onPublished: (e) => published.push(e.value),
  });
  pub.enqueue(event("a"), event("b"), event("c"));
  assert.equal(await pub.stop(60_000), 0);
  assert.deepEqual(published, ["a", "b", "c"]);
  const dropped: string[] = [];
  const after = new AdvisoryPublisher({
    subject: "s",
    publish: async () => undefined,
    onDropped: (e) => dropped.push(e.value),
  });
  await after.stop(0);
  assert.equal(after.enqueue(event("late")), false);
  assert.deepEqual(dropped, ["late"]);
});

test("advisory-publisher - stop gives up at its deadline and drops what is left, once each", async () => {
  const dropped: string[] = [];
  let deadline: () => void = () => undefined;
  const pub = new AdvisoryPublisher({
    subject: "s",
    // retries wait forever (until aborted); the stop deadline passes when the test says so
    sleep: (ms, signal) =>
      ms === 42_000 ? new Promise((r) => (deadline = r)) : frozenSleep(ms, signal),
    publish: async () => {
      throw new Error("down");
    },
    onDropped: (e) => dropped.push(e.value),
  });
  pub.enqueue(event("a"), event("b"), event("c"));
  await until(() => pub.queued === 3, "first attempt");
  const stopping = pub.stop(42_000);
  await new Promise((r) => setImmediate(r));
  deadline();
  assert.equal(await stopping, 3);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(dropped.sort(), ["a", "b", "c"]);
  assert.equal(pub.queued, 0);
});

test("advisory-publisher - backoff doubles from the initial delay up to the maximum", () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((a) => backoffDelayMs(a, 500, 5000)),
    [500, 1000, 2000, 4000, 5000, 5000],
  );
});
