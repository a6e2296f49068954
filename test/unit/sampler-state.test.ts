import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ConfigError } from "../../src/errors";
import { createTestLogger } from "../support/test-logger";
import type { TestLogger } from "../support/test-logger";
import { SamplerState } from "../../src/sampling/sampler-state";
import { stateFilePath } from "../../src/sampling/state-file";
import { TimeColumn } from "../../src/value-table/time-column";
import { ValueTable } from "../../src/value-table/value-table";
import { FakeClock } from "../support/fake-clock";

const AGE = 3_600_000;

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), "sr-sampler-state-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Setup {
  state: SamplerState;
  copied: TimeColumn;
  seen?: TimeColumn;
  log: TestLogger;
  saves: number[];
}

/** A state of topic "cmdb" over fresh columns (with an advisor column unless `advisor` is false). */
function setup(dir: string, clock: FakeClock, advisor = true): Setup {
  const table = new ValueTable({ columns: advisor ? 2 : 1 });
  const copied = new TimeColumn(table, 0);
  const seen = advisor ? new TimeColumn(table, 1) : undefined;
  const log = createTestLogger();
  const saves: number[] = [];
  const state = new SamplerState({
    dir,
    topic: "cmdb",
    inspect: "sender",
    ageMs: AGE,
    clock,
    log,
    copied,
    seen,
    onSaved: (seconds) => saves.push(seconds),
  });
  return { state, copied, seen, log, saves };
}

test("state - last-copied and last-seen times are saved in two files and loaded back", async (t) => {
  const dir = tempDir(t);
  const clock = new FakeClock();
  const first = setup(dir, clock);
  first.copied.set("a", clock.now() - 2_000);
  first.seen?.set("a", clock.now() - 1_000);
  first.seen?.set("b", clock.now());
  await first.state.save();
  assert.equal(first.state.file, stateFilePath(dir, "cmdb"));
  assert.equal(first.state.seenFile, stateFilePath(dir, "cmdb.advisor"));
  assert.equal(first.saves.length, 1);
  assert.ok(first.saves[0]! >= 0);

  const second = setup(dir, clock);
  await second.state.load();
  assert.deepEqual([...second.copied.entries()], [["a", clock.now() - 2_000]]);
  assert.deepEqual(
    [...(second.seen?.entries() ?? [])],
    [
      ["a", clock.now() - 1_000],
      ["b", clock.now()],
    ],
  );
  const loaded = second.log.find("limiter state loaded");
  assert.equal(loaded.length, 1);
  assert.equal(loaded[0]?.fields.restored, 1);
});

test("state - without an advisor only the limiter's file is written", async (t) => {
  const dir = tempDir(t);
  const clock = new FakeClock();
  const { state, copied } = setup(dir, clock, false);
  copied.set("a", clock.now());
  await state.save();
  assert.equal(state.seenFile, undefined);
  assert.ok(existsSync(stateFilePath(dir, "cmdb")));
  assert.ok(!existsSync(stateFilePath(dir, "cmdb.advisor")));
});

test("state - a missing limiter file (a first start) is an info line and leaves the columns empty", async (t) => {
  const dir = tempDir(t);
  const { state, copied, seen, log } = setup(dir, new FakeClock());
  await state.load();
  assert.equal(log.find("no limiter state yet, starting empty")[0]?.level, "info");
  assert.equal(log.find("limiter state not loaded, starting empty").length, 0);
  assert.equal(copied.size, 0);
  assert.equal(seen?.size, 0);
});

test("state - without an advisor file, last-seen times start from last-copied times", async (t) => {
  const dir = tempDir(t);
  const clock = new FakeClock();
  const before = setup(dir, clock, false);
  before.copied.set("a", clock.now() - 5_000);
  await before.state.save();

  const after = setup(dir, clock);
  await after.state.load();
  assert.deepEqual([...(after.seen?.entries() ?? [])], [["a", clock.now() - 5_000]]);
});

test("state - entries as old as the age are not loaded", async (t) => {
  const dir = tempDir(t);
  const clock = new FakeClock();
  const first = setup(dir, clock);
  first.copied.set("old", clock.now() - AGE);
  first.copied.set("new", clock.now() - AGE + 1);
  await first.state.save();

  const second = setup(dir, clock);
  await second.state.load();
  assert.deepEqual(
    [...second.copied.entries()].map(([v]) => v),
    ["new"],
  );
  assert.equal(second.log.find("limiter state loaded")[0]?.fields.stale, 1);
});

test("state - a save asked for while one runs joins it", async (t) => {
  const dir = tempDir(t);
  const { state, copied, saves } = setup(dir, new FakeClock());
  copied.set("a", 1);
  const one = state.save();
  const two = state.save();
  assert.equal(one, two);
  await one;
  assert.equal(saves.length, 1);
  await state.save();
  assert.equal(saves.length, 2);
});

test("state - a failed save is logged, never thrown", async (t) => {
  const dir = tempDir(t);
  const { state, copied, saves, log } = setup(path.join(dir, "gone"), new FakeClock());
  copied.set("a", 1);
  await state.save();
  assert.equal(saves.length, 0);
  assert.equal(log.find("limiter state not saved").length, 1);
});

test("state - load rejects with a ConfigError when the folder cannot be made", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, "a-file");
  writeFileSync(file, "");
  const { state } = setup(path.join(file, "state"), new FakeClock());
  await assert.rejects(state.load(), ConfigError);
});
