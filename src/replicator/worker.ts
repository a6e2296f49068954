/**
 * One worker of a topic: its own source and target sessions (client id `<name>_<n>` on
 * both clusters) and the only reconnect loop there is. A session is never repaired: on any
 * loss or failure the worker halts its pipeline, lets in-flight publishes settle so the
 * successful prefix gets acknowledged, closes both sessions (durables keep their position)
 * and builds new ones with backoff, forever, until it is stopped.
 */
import { ClientIdInUseError, errorText } from "../errors";
import type { Logger } from "../logging/logger";
import {
  FAILOVER_BACKOFF,
  FAILOVER_WINDOW_MS,
  RECONNECT_BACKOFF,
  backoffDelay,
  settledWithin,
  sleep,
} from "./backoff";
import type { ReplicationObserver } from "./observer";
import { Pipeline } from "./pipeline";
import type { SetTimer } from "./stall-watch";
import { RangeSet } from "./range-set";
import type {
  Sampler,
  Session,
  SessionEnd,
  SideName,
  SourceConnector,
  SourceSession,
  SubscribeOptions,
  TargetConnector,
  TargetSession,
} from "./ports";
import type { ConnectionState, WorkerStatus } from "./status";

export interface WorkerOptions {
  id: number;
  clientId: string;
  ordered: boolean;
  subscription: SubscribeOptions;
  targetSubject: string;
  source: SourceConnector;
  target: TargetConnector;
  observer: ReplicationObserver;
  sampler?: Sampler;
  log: Logger;
  copiedUnacked: Set<number>;
  isStalled(): boolean;
  onRejected(sequence: number, reason: string): void;
  /** Bound on waiting for in-flight publishes when a session ends. */
  settleTimeoutMs: number;
  /**
   * Ordered: no new publish while the oldest is unacknowledged for longer (the pipeline's rule
   * b). Also the wait for in-flight publishes after a failed one: anything older is presumed
   * lost, and waiting for it would only delay the failover.
   */
  pauseAfterMs: number;
  now(): number;
  /** The pipeline's stall timer (tests pass a fake clock). */
  setTimer?: SetTimer;
  /** Waits between attempts; cut short by the signal (tests pass a fake). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** A hot standby asks for the client id this often: the takeover delay after the active dies. */
const STANDBY_RETRY_MS = 1_000;

/**
 * Held back with nothing acknowledged for this many `pauseAfterMs`, the publishes in flight are
 * presumed lost (the pipeline's rule b): twice the pause keeps a slow but live target, which
 * acknowledges something every few milliseconds, well clear of it.
 */
const STALL_AFTER_PAUSES = 2;

/** On a reset, the longest wait for the old sessions' close before the new ones are opened. */
const RESET_CLOSE_WAIT_MS = 500;

/** A session that stayed up this long resets the backoff. */
const STABLE_SESSION_MS = 30_000;

export class Worker {
  private source: ConnectionState;
  private target: ConnectionState;
  private subscribed = false;
  private pipeline?: Pipeline;
  /** What this worker acknowledged on the source, across its sessions. */
  private readonly acked = new RangeSet();
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(private readonly o: WorkerOptions) {
    this.sleep = o.sleep ?? sleep;
    const now = o.now();
    this.source = { kind: "connecting", since: now, attempt: 0 };
    this.target = { kind: "connecting", since: now, attempt: 0 };
  }

  status(): WorkerStatus {
    return {
      worker: this.o.id,
      clientId: this.o.clientId,
      source: this.source,
      target: this.target,
      subscribed: this.subscribed,
    };
  }

  inflight(): { count: number; oldestStartedMs?: number } {
    const p = this.pipeline;
    if (!p) return { count: 0 };
    return { count: p.size, oldestStartedMs: p.oldestStartedMs() };
  }

  /** Runs until `signal` aborts, then settles in-flight work (bounded) and closes. */
  async run(signal: AbortSignal, shutdownTimeoutMs: number): Promise<void> {
    let resets = 0;
    while (!signal.aborted) {
      const source = await this.connect("source", signal);
      if (!source) break;
      const target = await this.connect("target", signal);
      if (!target) {
        await source.close();
        break;
      }
      const startedAt = this.o.now();
      // Health shows a lost side at once, not after in-flight work has settled.
      const lost = (side: SideName) => (end: SessionEnd) => {
        if (end.reason !== "requested") this.markDown(side, describeEnd(side, end));
      };
      void source.ended.then(lost("source"));
      void target.ended.then(lost("target"));
      const why = await this.replicate(source, target, signal, shutdownTimeoutMs);
      if (signal.aborted) break;
      for (const side of ["source", "target"] as const) {
        // The side that did not fail is closed too, so both sessions start afresh together.
        const state = side === "source" ? this.source : this.target;
        if (state.kind === "up") this.markDown(side, `closed to rebuild the worker after: ${why}`);
      }
      resets = this.o.now() - startedAt > STABLE_SESSION_MS ? 1 : resets + 1;
      const delay = backoffDelay(RECONNECT_BACKOFF, resets);
      this.o.log.warn("session reset", { reason: why, retryInMs: delay });
      await this.sleep(delay, signal);
    }
    const now = this.o.now();
    this.source = { kind: "closed", since: now };
    this.target = { kind: "closed", since: now };
  }

