/**
 * Age advisories: tells an aggregator when a value of the inspect key (a sender) went quiet,
 * came back, or is forgotten. Pure timing logic; publishing is AdvisoryPublisher's job.
 *
 * Life of a value:
 *   seen() ──(not seen for advisoryAgeMs)──▶ timeout ──(seen again)──▶ recover (back to seen)
 *                                               └──(not seen for expireAgeMs)──▶ expire (forgotten)
 *
 * Events depend only on the seen() timeline, not on how often check() runs:
 * - check() emits what is due: `timeout` once per absence, `expire` (always preceded by that
 *   absence's `timeout`, in the same batch if both became due since the last check).
 * - seen() returns events immediately: `recover` for a value that had its timeout; and, if check()
 *   was late and the value is already past a deadline, the events check() would have emitted
 *   (`timeout`, or `timeout` + `expire` after which the value starts afresh without `recover`).
 *   It returns a shared empty array in the common case, so per-message cost is one table lookup.
 * Last-seen times live in a TimeColumn (its mark: timed out), compact enough for a million
 * senders; TopicSampler shares its table with the Limiter so each name is stored once.
 * When advisoryAgeMs >= expireAgeMs, timeout and expire come together at expireAgeMs.
 */
import type { Clock } from "../clock";
import { TimeColumn } from "../value-table/time-column";

export const AGE_ADVISORY_SCHEMA = "https://choria.io/schemas/sr/v1/age_advisory.json";

export type AdvisoryEventType = "timeout" | "recover" | "expire";

/** The published JSON document (field names are the wire format). */
export interface AdvisoryEvent {
  $schema: typeof AGE_ADVISORY_SCHEMA;
  inspect: string;
  value: string;
  /** Whole seconds since last seen: `timestamp - seen`. */
  age: number;
  /** Unix seconds of last seen. */
  seen: number;
  /** Unix seconds when the event was made. */
  timestamp: number;
  /** The topic name. */
  replicator: string;
  event: AdvisoryEventType;
}

export interface AdvisorOptions {
  inspect: string;
  /** Not seen for this long → `timeout`. */
  advisoryAgeMs: number;
  /** Not seen for this long → `expire` and forgotten: the topic's age. May be Infinity. */
  expireAgeMs: number;
  /** Topic name, the `replicator` field. */
  replicator: string;
  clock: Clock;
  /** Where last-seen times are kept; a column of its own by default. */
  values?: TimeColumn;
}

const NONE: readonly AdvisoryEvent[] = Object.freeze([]);

export const DEFAULT_CHECK_INTERVAL_MS = 30_000;
const MIN_CHECK_INTERVAL_MS = 1_000;

/**
 * How often to call check(): 30 s, or a quarter of the shorter age when that is smaller, but at
 * least 1 s. An explicit interval wins.
 */
export function checkIntervalMs(
  advisoryAgeMs: number,
  expireAgeMs: number,
  explicit?: number,
): number {
  if (explicit !== undefined) return explicit;
  const quarter = Math.floor(Math.min(advisoryAgeMs, expireAgeMs) / 4);
  return Math.max(MIN_CHECK_INTERVAL_MS, Math.min(DEFAULT_CHECK_INTERVAL_MS, quarter));
}

export class Advisor {
  private readonly inspect: string;
  private readonly advisoryAgeMs: number;
  private readonly expireAgeMs: number;
  private readonly replicator: string;
  private readonly clock: Clock;
  /** value → last seen (ms), marked while the value had its `timeout` and was not seen since.
   * Public for persistence (state-file.ts reads and fills it). */
  readonly lastSeen: TimeColumn;

  constructor(options: AdvisorOptions) {
    if (!(options.advisoryAgeMs > 0) || !(options.expireAgeMs > 0)) {
      throw new RangeError("advisor ages must be positive");
    }
    this.inspect = options.inspect;
    this.advisoryAgeMs = options.advisoryAgeMs;
    this.expireAgeMs = options.expireAgeMs;
    this.replicator = options.replicator;
    this.clock = options.clock;
    this.lastSeen = options.values ?? new TimeColumn();
  }

  /** Records that `value` was seen now; returns events to publish (usually none). */
  seen(value: string): readonly AdvisoryEvent[] {
    const now = this.clock.now();
    const last = this.lastSeen.get(value);
    this.lastSeen.set(value, now);
    if (last === undefined) return NONE;

    if (this.lastSeen.setMark(value, false)) {
      if (now - last < this.expireAgeMs) return [this.event(value, last, now, "recover")];
      return [this.event(value, last, now, "expire")];
    }
    const absent = now - last;
    if (absent < this.advisoryAgeMs && absent < this.expireAgeMs) return NONE;
    // check() was late: report the absence it missed.
    const timeout = this.event(value, last, now, "timeout");
    if (absent >= this.expireAgeMs) return [timeout, this.event(value, last, now, "expire")];
    return [timeout, this.event(value, last, now, "recover")];
  }

  /** Events due now, in order. Each value's timeout precedes its expire. O(size). */
  check(): AdvisoryEvent[] {
    const now = this.clock.now();
    const events: AdvisoryEvent[] = [];
    const seen = this.lastSeen;
    // By index: the value's string is only made for the few values that get an event.
    for (let e = seen.next(-1); e >= 0; e = seen.next(e)) {
      const last = seen.timeAt(e);
      const absent = now - last;
      if (absent >= this.expireAgeMs) {
        const value = seen.valueAt(e);
        if (!seen.markedAt(e)) events.push(this.event(value, last, now, "timeout"));
        events.push(this.event(value, last, now, "expire"));
        seen.deleteAt(e);
      } else if (absent >= this.advisoryAgeMs && !seen.markedAt(e)) {
        seen.markAt(e, true);
        events.push(this.event(seen.valueAt(e), last, now, "timeout"));
      }
    }
    seen.tidy();
    return events;
  }

  /** Values tracked. */
  get size(): number {
    return this.lastSeen.size;
  }

  /** Values currently timed out (had `timeout`, not yet recovered or expired). */
  get timedOutCount(): number {
    return this.lastSeen.marks;
  }

  /** Live view of `[value, lastSeenMs]` for persistence (see Limiter.entries). */
  entries(): IterableIterator<[string, number]> {
    return this.lastSeen.entries();
  }

  /**
   * Loads persisted last-seen times. Entries `expireAgeMs` or more old are dropped silently; future
   * times are clamped to `now`; a newer existing time wins. Whether a timeout was already sent is
   * not persisted, so a value absent for longer than advisoryAgeMs gets its timeout (again) at the
   * next check(). Returns the number kept.
   */
  restore(entries: Iterable<readonly [string, number]>, now = this.clock.now()): number {
    let kept = 0;
    for (const [value, at] of entries) {
      if (typeof value !== "string" || !Number.isFinite(at) || now - at >= this.expireAgeMs)
        continue;
      this.lastSeen.restore(value, Math.min(at, now));
      kept++;
    }
    return kept;
  }

  private event(value: string, last: number, now: number, event: AdvisoryEventType): AdvisoryEvent {
    const seen = Math.floor(last / 1000);
    const timestamp = Math.floor(now / 1000);
    return {
      $schema: AGE_ADVISORY_SCHEMA,
      inspect: this.inspect,
      value,
      age: timestamp - seen,
      seen,
      timestamp,
      replicator: this.replicator,
      event,
    };
  }
}
