/**
 * Publishes advisory events in the background, in order, one at a time.
 *
 * `enqueue()` never blocks and never throws: events wait in a bounded queue; each is tried up to
 * `maxAttempts` times with exponential backoff between tries, then dropped and reported through
 * `onDropped`. When the queue is full the new event is dropped (and reported) so the queue keeps
 * its order. `stop()` waits, up to a deadline, for the queue to drain, then drops the rest.
 *
 * The injected `publish` should settle on its own (with a publish timeout); a publish that never
 * settles holds the queue until stop() gives up on it.
 */
import { ReplicatorError } from "../errors";
import { settledWithin, sleep } from "../replicator/backoff";
import type { AdvisoryEvent } from "./advisor";

export type PublishFn = (subject: string, data: Buffer) => Promise<void>;
/** Resolves after `ms`, or early when `signal` aborts. Must not reject. */
export type SleepFn = (ms: number, signal: AbortSignal) => Promise<void>;

export interface AdvisoryPublisherOptions {
  subject: string;
  publish: PublishFn;
  /** An event was given up on: queue full, attempts exhausted, or stopped. */
  onDropped?: (event: AdvisoryEvent, err: unknown) => void;
  /** One attempt failed (for logs and error counters); `attempt` counts from 1. */
  onAttemptFailed?: (event: AdvisoryEvent, err: unknown, attempt: number) => void;
  /** An event was published. */
  onPublished?: (event: AdvisoryEvent) => void;
  maxQueue?: number;
  maxAttempts?: number;
  /** Delay after the first failed attempt; doubles each time up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  sleep?: SleepFn;
}

export const ADVISORY_DEFAULTS = Object.freeze({
  maxQueue: 10_000,
  maxAttempts: 10,
  initialDelayMs: 500,
  maxDelayMs: 5_000,
});

/** Delay before attempt `attempt + 1`, after `attempt` failures (attempt >= 1). */
export function backoffDelayMs(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** (attempt - 1));
}

interface Job {
  readonly event: AdvisoryEvent;
  /** Published or dropped: reported once. */
  done: boolean;
}

export class AdvisoryPublisher {
  private readonly opts: Required<
    Pick<AdvisoryPublisherOptions, "maxQueue" | "maxAttempts" | "initialDelayMs" | "maxDelayMs">
  >;
  private readonly sleep: SleepFn;
  private queue: AdvisoryEvent[] = [];
  private head = 0;
  private current: Job | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(private readonly options: AdvisoryPublisherOptions) {
    this.opts = {
      maxQueue: options.maxQueue ?? ADVISORY_DEFAULTS.maxQueue,
      maxAttempts: Math.max(1, options.maxAttempts ?? ADVISORY_DEFAULTS.maxAttempts),
      initialDelayMs: options.initialDelayMs ?? ADVISORY_DEFAULTS.initialDelayMs,
      maxDelayMs: options.maxDelayMs ?? ADVISORY_DEFAULTS.maxDelayMs,
    };
    this.sleep = options.sleep ?? sleep;
  }

  /** Events waiting, including the one being published. */
  get queued(): number {
    return this.queue.length - this.head + (this.current === undefined ? 0 : 1);
  }

  /** Queues events for publishing. Returns false when any was dropped (full or stopped). */
  enqueue(...events: readonly AdvisoryEvent[]): boolean {
    let all = true;
    for (const event of events) {
      if (this.stopped) {
        this.drop(event, new ReplicatorError("advisory publisher is stopped"));
        all = false;
      } else if (this.queued >= this.opts.maxQueue) {
        this.drop(event, new ReplicatorError(`advisory queue is full (${this.opts.maxQueue})`));
        all = false;
      } else {
        this.queue.push(event);
      }
    }
    if (this.running === undefined && this.queued > 0 && !this.stopped) {
      this.running = this.drain().finally(() => {
        this.running = undefined;
      });
    }
    return all;
  }

  /**
   * Stops accepting events and waits up to `timeoutMs` for the queue to drain; then cuts retries
   * short and drops what is left. Resolves with the number of events dropped by the stop.
   */
  async stop(timeoutMs: number): Promise<number> {
    this.stopped = true;
    let dropped = 0;
    if (this.running !== undefined) {
      if (!(await settledWithin(this.running, timeoutMs, this.sleep))) {
        this.abort.abort();
        const job = this.current;
        if (job !== undefined && !job.done) {
          this.fail(job, new ReplicatorError("advisory publisher stopped"));
          dropped++;
        }
      }
    }
    for (let event = this.take(); event !== undefined; event = this.take()) {
      this.drop(event, new ReplicatorError("advisory publisher stopped"));
      dropped++;
    }
    return dropped;
  }

  private async drain(): Promise<void> {
    while (!this.abort.signal.aborted) {
      const event = this.take();
      if (event === undefined) break;
      const job: Job = { event, done: false };
      this.current = job;
      await this.publishOne(job);
      this.current = undefined;
    }
  }

  private async publishOne(job: Job): Promise<void> {
    const data = Buffer.from(JSON.stringify(job.event));
    const { maxAttempts, initialDelayMs, maxDelayMs } = this.opts;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.publish(this.options.subject, data);
        if (!job.done) {
          job.done = true;
          this.hook(() => this.options.onPublished?.(job.event));
        }
        return;
      } catch (err) {
        this.hook(() => this.options.onAttemptFailed?.(job.event, err, attempt));
        if (attempt >= maxAttempts) {
          this.fail(
            job,
            new ReplicatorError(`advisory not published after ${attempt} attempts`, { cause: err }),
          );
          return;
        }
        await this.sleep(backoffDelayMs(attempt, initialDelayMs, maxDelayMs), this.abort.signal);
        if (this.abort.signal.aborted) {
          this.fail(job, new ReplicatorError("advisory publisher stopped", { cause: err }));
          return;
        }
      }
    }
  }

  private take(): AdvisoryEvent | undefined {
    if (this.head >= this.queue.length) return undefined;
    const event = this.queue[this.head];
    this.head++;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return event;
  }

  private fail(job: Job, err: unknown): void {
    if (job.done) return;
    job.done = true;
    this.drop(job.event, err);
  }

  private drop(event: AdvisoryEvent, err: unknown): void {
    this.hook(() => this.options.onDropped?.(event, err));
  }

  private hook(fn: () => void): void {
    try {
      fn();
    } catch {
      // A failing hook must not stop the publisher.
    }
  }
}
