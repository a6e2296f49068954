/**
 * Reconnect backoff: exponential with full jitter, as plain data. The sleep is ours rather
 * than a library's because shutdown must be able to cut it short (an AbortSignal).
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export const RECONNECT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 15_000, factor: 2 };

/**
 * Reconnecting to a side that was up moments ago: at most a second between attempts for
 * FAILOVER_WINDOW_MS, so the new session starts within a second of a cluster's new leader
 * (an election takes seconds) instead of after a backoff grown to 4-8 s.
 */
export const FAILOVER_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 1_000, factor: 2 };
export const FAILOVER_WINDOW_MS = 30_000;

/** Delay before attempt `attempt` (1-based): a random point in [cap/2, cap]. */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** Resolves after `ms`, or at once when the signal aborts. Never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Waits for `task` at most `ms` (timed by `wait`, which tests may fake). True when it settled
 * in time, false when the time ran out first. Never rejects.
 */
export async function settledWithin(
  task: Promise<unknown>,
  ms: number,
  wait: (ms: number, signal: AbortSignal) => Promise<void> = sleep,
): Promise<boolean> {
  const deadline = new AbortController();
  const inTime = await Promise.race([
    task.then(
      () => true,
      () => true,
    ),
    wait(ms, deadline.signal).then(() => false),
  ]);
  deadline.abort();
  return inTime;
}
