import { test } from "node:test";
import assert from "node:assert/strict";
import { SamplerTimers, scrubIntervalMs } from "../../src/sampling/sampler-timers";
import { FakeClock } from "../support/fake-clock";
import { FakeTimers } from "../support/fake-timers";

function setup(jobs: { save?: number; check?: number } = { save: 10_000, check: 3_000 }) {
  const timers = new FakeTimers(new FakeClock());
  const runs = { save: 0, scrub: 0, check: 0 };
  const job = (name: keyof typeof runs, everyMs: number) => ({
    everyMs,
    run: () => void runs[name]++,
  });
  const work = new SamplerTimers({
    save: jobs.save === undefined ? undefined : job("save", jobs.save),
    scrub: job("scrub", 1_000),
    check: jobs.check === undefined ? undefined : job("check", jobs.check),
    repeat: timers.repeat,
  });
  return { timers, runs, work };
}

test("timers - scrub runs every quarter of the age, at least every 60 s and at most every 1 s", () => {
  assert.equal(scrubIntervalMs(100_000), 25_000);
  assert.equal(scrubIntervalMs(3_600_000), 60_000);
  assert.equal(scrubIntervalMs(2_000), 1_000);
  assert.equal(scrubIntervalMs(4_000), 1_000);
});

test("timers - nothing runs before start", () => {
  const { timers, runs, work } = setup();
  timers.advance(60_000);
  assert.deepEqual(runs, { save: 0, scrub: 0, check: 0 });
  assert.equal(work.running, false);
});

test("timers - each job runs on its own interval from start until stop", () => {
  const { timers, runs, work } = setup();
  work.start();
  assert.deepEqual(timers.periods, [10_000, 1_000, 3_000]);
  timers.advance(10_000);
  assert.deepEqual(runs, { save: 1, scrub: 10, check: 3 });
  work.stop();
  assert.equal(work.running, false);
  assert.deepEqual(timers.periods, []);
  timers.advance(60_000);
  assert.deepEqual(runs, { save: 1, scrub: 10, check: 3 });
});

test("timers - jobs not given are not scheduled", () => {
  const { timers, runs, work } = setup({});
  work.start();
  assert.deepEqual(timers.periods, [1_000]);
  timers.advance(5_000);
  assert.deepEqual(runs, { save: 0, scrub: 5, check: 0 });
  work.stop();
});

test("timers - a second start does not double the intervals; start after stop runs them again", () => {
  const { timers, runs, work } = setup({});
  work.start();
  work.start();
  timers.advance(2_000);
  assert.equal(runs.scrub, 2);
  work.stop();
  work.stop();
  work.start();
  timers.advance(2_000);
  assert.equal(runs.scrub, 4);
  work.stop();
});
