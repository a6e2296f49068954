/**
 * The per-topic sampling limiter: for each value of the `inspect` key, copy at most one message
 * per `ageMs`. One Limiter per topic, shared by all of the topic's workers in the process.
 *
 * A value counts as copied from the moment `decide()` returns `copy` with a ticket, so a second
 * message of the same value arriving while the first is still being published is skipped. The
 * caller settles every ticket exactly once: `confirm(ticket)` after the target acknowledged,
 * `release(ticket)` when the publish failed. Release undoes the claim (restores the previous
 * last-copied time, or forgets a value that was new) unless a newer claim for the same value has
 * been confirmed since; a release never clobbers a newer claim.
 *
 * Only last-copied times are kept here; "last seen" for advisories lives in the Advisor. The
 * times live in a TimeColumn (a compact table, not a Map) so a million senders cost tens of MB.
 */
import type { Clock } from "../clock";
import { ConfigError } from "../errors";
import { TimeColumn } from "../value-table/time-column";
import type { JsonPath } from "./json-path";
import { compilePath, parseObject, readFlag, stringAt } from "./json-path";

export interface LimiterOptions {
  /** Dotted path of the key whose value is limited, e.g. `sender` or `identity.fqdn`. */
  inspect: string;
  /** Dotted path of a flag that forces a copy when true (see readFlag). */
  updateFlag?: string;
  /** A value is copied at most once per this many milliseconds. */
  ageMs: number;
  clock: Clock;
  /** Where last-copied times are kept; a column of its own by default. TopicSampler passes a
   * column of a table shared with the Advisor, so each sender's name is stored once. */
  values?: TimeColumn;
}

export type CopyReason = "passed" | "update_flag" | "not_json" | "no_key";

/** Proof of a claim on a value; settle it with `confirm` or `release`. Opaque to callers. */
export interface Ticket {
  readonly value: string;
  /** When the claim was made (ms). */
  readonly at: number;
}

/** `value` and `ticket` are set together, whenever the inspect key was found. */
export interface CopyDecision {
  readonly action: "copy";
  readonly reason: CopyReason;
  readonly value?: string;
  readonly ticket?: Ticket;
}

export interface SkipDecision {
  readonly action: "skip";
  readonly value: string;
  /** When this value was last copied (ms). */
  readonly lastCopiedMs: number;
}

export type Decision = CopyDecision | SkipDecision;

/** An outstanding claim. Claims on one value form a chain, oldest to newest. */
class Claim implements Ticket {
  open = true;
  older: Claim | undefined;
  newer: Claim | undefined;
  constructor(
    readonly value: string,
    readonly at: number,
    /** The last-copied time before this claim; undefined when the value was not tracked. */
    public previous: number | undefined,
  ) {}
}

const COPY_NOT_JSON: CopyDecision = Object.freeze({ action: "copy", reason: "not_json" });
const COPY_NO_KEY: CopyDecision = Object.freeze({ action: "copy", reason: "no_key" });
const COPY_FLAG_NO_KEY: CopyDecision = Object.freeze({ action: "copy", reason: "update_flag" });

export class Limiter {
  readonly ageMs: number;
  private readonly inspect: JsonPath;
  private readonly updateFlag: JsonPath | undefined;
  private readonly clock: Clock;
  /** value → last-copied time (ms). Public for persistence (state-file.ts reads and fills it). */
  readonly copied: TimeColumn;
  /** value → newest unsettled claim. Small: bounded by the messages in flight. */
  private readonly pending = new Map<string, Claim>();

  constructor(options: LimiterOptions) {
    if (!(options.ageMs > 0)) {
      throw new ConfigError(
        `limiter age must be positive, got ${options.ageMs} ms`,
        undefined,
        undefined,
        "age",
      );
    }
    this.inspect = compilePath(options.inspect, "inspect");
    this.updateFlag =
      options.updateFlag === undefined ? undefined : compilePath(options.updateFlag, "update_flag");
    this.ageMs = options.ageMs;
    this.clock = options.clock;
    this.copied = options.values ?? new TimeColumn();
  }

