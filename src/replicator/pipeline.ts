/**
 * The per-message copy step of one worker session, with many messages in flight.
 *
 * Every message goes: limiter -> publish to the target -> (target acknowledged) -> ack on the
 * source. The source is never acknowledged before the target has acknowledged.
 *
 * Ordered mode keeps up to `maxInFlight` publishes in flight and still keeps order:
 *  1. The source delivers one subscription's messages in sequence order, and we publish them
 *     in that order on one target connection, which the target stores in that order. So as
 *     long as nothing fails, first arrivals on the target follow the source order.
 *  2. Acks to the source are cumulative: a message is acknowledged only when it and every
 *     message before it in the window are on the target. The source therefore only ever
 *     forgets a prefix of what it delivered.
 *  3. On the first failure the pipeline halts: nothing more is published, the successful
 *     prefix is acknowledged, and the worker drops both sessions. Re-subscribing the durable
 *     makes the source redeliver every unacknowledged message from the failed one onward, in
 *     order. Messages after the failed one that did reach the target arrive again: they are
 *     duplicates (counted), never reordered first arrivals, because the target connection
 *     is FIFO and has no transparent reconnect (src/stan/session.ts): if a message did not
 *     reach the target, nothing published after it on that connection did either.
 *  4. A message the target would reject for good (larger than its max payload) is never
 *     sent, so it cannot leave a gap behind later ones; the topic stalls on it instead.
 *
 * Queued mode uses the same step without the ordering: each message is acknowledged as soon
 * as its own publish succeeded.
 */
import { PublishError, errorText } from "../errors";
import type { PublishFailureReason } from "../errors";
import type { ReplicationObserver } from "./observer";
import type { InboundMessage, SampleDecision, Sampler, TargetSession } from "./ports";

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
}

/** The decision without a sampler: one shared object, not one per message. */
const COPY_ALL: SampleDecision = { copy: true, reason: "passed" };

/** Largest set of copied-but-unacked sequences we remember for duplicate counting. */
const COPIED_UNACKED_LIMIT = 100_000;

export class Pipeline {
  /** In-flight messages by sequence; a Map iterates in insertion (= delivery) order. */
  private readonly window = new Map<number, Entry>();
  private pending = 0;
  private halted = false;
  private failed = false;
  private highestSeen = 0;
  private drainWaiters: Array<() => void> = [];

  constructor(private readonly o: PipelineOptions) {}

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
    if (this.o.ordered && msg.sequence <= this.highestSeen) {
      this.ack(msg); // copied and acked before, but the ack was lost: confirm it again
      return;
    }
    if (msg.sequence > this.highestSeen) this.highestSeen = msg.sequence;
    const { worker, observer } = this.o;
    observer.received(worker, msg.data.length, msg.sequence, msg.redelivered);

    const entry: Entry = { msg, state: "pending", startedMs: this.o.now() };
    this.window.set(msg.sequence, entry);
    this.pending++;

    const decision = this.o.sampler ? this.o.sampler.decide(msg.data) : COPY_ALL;
    if (!decision.copy) {
      observer.skipped(worker);
      this.settle(entry, "done");
      return;
    }
    if (this.o.sampler) observer.passed(worker, decision.reason);

    const maxPayload = this.o.target.maxPayloadFor(this.o.subject);
    if (msg.data.length > maxPayload) {
      decision.release?.();
      this.halted = true;
      observer.publishFailed(worker, "rejected");
      this.o.onRejected(
        msg.sequence,
        `payload of ${msg.data.length} bytes exceeds the ${maxPayload} bytes the target accepts on this channel`,
      );
      this.settle(entry, "failed");
      return;
    }
    if (this.o.copiedUnacked.delete(msg.sequence)) observer.duplicate(worker);

    this.o.target.publish(this.o.subject, msg.data, msg).then(
      () => {
        decision.confirm?.();
        const now = this.o.now();
        observer.copied(worker, msg.data.length, now - msg.timestampMs, now - entry.startedMs);
        this.settle(entry, "done");
      },
      (err: unknown) => {
        decision.release?.();
        const reason: PublishFailureReason = err instanceof PublishError ? err.reason : "error";
        observer.publishFailed(worker, reason);
        this.settle(entry, "failed");
        this.fail(err instanceof PublishError ? err : new PublishError(errorText(err), reason));
      },
    );
  }

  /** Stop publishing new messages; what is in flight still settles. */
  halt(): void {
    this.halted = true;
  }

  /** Resolves when no publish is in flight any more, or after `timeoutMs`. */
  drained(timeoutMs: number): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
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
    this.halted = true;
    if (this.o.copiedUnacked.size > COPIED_UNACKED_LIMIT) this.o.copiedUnacked.clear();
    for (const [sequence, entry] of this.window) {
      if (entry.state === "done") this.o.copiedUnacked.add(sequence);
    }
    this.window.clear();
  }

  private fail(err: PublishError): void {
    this.halted = true;
    if (this.failed) return;
    this.failed = true;
    this.o.onFailure(err);
  }

  private settle(entry: Entry, state: "done" | "failed"): void {
    entry.state = state;
    this.pending--;
    if (this.o.ordered) this.ackPrefix();
    else if (state === "done") {
      this.window.delete(entry.msg.sequence);
      this.ack(entry.msg);
    }
    if (this.pending === 0) for (const wake of this.drainWaiters.splice(0)) wake();
  }

  private ack(msg: InboundMessage): void {
    if (!msg.ack()) this.o.observer.ackFailed(this.o.worker);
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
