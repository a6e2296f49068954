/**
 * The streaming servers' HTTP monitoring (/streaming/channelsz), polled by the harness to see
 * replication progress without a subscriber of its own competing for the CPU.
 */
export interface SubscriptionInfo {
  client_id: string;
  queue_name?: string;
  is_durable: boolean;
  is_offline: boolean;
  last_sent: number;
  pending_count: number;
}

export interface ChannelInfo {
  msgs: number;
  last_seq: number;
  subscriptions: SubscriptionInfo[];
}

const EMPTY: ChannelInfo = { msgs: 0, last_seq: 0, subscriptions: [] };

/** The channel's counters; all zero while the channel does not exist yet. */
export async function channelInfo(
  monitorUrl: string,
  channel: string,
  subs = false,
): Promise<ChannelInfo> {
  const url = `${monitorUrl}/streaming/channelsz?channel=${encodeURIComponent(channel)}${subs ? "&subs=1" : ""}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (res.status === 404) return EMPTY;
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const body = (await res.json()) as Partial<ChannelInfo>;
  return {
    msgs: body.msgs ?? 0,
    last_seq: body.last_seq ?? 0,
    subscriptions: body.subscriptions ?? [],
  };
}

/**
 * Messages the durable subscriptions of `channel` have finished with: for each durable (or
 * queue group member) last_sent − pending_count, summed; for a queue group this is an estimate
 * until pending reaches 0. `done` once every message up to `lastSeq` was sent and acked.
 * `ephemeral`: plain subscriptions count too (a contender that reads without a durable).
 */
export function sourceProgress(
  info: ChannelInfo,
  lastSeq: number,
  ephemeral = false,
): { processed: number; done: boolean } {
  const subs = info.subscriptions.filter((s) => ephemeral || s.is_durable || s.queue_name);
  if (subs.length === 0) return { processed: 0, done: false };
  const maxSent = Math.max(...subs.map((s) => s.last_sent));
  const pending = subs.reduce((n, s) => n + s.pending_count, 0);
  return { processed: Math.max(0, maxSent - pending), done: maxSent >= lastSeq && pending === 0 };
}

export interface ProgressSample {
  /** Harness clock, ms. */
  at: number;
  count: number;
}

export interface WaitResult {
  /** First sample with progress (count > 0), the last sample (done or not). */
  first?: ProgressSample;
  last: ProgressSample;
  done: boolean;
  /** Why waiting stopped without `done`. */
  reason?: string;
}

export interface WaitOptions {
  /** Polled; returns the count so far and whether the run is complete. */
  poll(): Promise<{ count: number; done: boolean }>;
  intervalMs: number;
  /** Gives up when the count did not move for this long. */
  stallMs: number;
  /** Returns a reason to give up (e.g. the contender exited). */
  abort?(): string | undefined;
  /** Called once, right after the first sample with progress. */
  onFirst?(): void;
  now(): number;
}

/** Polls until done, stalled or aborted; records when progress was first seen. */
export async function waitForProgress(o: WaitOptions): Promise<WaitResult> {
  let first: ProgressSample | undefined;
  let last: ProgressSample = { at: o.now(), count: 0 };
  let movedAt = o.now();
  for (;;) {
    const { count, done } = await o.poll();
    const at = o.now();
    if (count > 0 && first === undefined) {
      first = { at, count };
      o.onFirst?.();
    }
    if (count !== last.count) movedAt = at;
    last = { at, count };
    if (done) return { first, last, done: true };
    const aborted = o.abort?.();
    if (aborted) return { first, last, done: false, reason: aborted };
    if (at - movedAt > o.stallMs) {
      return { first, last, done: false, reason: `no progress for ${o.stallMs / 1000} s` };
    }
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
}
