import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { TopicConfig } from "../../src/config/types";
import { createTestLogger } from "../../src/logging/logger";
import { TopicSampling } from "../../src/limiter/sampling";
import { stateFilePath } from "../../src/limiter/state-file";
import { FakeClock } from "../support/fake-clock";

const AGE = 3_600_000;

const topic = {
  key: "cmdb",
  name: "cmdb",
  inspect: "sender",
  ageMs: AGE,
  advisory: { target: "adv", cluster: "target", ageMs: 60_000 },
} as TopicConfig;

function sampling(stateDir: string, clock: FakeClock): TopicSampling {
  return new TopicSampling({
    topic,
    stateDir,
    saveIntervalMs: 3_600_000,
    clock,
    log: createTestLogger(),
    hooks: { tracked: () => {}, saved: () => {}, advisory: () => {}, advisoryFailed: () => {} },
    publishAdvisory: async () => {},
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