  /** Decides whether to copy one message. Never throws on payload content. */
  decide(payload: Uint8Array): Decision {
    const obj = parseObject(payload);
    if (obj === undefined) return COPY_NOT_JSON;
    const value = stringAt(obj, this.inspect);
    const now = this.clock.now();

    if (this.updateFlag !== undefined && readFlag(obj, this.updateFlag)) {
      if (value === undefined) return COPY_FLAG_NO_KEY;
      return { action: "copy", reason: "update_flag", value, ticket: this.claim(value, now) };
    }
    if (value === undefined) return COPY_NO_KEY;

    const last = this.copied.get(value);
    if (last !== undefined && now - last < this.ageMs) {
      return { action: "skip", value, lastCopiedMs: last };
    }
    return { action: "copy", reason: "passed", value, ticket: this.claim(value, now) };
  }

  /** The publish of the ticket's message succeeded: its claim stands. No-op when undefined. */
  confirm(ticket: Ticket | undefined): void {
    if (!(ticket instanceof Claim) || !ticket.open) return;
    ticket.open = false;
    // Older unsettled claims can no longer roll the value back behind this one.
    for (let o = ticket.older; o !== undefined;) {
      const next: Claim | undefined = o.older;
      o.open = false;
      o.older = o.newer = undefined;
      o = next;
    }
    if (ticket.newer !== undefined) ticket.newer.older = undefined;
    else this.pending.delete(ticket.value);
    ticket.older = ticket.newer = undefined;
  }

  /** The publish failed: undo the claim so the next message of the value is copied. */
  release(ticket: Ticket | undefined): void {
    if (!(ticket instanceof Claim) || !ticket.open) return;
    ticket.open = false;
    const { older, newer } = ticket;
    if (newer !== undefined) {
      // A newer claim stands; it now falls back to what this claim fell back to.
      newer.previous = ticket.previous;
      newer.older = older;
      if (older !== undefined) older.newer = newer;
    } else {
      if (ticket.previous === undefined) this.copied.delete(ticket.value);
      else this.copied.set(ticket.value, ticket.previous);
      if (older !== undefined) {
        older.newer = undefined;
        this.pending.set(ticket.value, older);
      } else {
        this.pending.delete(ticket.value);
      }
    }
    ticket.older = ticket.newer = undefined;
  }

  /**
   * Forgets values last copied `ageMs` or more ago (they would pass anyway). Also abandons
   * unsettled claims that old, so a caller that loses tickets cannot grow memory. Returns the
   * number of values removed. O(size): run it every minute or so, not per message.
   */
  scrub(): number {
    const cutoff = this.clock.now() - this.ageMs;
    const removed = this.copied.removeUpTo(cutoff);
    for (const [value, claim] of this.pending) {
      if (claim.at <= cutoff) {
        for (let c: Claim | undefined = claim; c !== undefined; c = c.older) c.open = false;
        this.pending.delete(value);
      }
    }
    return removed;
  }

  /** Number of values tracked. */
  get size(): number {
    return this.copied.size;
  }

  /** Unsettled tickets, for diagnostics. */
  get pendingValues(): number {
    return this.pending.size;
  }

  /** Last-copied time of one value, if tracked. */
  lastCopied(value: string): number | undefined {
    return this.copied.get(value);
  }

  /**
   * Live view of `[value, lastCopiedMs]`. Safe to consume across event-loop turns while decide()
   * runs: entries deleted meanwhile are skipped, entries added are visited. Saving passes
   * `copied` itself, which writes bytes without making a string per value.
   */
  entries(): IterableIterator<[string, number]> {
    return this.copied.entries();
  }

  /**
   * Loads persisted entries. Entries last copied `ageMs` or more before `now` are dropped; times
   * in the future (clock skew) are clamped to `now`; an existing newer time wins. Returns the
   * number of entries kept.
   */
  restore(entries: Iterable<readonly [string, number]>, now = this.clock.now()): number {
    const cutoff = now - this.ageMs;
    let kept = 0;
    for (const [value, at] of entries) {
      if (typeof value !== "string" || !Number.isFinite(at) || at <= cutoff) continue;
      this.copied.restore(value, Math.min(at, now));
      kept++;
    }
    return kept;
  }

  private claim(value: string, now: number): Claim {
    const claim = new Claim(value, now, this.copied.get(value));
    const newest = this.pending.get(value);
    if (newest !== undefined) {
      claim.older = newest;
      newest.newer = claim;
    }
    this.pending.set(value, claim);
    this.copied.set(value, now);
    return claim;
  }
}
