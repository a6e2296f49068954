/**
 * Events the replicator reports about its work. The app turns them into metrics; tests
 * count them. Keeping prom-client out of the replicator keeps the copy step testable.
 */
import type { PublishFailureReason } from "../errors";
import type { PassReason, SideName } from "./ports";

export interface ReplicationObserver {
  received(worker: number, bytes: number, sequence: number, redelivered: boolean): void;
  /** Target acknowledged; `latencyMs` is now minus the source timestamp. */
  copied(worker: number, bytes: number, latencyMs: number, processingMs: number): void;
  /** Acknowledged on the source without copying (sampling limiter). */
  skipped(worker: number): void;
  /** The limiter let a message through, and why. */
  passed(worker: number, reason: PassReason): void;
  /** A message went to the target again although the target already had it. */
  duplicate(worker: number): void;
  /** The target recognised a copy it already had and did not store it again (JetStream). */
  duplicateSuppressed(worker: number): void;
  publishFailed(worker: number, reason: PublishFailureReason): void;
  /** Ordered: the source delivered a message after a later one (copied late, not lost). */
  lateDelivery(worker: number): void;
  /** Ordered: publishing paused because the oldest publish was not acknowledged in time. */
  publishPaused(worker: number): void;
  /** An ack to the source could not be sent; the source will redeliver the message. */
  ackFailed(worker: number): void;
  connection(worker: number, side: SideName, event: "up" | "down" | "error"): void;
  stalled(isStalled: boolean): void;
}

/** An observer that ignores everything, for callers that do not need events. */
export const nullObserver: ReplicationObserver = {
  received: () => undefined,
  copied: () => undefined,
  skipped: () => undefined,
  passed: () => undefined,
  duplicate: () => undefined,
  duplicateSuppressed: () => undefined,
  publishFailed: () => undefined,
  publishPaused: () => undefined,
  lateDelivery: () => undefined,
  ackFailed: () => undefined,
  connection: () => undefined,
  stalled: () => undefined,
};
