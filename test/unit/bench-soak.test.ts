import { test } from "node:test";
import assert from "node:assert/strict";
import type { RunningContender } from "../../bench/lib/contenders";
import { parseOptions } from "../../bench/lib/options";
import { scraper } from "../../bench/lib/soak";
import { longestBlock, summarizeRss, verifySoak } from "../../bench/lib/soak-summary";
import type { SoakCounts, SoakSample } from "../../bench/lib/soak-summary";

const MIN = 60_000;

test("soak options - --soak takes a Go duration; senders and the drain backlog get soak defaults", () => {
  const o = parseOptions(["--soak", "20m", "--max-load", "2"]);
  assert.equal(o.soakMs, 20 * MIN);
  assert.equal(o.restartEveryMs, 4 * MIN);
  assert.equal(o.senders, 100_000);
  assert.equal(o.count, 500_000);
  assert.equal(o.maxLoad, 2);
  const plain = parseOptions([]);
  assert.equal(plain.soakMs, undefined);
  assert.equal(plain.senders, 10_000);
  assert.equal(plain.count, 100_000);
  const own = parseOptions(["--soak", "2m", "--restart-every", "40s", "--senders", "5000"]);
  assert.equal(own.restartEveryMs, 40_000);
  assert.equal(own.senders, 5000);
  assert.throws(
    () => parseOptions(["--soak", "20 minutes"]),
    /--soak: "20 minutes" is not a duration/,
  );
  assert.throws(() => parseOptions(["--soak", "0"]), /--soak/);
  assert.throws(() => parseOptions(["--restart-every", "4"]), /--restart-every/);
  assert.throws(() => parseOptions(["--max-load", "-1"]), /--max-load/);
});

const samples = (rss: number[], lag: number[] = []): SoakSample[] =>
  rss.map((r, i) => ({ t: i * 30_000, rssMiB: r, eventLoopMaxMs: lag[i] }));

test("soak RSS - start is the first sample after the warm-up, middle halfway to the end, max over all", () => {
  // t = 0, 30, 60, 90, 120, 150, 180 s
  const s = summarizeRss(samples([150, 90, 100, 104, 101, 103, 102]), MIN);
  assert.ok(s);
  assert.deepEqual(s.start, { t: 60_000, rssMiB: 100 });
  assert.deepEqual(s.middle, { t: 120_000, rssMiB: 101 });
  assert.deepEqual(s.end, { t: 180_000, rssMiB: 102 });
  assert.deepEqual(s.max, { t: 0, rssMiB: 150 }, "the warm-up counts for the maximum");
  assert.equal(s.growthMiB, 2);
  assert.ok(s.slopeMiBPerMin !== undefined && Math.abs(s.slopeMiBPerMin - 0.6) < 1e-9);
});

test("soak RSS - steady growth shows in the slope; no summary without a sample after the warm-up", () => {
  const s = summarizeRss(samples([80, 80, 90, 100, 110]), MIN);
  assert.equal(s?.slopeMiBPerMin, 20);
  assert.equal(summarizeRss(samples([80]), MIN), undefined);
  assert.equal(summarizeRss([{ t: 70_000 }], MIN), undefined, "a sample without RSS");
});

test("soak event loop - the longest block and when it was seen", () => {
  assert.deepEqual(longestBlock(samples([1, 1, 1], [12, 170.5, 30])), { ms: 170.5, t: 30_000 });
  assert.equal(longestBlock(samples([1])), undefined);
});

const good: SoakCounts = {
  published: 1_000_000,
  sourceLastSeq: 1_000_000,
  durableDone: true,
  maxLag: 2_000,
  channelMaxMsgs: 5_000_000,
  perSample: 150_000,
  copied: 100_000,
  passed: 100_011,
  failed: 11,
  expected: 100_000,
  targetTotal: 100_003,
  targetDistinct: 100_000,
  missing: 0,
  unexpected: 0,
  outOfOrder: 0,
  exitCode: 0,
  stateSaved: true,
};

test("soak verification - OK when the source acked all, copied = passed - failed (passed again) and the target holds every copy", () => {
  assert.deepEqual(verifySoak(good), { ok: true, problems: [] });
});

test("soak verification - each way of losing or miscounting is a problem of its own", () => {
  const cases: Array<[Partial<SoakCounts>, RegExp]> = [
    [{ sourceLastSeq: 999_999 }, /last_seq 999999, 1000000 published/],
    [{ durableDone: false }, /durable did not acknowledge/],
    [{ maxLag: 4_900_000 }, /near the channel limit/],
    [{ copied: 99_999, targetTotal: 100_003 }, /copied 99999 != passed 100011 - failed 11/],
    [{ failed: 0 }, /copied 100000 != passed 100011 - failed 0/],
    [{ missing: 3, targetDistinct: 99_997 }, /3 of 100000 first messages/],
    [{ unexpected: 2 }, /2 messages on the target the limiter should have skipped/],
    [{ outOfOrder: 1 }, /1 first arrivals out of source order/],
    [{ targetTotal: 99_999, targetDistinct: 99_999, missing: 1 }, /target holds 99999 messages/],
    [{ exitCode: 1 }, /exited with 1/],
    [{ stateSaved: false }, /no limiter state file/],
  ];
  for (const [change, problem] of cases) {
    const v = verifySoak({ ...good, ...change });
    assert.equal(v.ok, false, JSON.stringify(change));
    assert.ok(
      v.problems.some((p) => problem.test(p)),
      `${JSON.stringify(change)}: ${v.problems.join("; ")}`,
    );
  }
});

test("soak event loop - a scrape between two samples (a restart being watched) does not lose its maximum", async () => {
  const lags = [0.02, 0.15, 0.03, undefined, 0.01];
  const metrics = scraper({
    child: {} as RunningContender["child"],
    metrics: async (): Promise<Record<string, number>> => {
      const v = lags.shift();
      return v === undefined ? {} : { nodejs_eventloop_lag_max_seconds: v };
    },
  });
  for (let i = 0; i < 3; i++) await metrics.read();
  assert.equal(metrics.takeLagMax(), 0.15);
  await metrics.read();
  assert.equal(metrics.takeLagMax(), undefined, "taken: nothing seen since");
  await metrics.read();
  assert.equal(metrics.takeLagMax(), 0.01);
});
