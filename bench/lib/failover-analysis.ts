/**
 * The failover figures from what the servers stored (pure; bench/failover.ts gathers the input).
 *
 * Times are the harness's clock in ms; store times are the servers' own message timestamps,
 * on the same machine and clock. A message on the target whose store time is after the old
 * leader's death can only have been stored by the new leader: it marks the end of the stall.
 */
import { findDisorder } from "../../test/support/cluster-scenario";

export interface StoredMessage {
  seq: number;
  /** The payload as text (the paced publisher's `live-N`). */
  key: string;
  /** Store time on that server, ms. */
  timestamp: number;
}

/** The new leader's channel last_seq, polled every 10 ms after the fault. */
export interface PollSample {
  at: number;
  lastSeq: number;
}

export interface FaultTimes {
  /** When the signal was sent. */
  faultAt: number;
  /** When the old leader was seen dead (exited, or stopped in /proc). */
  deadAt: number;
}

export interface FailoverFigures {
  /** Fault → the first message the target stored after the old leader died (store time). */
  stallMs?: number;
  /** Fault → the first poll of the new leader's last_seq beyond the last message stored before
   * the death: the same stall seen by polling (10 ms resolution, plus the poll's own time). */
  polledStallMs?: number;
  /** Source messages never copied. */
  lost: number;
  /** Copies beyond the first of each message. */
  duplicates: number;
  /** Target first arrivals out of source order; undefined when in order. */
  disorder?: { lateArrivals: number; firstAt: number; around: string };
  sourceMessages: number;
  targetMessages: number;
}

/** Payloads in the order of their first arrival. */
export function firstArrivals(messages: readonly StoredMessage[]): StoredMessage[] {
  const seen = new Set<string>();
  const out: StoredMessage[] = [];
  for (const m of messages) {
    if (seen.has(m.key)) continue;
    seen.add(m.key);
    out.push(m);
  }
  return out;
}

export function analyseFailover(
  source: readonly StoredMessage[],
  target: readonly StoredMessage[],
  t: FaultTimes,
  polls: readonly PollSample[],
): FailoverFigures {
  const sourceFirst = firstArrivals(source);
  const targetFirst = firstArrivals(target);
  const onTarget = new Set(targetFirst.map((m) => m.key));

  const firstAfter = target.find((m) => m.timestamp > t.deadAt);
  const lastBeforeSeq = target.reduce(
    (n, m) => (m.timestamp <= t.deadAt ? Math.max(n, m.seq) : n),
    0,
  );
  const polled = polls.find((p) => p.lastSeq > lastBeforeSeq);

  return {
    stallMs: firstAfter ? firstAfter.timestamp - t.faultAt : undefined,
    polledStallMs: firstAfter && polled ? polled.at - t.faultAt : undefined,
    lost: sourceFirst.filter((m) => !onTarget.has(m.key)).length,
    duplicates: target.length - targetFirst.length,
    disorder: findDisorder(
      targetFirst.map((m) => m.key),
      sourceFirst.map((m) => m.key),
    ),
    sourceMessages: source.length,
    targetMessages: target.length,
  };
}

export function median(values: readonly (number | undefined)[]): number | undefined {
  const v = values.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid] : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}
