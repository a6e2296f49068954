/**
 * The second half of the pipeline's rule b (src/replicator/pipeline.ts): publishes in flight
 * with no acknowledgement at all for `stallAfterMs` are presumed lost, so the pipeline fails
 * then rather than at `publish_timeout`. Armed by a publish, re-armed while acknowledgements
 * keep coming, idle while nothing is in flight: one timer per `stallAfterMs` under load.
 */
export type SetTimer = (fn: () => void, ms: number) => () => void;

export interface StallWatchOptions {
  stallAfterMs: number;
  now(): number;
  /** Runs `fn` once after `ms`; returns its cancel (tests pass a fake clock). */
  setTimer?: SetTimer;
  /** Publishes in flight, and when the oldest of them went out. */
  inflight(): { count: number; oldestPublishedMs?: number };
  /** Nothing acknowledged for `quietForMs` with `count` publishes in flight. */
  onStall(quietForMs: number, count: number): void;
}

export class StallWatch {
  private lastAckMs: number;
  private cancel?: () => void;
  private readonly setTimer: SetTimer;

  constructor(private readonly o: StallWatchOptions) {
    this.lastAckMs = o.now();
    this.setTimer = o.setTimer ?? startTimer;
  }

  published(now: number): void {
    if (this.cancel === undefined) this.arm(now);
  }

  acknowledged(at: number): void {
    this.lastAckMs = at;
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  private arm(now: number): void {
    const quietSince = Math.max(this.lastAckMs, this.o.inflight().oldestPublishedMs ?? now);
    this.cancel = this.setTimer(
      () => {
        this.cancel = undefined;
        const { count, oldestPublishedMs } = this.o.inflight();
        if (count === 0) return;
        const at = this.o.now();
        const quietFor = at - Math.max(this.lastAckMs, oldestPublishedMs ?? at);
        if (quietFor < this.o.stallAfterMs) this.arm(at);
        else this.o.onStall(quietFor, count);
      },
      Math.max(0, quietSince + this.o.stallAfterMs - now),
    );
  }
}

function startTimer(fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
}
