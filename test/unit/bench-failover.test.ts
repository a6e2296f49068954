import { test } from "node:test";
import assert from "node:assert/strict";
import { analyseFailover, median } from "../../bench/lib/failover-analysis";
import type { StoredMessage } from "../../bench/lib/failover-analysis";
import { parseFailoverOptions } from "../../bench/lib/failover-options";
import { waitForQuietMachine } from "../../bench/lib/load-wait";

/** live-0 … live-(n-1) stored 10 ms apart from `at`, sequences from `seq`. */
const stored = (keys: number[], at: number, seq = 1): StoredMessage[] =>
  keys.map((k, i) => ({ seq: seq + i, key: `live-${k}`, timestamp: at + i * 10 }));

const FAULT = { faultAt: 1_000, deadAt: 1_005 };

test("failover analysis - the stall ends with the first message the target stored after the old leader died", () => {
  const source = stored([0, 1, 2, 3, 4, 5], 900);
  // live-0..2 before the kill, then nothing until 4,200 ms: a stall of 3,200 ms.
  const target = [...stored([0, 1, 2], 950), ...stored([3, 4, 5], 4_200, 4)];
  const polls = [
    { at: 2_000, lastSeq: 3 },
    { at: 4_190, lastSeq: 3 },
    { at: 4_215, lastSeq: 5 },
  ];
  const f = analyseFailover(source, target, FAULT, polls);
  assert.equal(f.stallMs, 3_200);
  assert.equal(f.polledStallMs, 3_215);
  assert.equal(f.lost, 0);
  assert.equal(f.duplicates, 0);
  assert.equal(f.disorder, undefined);
});

test("failover analysis - a message the old leader received before its death and the new one committed ends no stall", () => {
  // live-3 carries the old leader's store time (before the death) although it appeared later.
  const target = [...stored([0, 1, 2, 3], 950), ...stored([4], 3_000, 5)];
  const polls = [
    { at: 2_500, lastSeq: 4 },
    { at: 3_010, lastSeq: 5 },
  ];
  const f = analyseFailover(stored([0, 1, 2, 3, 4], 900), target, FAULT, polls);
  assert.equal(f.stallMs, 2_000);
  assert.equal(f.polledStallMs, 2_010, "the poll that saw seq 4 saw nothing new");
});

test("failover analysis - first arrivals out of source order, lost messages and duplicates are reported", () => {
  const source = stored([0, 1, 2, 3, 4], 900);
  // A gap (live-2 dropped in the election) filled later: live-3 arrived before live-2.
  const target = [...stored([0, 1], 950), ...stored([3, 2, 3], 2_000, 3)];
  const f = analyseFailover(source, target, FAULT, []);
  assert.equal(f.lost, 1, "live-4 never arrived");
  assert.equal(f.duplicates, 1);
  assert.equal(f.disorder?.lateArrivals, 1);
  assert.equal(f.polledStallMs, undefined, "no poll");
});

test("failover analysis - no stall figure when nothing was stored after the death", () => {
  const f = analyseFailover(stored([0], 900), stored([0], 950), FAULT, []);
  assert.equal(f.stallMs, undefined);
  assert.equal(f.polledStallMs, undefined);
});

test("failover median - odd and even counts, missing values left out", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, undefined, 1, 3, 2]), 2.5);
  assert.equal(median([undefined]), undefined);
});

test("failover options - defaults: both scenarios, 100 and 2000 msg/s, 3 runs, no load wait", () => {
  const o = parseFailoverOptions([]);
  assert.deepEqual(o.scenarios, ["kill", "stop"]);
  assert.deepEqual(o.rates, [100, 2000]);
  assert.equal(o.runs, 3);
  assert.equal(o.maxLoad, undefined);
  assert.equal(o.dirs.length, 1);
});

test("failover options - repeated --replicator-dir, lists and every error", () => {
  const o = parseFailoverOptions([
    "--replicator-dir",
    "/tmp/a",
    "--replicator-dir",
    "/tmp/b",
    "--scenarios",
    "stop",
    "--rates",
    "500",
    "--max-load",
    "2",
  ]);
  assert.deepEqual(o.dirs, ["/tmp/a", "/tmp/b"]);
  assert.deepEqual(o.scenarios, ["stop"]);
  assert.deepEqual(o.rates, [500]);
  assert.equal(o.maxLoad, 2);
  assert.throws(() => parseFailoverOptions(["--scenarios", "pause"]), /--scenarios: "pause"/);
  assert.throws(() => parseFailoverOptions(["--rates", "0"]), /--rates/);
  assert.throws(() => parseFailoverOptions(["--runs", "x"]), /--runs/);
  assert.throws(() => parseFailoverOptions(["--soak", "1m"]), /soak/);
});

test("load wait - measures at once on a quiet machine, polls every minute otherwise", async () => {
  let clock = 0;
  const loads = [3.1, 2.4, 1.9];
  const sleeps: number[] = [];
  const w = await waitForQuietMachine({
    maxLoad: 2,
    loadavg: () => loads.shift() ?? 0,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    now: () => clock,
  });
  assert.deepEqual(sleeps, [60_000, 60_000]);
  assert.deepEqual(w, { load: 1.9, waitedMs: 120_000, quiet: true, maxLoad: 2 });
});

test("load wait - gives up after 20 minutes and says the machine was not quiet", async () => {
  let clock = 0;
  const lines: string[] = [];
  const w = await waitForQuietMachine({
    maxLoad: 2,
    loadavg: () => 5,
    sleep: async (ms) => {
      clock += ms;
    },
    now: () => clock,
    log: (l) => lines.push(l),
  });
  assert.equal(w.quiet, false);
  assert.equal(w.waitedMs, 20 * 60_000);
  assert.match(lines.at(-1) ?? "", /measuring anyway/);
});
