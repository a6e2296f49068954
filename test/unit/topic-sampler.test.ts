import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { TopicConfig } from "../../src/config/types";
import { createTestLogger } from "../support/test-logger";
import { TopicSampler } from "../../src/sampling/topic-sampler";
import type { TopicSamplerOptions } from "../../src/sampling/topic-sampler";
import { stateFilePath } from "../../src/sampling/state-file";
import { FakeClock } from "../support/fake-clock";
import { FakeTimers } from "../support/fake-timers";

const AGE = 3_600_000;

const topic = {
  key: "cmdb",
  name: "cmdb",
  inspect: "sender",
  ageMs: AGE,
  advisory: { target: "adv", cluster: "target", ageMs: 60_000 },
} as TopicConfig;

function sampling(
  stateDir: string | undefined,
  clock: FakeClock,
  options: Partial<TopicSamplerOptions> = {},
): TopicSampler {
  return new TopicSampler({
    topic,
    stateDir,
    saveIntervalMs: 3_600_000,
    clock,
    log: createTestLogger(),
    hooks: { tracked: () => {}, saved: () => {}, advisory: () => {}, advisoryFailed: () => {} },
    publishAdvisory: async () => {},
    ...options,
  });
}

const from = (sender: string): Buffer => Buffer.from(JSON.stringify({ sender }));

/** The values in a state file, in order. */
function saved(file: string): string[] {
  const lines = readFileSync(file, "utf8").trimEnd().split("\n").slice(1, -1);
  return lines.map((l) => (JSON.parse(l) as [string, number])[0]);
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), "sr-sampling-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("sampling - limiter and advisor state survive a restart, each in its own file", async (t) => {
  const dir = tempDir(t);
  const clock = new FakeClock();
  const first = sampling(dir, clock);
  await first.start();
  for (const s of ["a", "b", "a", "c"]) {
    const d = first.sampler.decide(from(s));
    if (d.copy) d.confirm?.();
  }
  const skipped = first.sampler.decide(from("b"));
  assert.equal(skipped.copy, false);
  await first.stop(100);
  assert.deepEqual(saved(stateFilePath(dir, "cmdb")), ["a", "b", "c"]);
  assert.deepEqual(saved(stateFilePath(dir, "cmdb.advisor")), ["a", "b", "c"]);

  clock.advance(1000);
  const second = sampling(dir, clock);
  await second.start();
  assert.equal(second.limiter.size, 3);
  assert.equal(second.limiter.lastCopied("b"), clock.now() - 1000);
  assert.equal(second.sampler.decide(from("c")).copy, false);
  assert.equal(second.sampler.decide(from("d")).copy, true);
  await second.stop(100);
});

test("sampling - without an advisor file, last-seen times start from last-copied times", async (t) => {
  const dir = tempDir(t);
  const clock = new FakeClock();
  const first = sampling(dir, clock);
  await first.start();
  for (const s of ["x", "y"]) {
    const d = first.sampler.decide(from(s));
    if (d.copy) d.confirm?.();
  }
  await first.stop(100);
  unlinkSync(stateFilePath(dir, "cmdb.advisor"));

  const second = sampling(dir, clock);
  await second.start();
  await second.save();
  assert.deepEqual(saved(stateFilePath(dir, "cmdb.advisor")), ["x", "y"]);
  await second.stop(100);
});

/** Resolves once `done()` holds; rejects after a second. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 1_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test("sampling - scrubs, checks and saves on timers; saves only with a state folder", async (t) => {
  const clock = new FakeClock();
  const without = new FakeTimers(clock);
  const plain = sampling(undefined, clock, { repeat: without.repeat });
  await plain.start();
  // scrub: a quarter of the age, at most 60 s; advisory check: a quarter of its age.
  assert.deepEqual(without.periods, [60_000, 15_000]);
  await plain.stop(100);
  assert.deepEqual(without.periods, []);

  const timers = new FakeTimers(clock);
  const saving = sampling(tempDir(t), clock, { repeat: timers.repeat });
  await saving.start();
  assert.deepEqual(timers.periods, [3_600_000, 60_000, 15_000]);
  await saving.stop(100);
  assert.deepEqual(timers.periods, []);
});

test("sampling - a sender quiet for the advisory age gets a timeout on the check timer", async () => {
  const clock = new FakeClock();
  const timers = new FakeTimers(clock);
  const published: { subject: string; event: string; value: string }[] = [];
  const advisories: string[] = [];
  const s = sampling(undefined, clock, {
    repeat: timers.repeat,
    publishAdvisory: async (subject, data) => {
      const e = JSON.parse(data.toString()) as { event: string; value: string };
      published.push({ subject, event: e.event, value: e.value });
    },
    hooks: {
      tracked: () => {},
      saved: () => {},
      advisory: (event) => advisories.push(event),
      advisoryFailed: () => {},
    },
  });
  await s.start();
  s.sampler.decide(from("a"));
  timers.advance(45_000);
  assert.deepEqual(published, []);
  timers.advance(15_000);
  await until(() => published.length === 1);
  assert.deepEqual(published, [{ subject: "adv", event: "timeout", value: "a" }]);
  s.sampler.decide(from("a"));
  await until(() => published.length === 2);
  assert.deepEqual(published[1], { subject: "adv", event: "recover", value: "a" });
  assert.deepEqual(advisories, ["timeout", "recover"]);
  await s.stop(100);
});

test("sampling - the scrub timer forgets values past the age and reports the count", async () => {
  const clock = new FakeClock();
  const timers = new FakeTimers(clock);
  const tracked: number[] = [];
  const s = sampling(undefined, clock, {
    repeat: timers.repeat,
    hooks: {
      tracked: (count) => tracked.push(count),
      saved: () => {},
      advisory: () => {},
      advisoryFailed: () => {},
    },
  });
  await s.start();
  for (const sender of ["a", "b"]) {
    const d = s.sampler.decide(from(sender));
    if (d.copy) d.confirm?.();
  }
  timers.advance(60_000);
  assert.equal(tracked.at(-1), 2);
  timers.advance(AGE);
  assert.equal(s.limiter.size, 0);
  assert.equal(tracked.at(-1), 0);
  await s.stop(100);
});
