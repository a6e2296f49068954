/**
 * The per-message copy step of one worker session, with many messages in flight.
 *
 * Every message goes: limiter -> publish to the target -> (target acknowledged) -> ack on the
 * source. The source is never acknowledged before the target has acknowledged.
 *
 * Ordered mode keeps up to `maxInFlight` publishes in flight and still keeps the order of first
 * arrivals on the target equal to the source order. Why (README, "Ordered mode"):
 *  1. The source delivers one subscription's messages in sequence order; they are published in
 *     that order on one target connection, and the target stores what it receives in that
 *     order.
 *  2. Acks to the source are cumulative: a message is acknowledged only when it and every
 *     message before it in the window are on the target. The source only ever forgets a prefix.
 *  3. On the first failure the pipeline halts: nothing more is published, the successful
 *     prefix is acknowledged, and the worker drops both sessions. The durable then redelivers
 *     everything from the failed message on, in order. Messages after it that reached the
 *     target arrive again: duplicates (counted), not reordered first arrivals, PROVIDED that
 *     no message published after a lost one was stored (the "no gap" condition).
 *  4. A connection alone does not give "no gap": a clustered target drops publishes silently
 *     while no node serves the channel (a leader election), then stores the later ones once
 *     the new leader is there. Three rules keep the gap from being filled out of order:
 *     a. A publish nobody received fails at once: the NATS server answers it with a `503`
 *        no-responders status (src/stan/session.ts), and the pipeline halts on the first
 *        failure. A leader gone with its connections closed (crash, kill -9, restart) is
 *        seen one round trip after the first dropped publish, while an election takes seconds.
 *     b. Publishing pauses while the oldest unacknowledged publish is older than `pauseAfterMs`
 *        (`publish_pause_after`), and resumes only when it is acknowledged. A leader gone
 *        without closing its connections (power loss, partition, a hung process) gives no
 *        503; its publishes then vanish until the new leader subscribes, an election later.
 *        The pause stops publishing well before that. While publishes are in flight and
 *        none at all was acknowledged for `stallAfterMs`, they are presumed lost: the
 *        pipeline halts as on a failure, without waiting for `publish_timeout`, so copying
 *        resumes about one `stallAfterMs` after the election.
 *        Presuming wrongly (a target alive but silent that long) costs duplicates, not order:
 *        the retries go out on a new connection after everything already sent.
 *     c. A session starts with a window of one: the first publish must be acknowledged before
 *        the next goes out, so a session opened while the cluster is unsettled loses at most
 *        that one message ahead of later ones.
 *     What remains: a gap shorter than one round trip (interest for the channel vanishing and
 *     coming back within a round trip), or, for (b), an election faster than `pauseAfterMs`.
 *  5. A message the target would reject for good (larger than its max payload) is never sent,
 *     so it cannot leave a gap behind later ones; the topic stalls on it instead.
 *
 * Queued mode uses the same step without ordering (and without rules b and c): each message is
 * acknowledged as soon as its own publish succeeded.
 */
import { PublishError, errorText } from "../errors";
import type { PublishFailureReason } from "../errors";
import type { ReplicationObserver } from "./observer";
import type { InboundMessage, SampleDecision, Sampler, TargetSession } from "./ports";
import type { RangeSet } from "./range-set";
import { StallWatch } from "./stall-watch";
import type { SetTimer } from "./stall-watch";

export interface PipelineOptions {
  worker: number;
  ordered: boolean;
  /** Target channel. */
  subject: string;
  target: TargetSession;
  sampler?: Sampler;
  observer: ReplicationObserver;
  /** Sequences the target already has but the source was not told about (shared per topic). */
  copiedUnacked: Set<number>;
  /** Sequences this worker acknowledged on the source, in this and earlier sessions. */
  acked: RangeSet;
  /** Ordered: a message arrived after a later one; it is copied, out of order but not lost. */
  onLate(sequence: number, highestSeen: number): void;
  /** Ordered: no new publish while the oldest unacknowledged one is older than this. */
  pauseAfterMs: number;
  /** Ordered: publishes in flight with none acknowledged for this long are presumed lost. */
  stallAfterMs: number;
  /** The stall watch's timer (tests pass a fake clock). */
  setTimer?: SetTimer;
  /** True while the topic is stalled on a rejected message: accept nothing. */
  isStalled(): boolean;
  /** A retriable failure: the worker resets its sessions. Called at most once. */
  onFailure(err: PublishError): void;
  /** A message the target rejects for good: the topic stalls. */
  onRejected(sequence: number, reason: string): void;
  now(): number;
}

