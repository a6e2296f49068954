import { test } from "node:test";
import assert from "node:assert/strict";
import { Pipeline } from "../../src/replicator/pipeline";
import { RangeSet } from "../../src/replicator/range-set";
import type { PipelineOptions } from "../../src/replicator/pipeline";
import { nullObserver } from "../../src/replicator/observer";
import type { ReplicationObserver } from "../../src/replicator/observer";
import { PublishError } from "../../src/errors";
import type {
  InboundMessage,
  PublishOutcome,
  Sampler,
  TargetSession,
} from "../../src/replicator/ports";

/** A target whose publishes stay pending until the test settles them. */
class FakeTarget implements TargetSession {
  readonly ended = new Promise<never>(() => undefined);
  maxPayloadFor(): number {
    return 1000;
  }
  readonly published: Array<{
    data: string;
    resolve: (outcome?: PublishOutcome) => void;
    reject: (e: unknown) => void;
  }> = [];
  publish(_subject: string, data: Buffer): Promise<PublishOutcome> {
    return new Promise((resolve, reject) => {
      this.published.push({
        data: data.toString(),
        resolve: (outcome = "stored") => resolve(outcome),
        reject,
      });
    });
  }
  async close(): Promise<void> {}
}

function message(sequence: number, acks: number[], data = `m${sequence}`): InboundMessage {
  return {
    sequence,
    data: Buffer.from(data),
    timestampMs: 0,
    redelivered: false,
    ack: () => acks.push(sequence) > 0,
  };
}

/** Timers the test fires by hand. */
class FakeTimers {
  readonly armed: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
  readonly setTimer = (fn: () => void, ms: number): (() => void) => {
    const timer = { fn, ms, cancelled: false };
    this.armed.push(timer);
    return () => void (timer.cancelled = true);
  };
  /** Fires every armed, uncancelled timer once (timers they arm wait for the next call). */
  fire(): void {
    for (const timer of this.armed.splice(0)) if (!timer.cancelled) timer.fn();
  }
  get pending(): number {
    return this.armed.filter((t) => !t.cancelled).length;
  }
}

function setup(overrides: Partial<PipelineOptions> = {}) {
  const target = new FakeTarget();
  const timers = new FakeTimers();
  const failures: PublishError[] = [];
  const rejected: number[] = [];
  const copiedUnacked = new Set<number>();
  const late: number[] = [];
  const pipeline = new Pipeline({
    worker: 0,
    ordered: true,
    subject: "out",
    target,
    observer: nullObserver,
    copiedUnacked,
    isStalled: () => false,
    acked: new RangeSet(),
    onLate: (seq) => late.push(seq),
    pauseAfterMs: 500,
    stallAfterMs: 1_000,
    setTimer: timers.setTimer,
    onFailure: (e) => failures.push(e),
    onRejected: (seq) => rejected.push(seq),
    now: () => 0,
    ...overrides,
  });
  return { target, failures, rejected, pipeline, copiedUnacked, late, timers };
}

const flush = () => new Promise((r) => setImmediate(r));

/**
 * An ordered pipeline past its window of one (rule c): a first message (sequence 0) was
 * published and acknowledged, and is no longer in `target.published`.
 */
async function ready(overrides: Partial<PipelineOptions> = {}) {
  const s = setup(overrides);
  if (overrides.ordered !== false) {
    s.pipeline.accept(message(0, []));
    s.target.published[0]!.resolve();
    await flush();
    s.target.published.length = 0;
  }
  return s;
}

test("ordered - publishes many messages before any target ack (pipelined)", async () => {
  const { target, pipeline } = await ready();
  const acks: number[] = [];
  for (let i = 1; i <= 50; i++) pipeline.accept(message(i, acks));
  assert.equal(target.published.length, 50);
  assert.deepEqual(
    target.published.map((p) => p.data),
    Array.from({ length: 50 }, (_, i) => `m${i + 1}`),
  );
  assert.deepEqual(acks, []);
});

test("ordered - acknowledges the source only after the target, and only a contiguous prefix", async () => {
  const { target, pipeline } = await ready();
  const acks: number[] = [];
  for (let i = 1; i <= 4; i++) pipeline.accept(message(i, acks));
  target.published[1]!.resolve();
  target.published[2]!.resolve();
  await flush();
  assert.deepEqual(acks, [], "2 and 3 are on the target, but 1 is not yet");
  target.published[0]!.resolve();
  await flush();
  assert.deepEqual(acks, [1, 2, 3]);
  target.published[3]!.resolve();
  await flush();
  assert.deepEqual(acks, [1, 2, 3, 4]);
  assert.equal(pipeline.size, 0);
});

