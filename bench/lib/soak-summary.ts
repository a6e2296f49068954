/**
 * The soak's figures from its samples and end counts (pure; bench/lib/soak.ts gathers them):
 * resident memory after the warm-up (start, middle, end, max, and its slope), the longest
 * event-loop block, and the checks that nothing was lost.
 */

/** One sample every 10 s while the live traffic runs. */
export interface SoakSample {
  /** ms since the live traffic started. */
  t: number;
  /** The replicator's VmRSS, MiB. */
  rssMiB?: number;
  /** nodejs_eventloop_lag_max_seconds: the longest event-loop delay since the previous
   * sample (prom-client resets it at every scrape), ms. */
  eventLoopMaxMs?: number;
  copied?: number;
  received?: number;
  passed?: number;
  tracked?: number;
  stateSaves?: number;
  /** Source channel last_seq and what the durable has not acknowledged yet. */
  sourceLastSeq?: number;
  lag?: number;
  healthy?: boolean;
}

export interface RssPoint {
  t: number;
  rssMiB: number;
}

export interface RssSummary {
  /** First sample after the warm-up. */
  start: RssPoint;
  /** The sample nearest halfway between start and end. */
  middle: RssPoint;
  /** Last sample. */
  end: RssPoint;
  /** Highest sample, warm-up included. */
  max: RssPoint;
  /** end − start. */
  growthMiB: number;
  /** Least-squares slope after the warm-up, MiB per minute. */
  slopeMiBPerMin?: number;
}

const points = (samples: readonly SoakSample[]): RssPoint[] =>
  samples.flatMap((s) => (s.rssMiB === undefined ? [] : [{ t: s.t, rssMiB: s.rssMiB }]));

export function summarizeRss(
  samples: readonly SoakSample[],
  warmupMs: number,
): RssSummary | undefined {
  const all = points(samples);
  const after = all.filter((p) => p.t >= warmupMs);
  const start = after[0];
  const end = after[after.length - 1];
  if (!start || !end) return undefined;
  const half = (start.t + end.t) / 2;
  const middle = after.reduce((best, p) =>
    Math.abs(p.t - half) < Math.abs(best.t - half) ? p : best,
  );
  const max = all.reduce((best, p) => (p.rssMiB > best.rssMiB ? p : best));
  return {
    start,
    middle,
    end,
    max,
    growthMiB: end.rssMiB - start.rssMiB,
    slopeMiBPerMin: slope(after),
  };
}

function slope(ps: readonly RssPoint[]): number | undefined {
  if (ps.length < 2) return undefined;
  const n = ps.length;
  const mt = ps.reduce((a, p) => a + p.t, 0) / n;
  const mr = ps.reduce((a, p) => a + p.rssMiB, 0) / n;
  const num = ps.reduce((a, p) => a + (p.t - mt) * (p.rssMiB - mr), 0);
  const den = ps.reduce((a, p) => a + (p.t - mt) ** 2, 0);
  return den === 0 ? undefined : (num / den) * 60_000;
}

/** The longest event-loop block seen, and when. */
export function longestBlock(
  samples: readonly SoakSample[],
): { ms: number; t: number } | undefined {
  let best: { ms: number; t: number } | undefined;
  for (const s of samples) {
    if (s.eventLoopMaxMs !== undefined && (!best || s.eventLoopMaxMs > best.ms)) {
      best = { ms: s.eventLoopMaxMs, t: s.t };
    }
  }
  return best;
}

/** What the end of the soak found, on the source, in the replicator and on the target. */
export interface SoakCounts {
  /** Acknowledged by the source to the load generator. */
  published: number;
  sourceLastSeq: number;
  /** The durable sent everything up to last_seq and has nothing unacknowledged. */
  durableDone: boolean;
  /** The highest lag sampled, and how many messages the source channel keeps at most. */
  maxLag: number;
  channelMaxMsgs: number;
  /** Messages that can be published between two samples. */
  perSample: number;
  copied: number;
  passed: number;
  /** Publishes that failed (a target restart): their messages were passed again, once more. */
  failed: number;
  /** Distinct messages the limiter should have passed: the first of each sender. */
  expected: number;
  targetTotal: number;
  targetDistinct: number;
  missing: number;
  /** On the target and not the first message of its sender. */
  unexpected: number;
  outOfOrder: number;
  exitCode: number | null | undefined;
  stateSaved: boolean;
}

export interface SoakVerdict {
  ok: boolean;
  problems: string[];
}

export function verifySoak(c: SoakCounts): SoakVerdict {
  const problems: string[] = [];
  const fail = (bad: boolean, text: string): void => {
    if (bad) problems.push(text);
  };
  fail(
    c.sourceLastSeq !== c.published,
    `source last_seq ${c.sourceLastSeq}, ${c.published} published`,
  );
  fail(!c.durableDone, "the source durable did not acknowledge everything");
  fail(
    c.maxLag + c.perSample >= c.channelMaxMsgs,
    `lag ${c.maxLag} came near the channel limit ${c.channelMaxMsgs}: messages may have been discarded unread`,
  );
  fail(
    c.copied !== c.passed - c.failed,
    `copied ${c.copied} != passed ${c.passed} - failed ${c.failed}`,
  );
  fail(c.missing > 0, `${c.missing} of ${c.expected} first messages of a sender not on the target`);
  fail(c.unexpected > 0, `${c.unexpected} messages on the target the limiter should have skipped`);
  fail(c.outOfOrder > 0, `${c.outOfOrder} first arrivals out of source order`);
  fail(
    c.targetDistinct !== c.expected,
    `target holds ${c.targetDistinct} distinct messages, ${c.expected} expected`,
  );
  fail(
    c.targetTotal < c.copied,
    `target holds ${c.targetTotal} messages, the replicator copied ${c.copied}`,
  );
  fail(c.exitCode !== 0, `the replicator exited with ${String(c.exitCode)} on SIGTERM`);
  fail(!c.stateSaved, "no limiter state file at the end");
  return { ok: problems.length === 0, problems };
}