type EntryState = "pending" | "done" | "failed";
interface Entry {
  msg: InboundMessage;
  state: EntryState;
  startedMs: number;
  /** Its publish went out (not held back, not skipped), at `publishedMs`. */
  published: boolean;
  publishedMs: number;
  decision: SampleDecision;
  /** Set when the target would refuse it for good: the topic stalls when its turn comes. */
  refusal?: string;
}

/** The decision without a sampler: one shared object, not one per message. */
const COPY_ALL: SampleDecision = { copy: true, reason: "passed" };

/** Largest set of copied-but-unacked sequences we remember for duplicate counting. */
const COPIED_UNACKED_LIMIT = 100_000;

export class Pipeline {
  /** Unacknowledged messages by sequence; a Map iterates in insertion (= delivery) order. */
  private readonly window = new Map<number, Entry>();
  /** Ordered: messages to copy that wait for rules b and c, in order; read from `heldAt`. */
  private held: Entry[] = [];
  private heldAt = 0;
  /** Publishes sent and not settled. */
  private inflight = 0;
  /** Rule c: until the first publish of this session is acknowledged. */
  private probing: boolean;
  private paused = false;
  /** Ordered: rule b's second half. */
  private readonly stallWatch?: StallWatch;
  private halted = false;
  private failed = false;
  /** Highest sequence seen in this session (-1: none yet). */
  private highestSeen = -1;
  private drainWaiters: Array<() => void> = [];

  constructor(private readonly o: PipelineOptions) {
    this.probing = o.ordered;
    if (o.ordered) {
      this.stallWatch = new StallWatch({
        stallAfterMs: o.stallAfterMs,
        now: o.now,
        ...(o.setTimer ? { setTimer: o.setTimer } : {}),
        inflight: () => ({
          count: this.inflight,
          oldestPublishedMs: this.oldestInflight()?.publishedMs,
        }),
        onStall: (quietFor, count) => {
          o.observer.publishFailed(o.worker, "timeout");
          this.fail(
            new PublishError(
              `no publish acknowledged for ${quietFor} ms with ${count} in flight: presumed lost`,
              "timeout",
            ),
          );
        },
      });
    }
  }

  /** Messages delivered and not yet acknowledged on the source. */
  get size(): number {
    return this.window.size;
  }

  /** Start time of the oldest message not yet acknowledged, or undefined. */
  oldestStartedMs(): number | undefined {
    for (const entry of this.window.values()) return entry.startedMs;
    return undefined;
  }

  accept(msg: InboundMessage): void {
    if (this.halted || this.o.isStalled()) return; // not acked: redelivered after resubscribe
    if (this.window.has(msg.sequence)) return; // redelivery of a message still in flight
    const { worker, observer } = this.o;
    observer.received(worker, msg.data.length, msg.sequence, msg.redelivered);
    if (this.o.acked.has(msg.sequence)) {
      this.ack(msg); // copied (or skipped) and acked before, but the ack was lost: confirm again
      return;
    }
    // A source in a leader election may deliver a message after later ones; it was never
    // copied, so it is copied now: out of order, but not lost.
    if (this.o.ordered && msg.sequence <= this.highestSeen) {
      observer.lateDelivery(worker);
      this.o.onLate(msg.sequence, this.highestSeen);
    } else this.highestSeen = msg.sequence;

    const now = this.o.now();
    const decision = this.o.sampler ? this.o.sampler.decide(msg.data) : COPY_ALL;
    const entry: Entry = {
      msg,
      state: "pending",
      startedMs: now,
      published: false,
      publishedMs: 0,
      decision,
    };
    this.window.set(msg.sequence, entry);
    if (!decision.copy) {
      observer.skipped(worker);
      this.settle(entry, "done");
      return;
    }
    if (this.o.sampler) observer.passed(worker, decision.reason);

    const maxPayload = this.o.target.maxPayloadFor(this.o.subject);
    if (msg.data.length > maxPayload) {
      entry.refusal = `payload of ${msg.data.length} bytes exceeds the ${maxPayload} bytes the target accepts on this channel`;
    }
    if (this.heldAt < this.held.length || (entry.refusal === undefined && this.mustHold(now))) {
      this.held.push(entry); // behind earlier ones: it stalls the topic only when its turn comes
    } else if (entry.refusal !== undefined) this.refuse(entry, entry.refusal);
    else this.publish(entry, now);
  }

  /** Rule 5: a message the target refuses for good is not sent; the topic stalls on it. */
  private refuse(entry: Entry, reason: string): void {
    if (entry.decision.copy) entry.decision.release?.();
    this.halted = true;
    this.o.observer.publishFailed(this.o.worker, "rejected");
    this.o.onRejected(entry.msg.sequence, reason);
    this.settle(entry, "failed");
  }