test("ordered - a failure halts publishing, acks nothing after the failed message, reports once", async () => {
  const { target, pipeline, failures, copiedUnacked } = await ready();
  const acks: number[] = [];
  for (let i = 1; i <= 4; i++) pipeline.accept(message(i, acks));
  target.published[0]!.resolve();
  target.published[1]!.reject(new PublishError("publish ack timeout", "timeout"));
  target.published[2]!.resolve();
  target.published[3]!.reject(new PublishError("closed", "connection_closed"));
  await flush();
  pipeline.accept(message(5, acks));
  assert.equal(target.published.length, 4, "nothing is published after a failure");
  assert.deepEqual(acks, [1]);
  assert.equal(failures.length, 1);
  assert.equal(failures[0]!.reason, "timeout");
  await pipeline.drained(100);
  pipeline.abandon();
  assert.deepEqual([...copiedUnacked], [3], "3 reached the target without a source ack");
});

test("ordered - a redelivery of an acked message is acked again, one in flight is ignored", async () => {
  const { target, pipeline } = await ready();
  const acks: number[] = [];
  pipeline.accept(message(1, acks));
  pipeline.accept(message(2, acks));
  target.published[0]!.resolve();
  await flush();
  pipeline.accept(message(1, acks)); // ack was lost: re-ack without publishing
  pipeline.accept(message(2, acks)); // still in flight: ignore
  assert.equal(target.published.length, 2);
  assert.deepEqual(acks, [1, 1]);
});

test("ordered - a payload larger than the target accepts stalls without publishing it or anything after", async () => {
  const { target, pipeline, rejected, failures } = setup();
  const acks: number[] = [];
  pipeline.accept(message(1, acks));
  pipeline.accept(message(2, acks, "x".repeat(2000)));
  pipeline.accept(message(3, acks));
  target.published[0]!.resolve();
  await flush();
  assert.deepEqual(rejected, [2]);
  assert.equal(target.published.length, 1);
  assert.deepEqual(acks, [1]);
  assert.equal(failures.length, 0, "a rejection stalls; it does not reset the session");
});

test("queued - each message is acked as soon as its own publish succeeded", async () => {
  const { target, pipeline } = setup({ ordered: false });
  const acks: number[] = [];
  for (let i = 1; i <= 3; i++) pipeline.accept(message(i, acks));
  target.published[2]!.resolve();
  await flush();
  assert.deepEqual(acks, [3]);
  target.published[0]!.resolve();
  await flush();
  assert.deepEqual(acks, [3, 1]);
});

test("limiter - a skipped message is acked without publishing; a failed publish releases its claim", async () => {
  const released: number[] = [];
  const confirmed: number[] = [];
  let n = 0;
  const sampler: Sampler = {
    decide: () => {
      const id = ++n;
      return id === 2
        ? { copy: false }
        : {
            copy: true,
            reason: "passed",
            release: () => released.push(id),
            confirm: () => confirmed.push(id),
          };
    },
  };
  const { target, pipeline } = setup({ sampler });
  const acks: number[] = [];
  for (let i = 1; i <= 3; i++) pipeline.accept(message(i, acks));
  assert.equal(target.published.length, 1, "2 is skipped, 3 waits for the first ack");
  target.published[0]!.resolve();
  await flush();
  assert.equal(target.published.length, 2);
  target.published[1]!.reject(new PublishError("x", "timeout"));
  await flush();
  assert.deepEqual(acks, [1, 2]);
  assert.deepEqual(confirmed, [1]);
  assert.deepEqual(released, [3]);
});

test("observer - counts received, copied, skipped, duplicates", async () => {
  const counts: Record<string, number> = {};
  const bump = (k: string) => () => void (counts[k] = (counts[k] ?? 0) + 1);
  const observer: ReplicationObserver = {
    ...nullObserver,
    received: bump("received"),
    copied: bump("copied"),
    duplicate: bump("duplicate"),
  };
  const { target, pipeline, copiedUnacked } = setup({ observer });
  copiedUnacked.add(1);
  const acks: number[] = [];
  pipeline.accept(message(1, acks));
  target.published[0]!.resolve();
  await flush();
  assert.deepEqual(counts, { received: 1, copied: 1, duplicate: 1 });
  assert.equal(copiedUnacked.size, 0);
});