  /** One pair of sessions, from subscribe until something ends it. Returns why it ended. */
  private async replicate(
    source: SourceSession,
    target: TargetSession,
    signal: AbortSignal,
    shutdownTimeoutMs: number,
  ): Promise<string> {
    let failed!: (why: string) => void;
    let publishFailed = false;
    const failure = new Promise<string>((resolve) => (failed = resolve));
    const pipeline = new Pipeline({
      worker: this.o.id,
      ordered: this.o.ordered,
      subject: this.o.targetSubject,
      target,
      sampler: this.o.sampler,
      observer: this.o.observer,
      copiedUnacked: this.o.copiedUnacked,
      acked: this.acked,
      onLate: (sequence, highestSeen) =>
        this.o.log.warn("message delivered after a later one: copied out of order", {
          sequence,
          highestSeen,
        }),
      isStalled: this.o.isStalled,
      onFailure: (err) => {
        publishFailed = true;
        failed(`publish failed (${err.reason}): ${err.message}`);
      },
      onRejected: this.o.onRejected,
      pauseAfterMs: this.o.pauseAfterMs,
      stallAfterMs: STALL_AFTER_PAUSES * this.o.pauseAfterMs,
      setTimer: this.o.setTimer,
      now: this.o.now,
    });
    this.pipeline = pipeline;
    const stopped = new Promise<string>((resolve) => {
      if (signal.aborted) resolve("stopping");
      signal.addEventListener("abort", () => resolve("stopping"), { once: true });
    });
    try {
      await source.subscribe(this.o.subscription, (msg) => pipeline.accept(msg));
      this.subscribed = true;
      this.o.log.info("subscribed", {
        channel: this.o.subscription.subject,
        durable: this.o.subscription.durableName,
        queueGroup: this.o.subscription.queueGroup,
      });
    } catch (err) {
      failed(errorText(err));
    }
    const why = await Promise.race([
      source.ended.then((end) => describeEnd("source", end)),
      target.ended.then((end) => describeEnd("target", end)),
      failure,
      stopped,
    ]);
    this.subscribed = false;
    pipeline.halt();
    const settleMs = signal.aborted
      ? shutdownTimeoutMs
      : publishFailed
        ? Math.min(this.o.pauseAfterMs, this.o.settleTimeoutMs)
        : this.o.settleTimeoutMs;
    await pipeline.drained(settleMs);
    pipeline.abandon();
    const closed = Promise.all([source.close(), target.close()]);
    // A cluster without a leader answers no close request; the next session need not wait for
    // it (the old one no longer answers the server's heartbeats, so its client id is released).
    if (signal.aborted) await closed;
    else await settledWithin(closed, RESET_CLOSE_WAIT_MS);
    return why;
  }

  /** Opens one side, retrying with backoff until it works or the worker is stopped. */
  private async connect(side: "source", signal: AbortSignal): Promise<SourceSession | undefined>;
  private async connect(side: "target", signal: AbortSignal): Promise<TargetSession | undefined>;
  private async connect(
    side: SideName,
    signal: AbortSignal,
  ): Promise<SourceSession | TargetSession | undefined> {
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        const open = { failover: this.failingOver(side) };
        const session: Session & (SourceSession | TargetSession) =
          side === "source"
            ? await this.o.source.openSource(this.o.id, open)
            : await this.o.target.openTarget(this.o.id, open);
        if (signal.aborted) {
          await session.close();
          return undefined;
        }
        this.setState(side, { kind: "up", since: this.o.now() });
        this.o.observer.connection(this.o.id, side, "up");
        this.o.log.info("connected", { side, attempt });
        return session;
      } catch (err) {
        if (side === "source" && this.o.ordered && err instanceof ClientIdInUseError) {
          if (this.source.kind !== "standby") {
            this.setState("source", { kind: "standby", since: this.o.now() });
            this.o.log.info("standing by: another process holds this worker's client id", {
              error: errorText(err),
            });
          }
          attempt = 0;
          await this.sleep(STANDBY_RETRY_MS, signal);
          continue;
        }
        const lastError = errorText(err);
        const prev = side === "source" ? this.source : this.target;
        const now = this.o.now();
        const since =
          prev.kind === "up" || prev.kind === "closed" || prev.kind === "standby"
            ? now
            : prev.since;
        const kind = prev.kind === "connecting" ? "connecting" : "reconnecting";
        const policy = this.failingOver(side) ? FAILOVER_BACKOFF : RECONNECT_BACKOFF;
        const delay = backoffDelay(policy, attempt);
        this.setState(side, { kind, since, attempt, lastError });
        this.o.observer.connection(this.o.id, side, "error");
        this.o.log.warn("connect failed", { side, attempt, error: lastError, retryInMs: delay });
        await this.sleep(delay, signal);
      }
    }
    return undefined;
  }

  /** Was this side's session lost less than FAILOVER_WINDOW_MS ago? */
  private failingOver(side: SideName): boolean {
    const state = side === "source" ? this.source : this.target;
    return state.kind === "reconnecting" && this.o.now() - state.since < FAILOVER_WINDOW_MS;
  }

  private markDown(side: SideName, why: string): void {
    this.setState(side, { kind: "reconnecting", since: this.o.now(), attempt: 0, lastError: why });
    this.o.observer.connection(this.o.id, side, "down");
  }

  private setState(side: SideName, state: ConnectionState): void {
    if (side === "source") this.source = state;
    else this.target = state;
  }
}

function describeEnd(side: SideName, end: SessionEnd): string {
  return `${side} session ended (${end.reason}${end.error ? `: ${end.error}` : ""})`;
}