  /** Stop publishing new messages; what is in flight still settles. */
  halt(): void {
    this.halted = true;
    this.stallWatch?.stop();
  }

  /** Resolves when no publish is in flight any more, or after `timeoutMs`. */
  drained(timeoutMs: number): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * The session is over: remember which unacknowledged messages the target already has, so
   * their second copy is counted as a duplicate when the source redelivers them.
   */
  abandon(): void {
    this.halt();
    if (this.o.copiedUnacked.size > COPIED_UNACKED_LIMIT) this.o.copiedUnacked.clear();
    for (const [sequence, entry] of this.window) {
      if (entry.state === "done" && entry.published) this.o.copiedUnacked.add(sequence);
    }
    this.window.clear();
    this.held = [];
    this.heldAt = 0;
  }

  /** Rules b and c of the ordering argument: may nothing more go out right now? */
  private mustHold(now: number): boolean {
    if (!this.o.ordered) return false;
    if (this.inflight === 0) {
      this.paused = false;
      return false;
    }
    const oldest = this.oldestInflight();
    const late = oldest !== undefined && now - oldest.publishedMs > this.o.pauseAfterMs;
    if (late && !this.paused) this.o.observer.publishPaused(this.o.worker);
    this.paused = late;
    return this.probing || late;
  }

  /** Ordered: the window's head is the oldest message not acknowledged. */
  private oldestInflight(): Entry | undefined {
    for (const entry of this.window.values()) {
      return entry.state === "pending" && entry.published ? entry : undefined;
    }
    return undefined;
  }

  private publish(entry: Entry, now: number): void {
    const { worker, observer } = this.o;
    const { msg, decision } = entry;
    entry.published = true;
    entry.publishedMs = now;
    this.inflight++;
    this.stallWatch?.published(now);
    if (this.o.copiedUnacked.delete(msg.sequence)) observer.duplicate(worker);
    this.o.target.publish(this.o.subject, msg.data, msg).then(
      (outcome) => {
        if (outcome === "duplicate") observer.duplicateSuppressed(worker);
        if (decision.copy) decision.confirm?.();
        const at = this.o.now();
        observer.copied(worker, msg.data.length, at - msg.timestampMs, at - entry.startedMs);
        this.stallWatch?.acknowledged(at);
        this.probing = false;
        this.inflight--;
        this.settle(entry, "done");
        this.releaseHeld();
      },
      (err: unknown) => {
        if (decision.copy) decision.release?.();
        const reason: PublishFailureReason = err instanceof PublishError ? err.reason : "error";
        observer.publishFailed(worker, reason);
        this.inflight--;
        if (reason === "rejected") {
          // Refused for good (rule 5): the topic stalls on it; a retry cannot fix it.
          this.halted = true;
          this.o.onRejected(msg.sequence, errorText(err));
        }
        this.settle(entry, "failed");
        if (reason !== "rejected") {
          this.fail(err instanceof PublishError ? err : new PublishError(errorText(err), reason));
        }
      },
    );
  }

  /** Publishes held messages, in order, for as long as the rules allow. */
  private releaseHeld(): void {
    while (this.heldAt < this.held.length && !this.halted) {
      const now = this.o.now();
      if (this.mustHold(now)) return;
      const entry = this.held[this.heldAt++];
      if (entry?.refusal !== undefined) return this.refuse(entry, entry.refusal);
      if (entry !== undefined) this.publish(entry, now);
    }
    this.held = [];
    this.heldAt = 0;
  }

  private fail(err: PublishError): void {
    this.halt();
    if (this.failed) return;
    this.failed = true;
    this.o.onFailure(err);
  }

  private settle(entry: Entry, state: "done" | "failed"): void {
    entry.state = state;
    if (this.o.ordered) this.ackPrefix();
    else if (state === "done") {
      this.window.delete(entry.msg.sequence);
      this.ack(entry.msg);
    }
    if (this.inflight === 0) for (const wake of this.drainWaiters.splice(0)) wake();
  }

  private ack(msg: InboundMessage): void {
    if (msg.ack()) this.o.acked.add(msg.sequence);
    else this.o.observer.ackFailed(this.o.worker);
  }

  /** Ordered mode: acknowledge the longest run of finished messages at the head. */
  private ackPrefix(): void {
    // values(), not entries(): no [key, value] pair allocated per step.
    for (const entry of this.window.values()) {
      if (entry.state !== "done") return;
      this.window.delete(entry.msg.sequence);
      this.ack(entry.msg);
    }
  }
}