test("drained - resolves once every publish settled", async () => {
  const { target, pipeline } = setup();
  const acks: number[] = [];
  pipeline.accept(message(1, acks));
  let done = false;
  const p = pipeline.drained(10_000).then(() => (done = true));
  await flush();
  assert.equal(done, false);
  target.published[0]!.resolve();
  await p;
  assert.equal(done, true);
});

test("ordered - a session starts with a window of one: the second publish waits for the first ack", async () => {
  const { target, pipeline } = setup();
  const acks: number[] = [];
  for (let i = 1; i <= 5; i++) pipeline.accept(message(i, acks));
  assert.deepEqual(
    target.published.map((p) => p.data),
    ["m1"],
  );
  target.published[0]!.resolve();
  await flush();
  assert.deepEqual(
    target.published.map((p) => p.data),
    ["m1", "m2", "m3", "m4", "m5"],
    "the rest goes out at once, in order",
  );
  assert.deepEqual(acks, [1]);
});

test("ordered - when the first publish fails nothing else is published and nothing is acked", async () => {
  const { target, pipeline, failures } = setup();
  const acks: number[] = [];
  for (let i = 1; i <= 3; i++) pipeline.accept(message(i, acks));
  target.published[0]!.reject(new PublishError("no responders", "no_responders"));
  await flush();
  assert.equal(target.published.length, 1);
  assert.deepEqual(acks, []);
  assert.equal(failures[0]?.reason, "no_responders");
  await pipeline.drained(100);
});

test("ordered - pauses while the oldest publish is unacked longer than pauseAfterMs, resumes in order on its ack", async () => {
  let now = 0;
  let pauses = 0;
  const observer: ReplicationObserver = { ...nullObserver, publishPaused: () => void pauses++ };
  const { target, pipeline } = await ready({ now: () => now, observer, pauseAfterMs: 500 });
  const acks: number[] = [];
  pipeline.accept(message(1, acks)); // published at 0
  now = 400;
  pipeline.accept(message(2, acks)); // 1 is 400 ms old: still publishing
  now = 501;
  pipeline.accept(message(3, acks)); // 1 is 501 ms old: paused
  pipeline.accept(message(4, acks));
  assert.deepEqual(
    target.published.map((p) => p.data),
    ["m1", "m2"],
  );
  assert.equal(pauses, 1, "one pause, however many messages wait");
  target.published[0]!.resolve(); // 1 acked: 2 (published at 400) is now the oldest, 101 ms old
  await flush();
  assert.deepEqual(
    target.published.map((p) => p.data),
    ["m1", "m2", "m3", "m4"],
  );
  assert.deepEqual(acks, [1]);
});

test("ordered - a pause that ends in a failure publishes nothing more", async () => {
  let now = 0;
  const { target, pipeline, failures } = await ready({ now: () => now });
  const acks: number[] = [];
  pipeline.accept(message(1, acks));
  now = 1_000;
  pipeline.accept(message(2, acks));
  target.published[0]!.reject(new PublishError("publish ack timeout", "timeout"));
  await flush();
  assert.equal(target.published.length, 1);
  assert.equal(failures.length, 1);
  pipeline.abandon();
  assert.equal(pipeline.size, 0);
});

test("ordered - nothing acknowledged for stallAfterMs with publishes in flight: fails then, not at the publish timeout", async () => {
  let now = 0;
  const { target, pipeline, failures, timers } = await ready({ now: () => now });
  const acks: number[] = [];
  now = 100;
  pipeline.accept(message(1, acks)); // published at 100; the last ack was at 0
  assert.equal(timers.pending, 1);
  assert.equal(timers.armed[0]!.ms, 1_000, "1 s after the publish of 1, the later sign of life");
  now = 650;
  pipeline.accept(message(2, acks)); // 1 is 550 ms old: paused, 2 held
  now = 1_100;
  timers.fire();
  assert.equal(failures.length, 1);
  assert.equal(failures[0]!.reason, "timeout");
  assert.match(failures[0]!.message, /no publish acknowledged for 1000 ms with 1 in flight/);
  assert.deepEqual(
    target.published.map((p) => p.data),
    ["m1"],
    "2 is never published on this session",
  );
  assert.equal(timers.pending, 0);
});

test("ordered - a full window with nothing held back is presumed lost too", async () => {
  let now = 0;
  const { pipeline, failures, timers } = await ready({ now: () => now });
  for (let i = 1; i <= 3; i++) pipeline.accept(message(i, [])); // the source sends no more
  now = 1_000;
  timers.fire();
  assert.match(failures[0]?.message ?? "", /with 3 in flight/);
});

