/**
 * The periodic work of one topic's sampling: scrub the limiter, check the advisor for quiet
 * values, save the state. Each job runs on its own interval from `start()` until `stop()`; the
 * default intervals are unref'd, so they never keep the process alive.
 */

/** Runs `fn` every `ms` milliseconds until the returned function is called. */
export type Repeat = (ms: number, fn: () => void) => () => void;

/** `setInterval`, unref'd. */
export const repeatUnref: Repeat = (ms, fn) => {
  const timer = setInterval(fn, ms);
  timer.unref();
  return () => clearInterval(timer);
};

const MIN_SCRUB_INTERVAL_MS = 1_000;
const MAX_SCRUB_INTERVAL_MS = 60_000;

/** How often to scrub: a quarter of the topic's age, at least 1 s and at most 60 s. */
export function scrubIntervalMs(ageMs: number): number {
  return Math.min(MAX_SCRUB_INTERVAL_MS, Math.max(MIN_SCRUB_INTERVAL_MS, ageMs / 4));
}

export interface Job {
  everyMs: number;
  run(): void;
}

export interface SamplerTimersOptions {
  /** State saves, when the topic has a state folder. */
  save?: Job;
  /** Forgetting stale values (see scrubIntervalMs). */
  scrub: Job;
  /** Advisory checks, when the topic has advisories (see checkIntervalMs). */
  check?: Job;
  /** Default: repeatUnref. */
  repeat?: Repeat;
}

export class SamplerTimers {
  private readonly repeat: Repeat;
  private readonly jobs: readonly Job[];
  private cancels: (() => void)[] = [];

  constructor(options: SamplerTimersOptions) {
    this.repeat = options.repeat ?? repeatUnref;
    const { save, scrub, check } = options;
    this.jobs = [save, scrub, check].filter((job): job is Job => job !== undefined);
  }

  get running(): boolean {
    return this.cancels.length > 0;
  }

  /** Starts every job's interval; a second start while running does nothing. */
  start(): void {
    if (this.running) return;
    this.cancels = this.jobs.map((job) => this.repeat(job.everyMs, () => job.run()));
  }

  /** Stops every interval; start() may run them again. */
  stop(): void {
    for (const cancel of this.cancels) cancel();
    this.cancels = [];
  }
}