test("ordered - a slow target that acknowledges something is not presumed lost", async () => {
  let now = 0;
  const { target, pipeline, failures, timers } = await ready({ now: () => now });
  const acks: number[] = [];
  pipeline.accept(message(1, acks)); // published at 0
  now = 100;
  pipeline.accept(message(2, acks));
  now = 600;
  pipeline.accept(message(3, acks)); // 1 is 600 ms old: paused, 3 held
  now = 900;
  target.published[0]!.resolve(); // 1 acked at 900; 2 (from 100) is 800 ms old: still paused
  await flush();
  assert.equal(target.published.length, 2);
  now = 1_000;
  timers.fire(); // quiet for only 100 ms: watches on
  assert.deepEqual(failures, []);
  assert.equal(timers.pending, 1);
  assert.equal(timers.armed[0]!.ms, 900);
  target.published[1]!.resolve();
  await flush();
  assert.deepEqual(
    target.published.map((p) => p.data),
    ["m1", "m2", "m3"],
  );
  assert.deepEqual(acks, [1, 2]);
  target.published[2]!.resolve();
  await flush();
  timers.fire(); // nothing in flight: the watch ends
  assert.equal(timers.pending, 0);
  assert.deepEqual(failures, []);
});

test("ordered - the session's first publish unanswered for stallAfterMs fails", async () => {
  let now = 0;
  const { target, pipeline, failures, timers } = setup({ now: () => now });
  const acks: number[] = [];
  pipeline.accept(message(1, acks)); // window of one
  pipeline.accept(message(2, acks));
  assert.equal(target.published.length, 1);
  now = 1_000;
  timers.fire();
  assert.equal(failures[0]?.reason, "timeout");
  pipeline.halt();
  assert.equal(target.published.length, 1);
});

test("queued - no stall timer: the publish timeout alone applies", async () => {
  const { pipeline, timers } = setup({ ordered: false });
  pipeline.accept(message(1, []));
  assert.equal(timers.pending, 0);
});

test("queued - no window of one and no pause: every message is published at once", async () => {
  let now = 0;
  const { target, pipeline } = setup({ ordered: false, now: () => now });
  const acks: number[] = [];
  pipeline.accept(message(1, acks));
  now = 10_000;
  pipeline.accept(message(2, acks));
  pipeline.accept(message(3, acks));
  assert.equal(target.published.length, 3);
});

test("ordered - a payload too large behind held messages stalls only once they are published", async () => {
  const { target, pipeline, rejected } = setup();
  const acks: number[] = [];
  pipeline.accept(message(1, acks)); // the session's first publish: the rest waits for its ack
  pipeline.accept(message(2, acks));
  pipeline.accept(message(3, acks, "x".repeat(2000)));
  pipeline.accept(message(4, acks));
  assert.deepEqual(rejected, [], "not yet: 2 comes before it");
  target.published[0]!.resolve();
  await flush();
  assert.deepEqual(
    target.published.map((p) => p.data),
    ["m1", "m2"],
  );
  assert.deepEqual(rejected, [3]);
  target.published[1]!.resolve();
  await flush();
  assert.deepEqual(acks, [1, 2], "everything before the refused message is copied and acked");
});

test("ordered - a message acked in an earlier session and delivered again is acked, not copied again", async () => {
  const acked = new RangeSet();
  const first = await ready({ acked });
  const acks: number[] = [];
  first.pipeline.accept(message(1, acks));
  first.target.published[0]!.resolve();
  await flush();
  first.pipeline.abandon();
  const second = setup({ acked }); // a new session: the source redelivers 1 (its ack was lost)
  second.pipeline.accept(message(1, acks));
  second.pipeline.accept(message(2, acks));
  assert.deepEqual(
    second.target.published.map((p) => p.data),
    ["m2"],
  );
  assert.deepEqual(acks, [1, 1]);
});

test("ordered - a message delivered after a later one is copied late, not dropped, and reported", async () => {
  const { target, pipeline, late } = await ready();
  const acks: number[] = [];
  pipeline.accept(message(5, acks));
  pipeline.accept(message(6, acks));
  pipeline.accept(message(4, acks)); // never seen in this session: a source election delivered it late
  assert.deepEqual(
    target.published.map((p) => p.data),
    ["m5", "m6", "m4"],
  );
  assert.deepEqual(late, [4]);
  for (const p of target.published) p.resolve();
  await flush();
  assert.deepEqual(acks, [5, 6, 4]);
});
