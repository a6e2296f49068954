/**
 * Replication lag from the source server's monitoring endpoint:
 * `GET <monitorUrl>/streaming/channelsz?channel=<channel>&subs=1` every `intervalMs`.
 *
 * lag = last_seq − acknowledged, acknowledged = last_sent − pending_count of our durable.
 * A durable queue group has one entry per member, `queue_name` "<durable>:<group>", each with
 * its own last_sent and pending_count: acknowledged = max(last_sent) − sum(pending_count).
 * Messages the channel no longer holds (before first_seq) cannot be replicated and do not count.
 *
 * A failed poll is logged at debug, counted in lag_poll_errors_total and removes the gauge's
 * series (a stale lag would hide a problem); it never throws.
 */
import type { Counter, Gauge } from "prom-client";
import type { Logger } from "../logging/logger";
import { redactUrl } from "../util/redact";

/** The subset of global `fetch` the poller uses; tests pass a fake. */
export type FetchLike = (
  url: string,
  init: { signal: AbortSignal; headers: Record<string, string> },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

/** Timer functions, injectable for tests. Defaults use unref'd global timers. */
export interface PollTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface LagPollerOptions {
  /** The `name` label value. */
  name: string;
  /** Base URL of the source server's monitoring port, e.g. http://nats1:8222. */
  monitorUrl: string;
  channel: string;
  durable: string;
  /** Set for queued topics: the subscription's queue group. */
  queueGroup?: string;
  intervalMs: number;
  /** Per request; default min(intervalMs, 5000). */
  timeoutMs?: number;
  metrics: { replicationLag: Gauge<"name">; lagPollErrors: Counter<"name"> };
  logger: Logger;
  fetch?: FetchLike;
  timers?: PollTimers;
}

export type PollResult =
  { ok: true; lag: number; lastSeq: number; acknowledged: number } | { ok: false; reason: string };

export interface LagPoller {
  /** Polls now and then every intervalMs (the next poll is planned when one ends). */
  start(): void;
  /** Cancels the plan and any request in flight; resolves when the poller is idle. */
  stop(): Promise<void>;
  /** One poll: fetch, compute, set the gauge. Never rejects. */
  pollOnce(): Promise<PollResult>;
}

const DEFAULT_TIMEOUT_MS = 5000;

const realTimers: PollTimers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export function createLagPoller(options: LagPollerOptions): LagPoller {
  const { name, metrics, intervalMs } = options;
  const log = options.logger.child({ component: "lag-poller", topic: name });
  const timers = options.timers ?? realTimers;
  const doFetch: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const timeoutMs = options.timeoutMs ?? Math.min(intervalMs, DEFAULT_TIMEOUT_MS);
  const target = buildRequest(options.monitorUrl, options.channel);
  const safeUrl = redactUrl(target?.url ?? options.monitorUrl);
  const match = { durable: options.durable, queueGroup: options.queueGroup };

  if (!target) {
    log.warn("lag poller disabled: monitor url is not an http(s) URL", { url: safeUrl });
  }

  let running = false;
  let stopping = false;
  let timer: unknown;
  let inFlight: Promise<PollResult> | undefined;
  let abort: AbortController | undefined;

  const fail = (reason: string, fields: Record<string, unknown> = {}): PollResult => {
    metrics.lagPollErrors.inc({ name });
    metrics.replicationLag.remove({ name });
    log.debug("lag poll failed", { reason, url: safeUrl, ...fields });
    return { ok: false, reason };
  };

  const poll = async (): Promise<PollResult> => {
    if (!target) return fail("invalid_url");
    const controller = new AbortController();
    abort = controller;
    const timeout = timers.setTimeout(() => controller.abort(), timeoutMs);
    try {
      const res = await doFetch(target.url, { signal: controller.signal, headers: target.headers });
      if (!res.ok) {
        const reason = res.status === 404 ? "channel_not_found" : "http_error";
        return fail(reason, { status: res.status });
      }
      let body: unknown;
      try {
        body = await res.json();
      } catch (err) {
        if (stopping) return { ok: false, reason: "stopped" };
        return fail(controller.signal.aborted ? "timeout" : "bad_response", { err });
      }
      const result = computeLag(body, match);
      if (!result.ok) return fail(result.reason);
      metrics.replicationLag.set({ name }, result.lag);
      return result;
    } catch (err) {
      if (stopping) return { ok: false, reason: "stopped" };
      return fail(controller.signal.aborted ? "timeout" : "request_failed", { err });
    } finally {
      timers.clearTimeout(timeout);
      if (abort === controller) abort = undefined;
    }
  };

  const pollOnce = (): Promise<PollResult> => {
    inFlight ??= poll().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  // Each start() begins a new generation, so a poll that outlives a stop()/start() pair
  // cannot plan a second timer next to the new loop's.
  let generation = 0;
  const loop = (gen: number): void => {
    void pollOnce().then(() => {
      if (running && gen === generation) timer = timers.setTimeout(() => loop(gen), intervalMs);
    });
  };

  return {
    start: () => {
      if (running || !target) return;
      running = true;
      stopping = false;
      generation += 1;
      loop(generation);
    },
    stop: async () => {
      running = false;
      stopping = true;
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
      abort?.abort();
      await inFlight;
      stopping = false;
    },
    pollOnce,
  };
}

/** URL and headers for the request; userinfo in monitorUrl becomes a Basic auth header. */
function buildRequest(
  monitorUrl: string,
  channel: string,
): { url: string; headers: Record<string, string> } | undefined {
  let base: URL;
  try {
    base = new URL(monitorUrl);
  } catch {
    return undefined;
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") return undefined;
  const headers: Record<string, string> = { accept: "application/json" };
  if (base.username !== "" || base.password !== "") {
    const user = decodeURIComponent(base.username);
    const pass = decodeURIComponent(base.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
    base.username = "";
    base.password = "";
  }
  const path = base.pathname.replace(/\/+$/, "");
  const query = `channel=${encodeURIComponent(channel)}&subs=1`;
  return { url: `${base.origin}${path}/streaming/channelsz?${query}`, headers };
}

export interface DurableMatch {
  durable: string;
  /** Queue group for queued topics; undefined for a plain durable. */
  queueGroup?: string;
}

/**
 * Lag of our durable from a `/streaming/channelsz?channel=X&subs=1` response body.
 * Pure; exported for tests with captured server responses.
 */
export function computeLag(body: unknown, match: DurableMatch): PollResult {
  if (!isRecord(body)) return { ok: false, reason: "bad_response" };
  const lastSeq = body.last_seq;
  const firstSeq = body.first_seq ?? 0;
  if (!isCount(lastSeq) || !isCount(firstSeq)) return { ok: false, reason: "bad_response" };
  const subs = body.subscriptions ?? [];
  if (!Array.isArray(subs)) return { ok: false, reason: "bad_response" };

  const queueName =
    match.queueGroup === undefined ? undefined : `${match.durable}:${match.queueGroup}`;
  let found = false;
  let lastSent = 0;
  let pending = 0;
  for (const s of subs) {
    if (!isRecord(s) || s.is_durable !== true) continue;
    const mine =
      queueName === undefined
        ? s.durable_name === match.durable && (s.queue_name ?? "") === ""
        : s.queue_name === queueName;
    if (!mine) continue;
    const sent = s.last_sent ?? 0;
    const pend = s.pending_count ?? 0;
    if (!isCount(sent) || !isCount(pend)) return { ok: false, reason: "bad_response" };
    found = true;
    lastSent = Math.max(lastSent, sent);
    pending += pend;
  }
  if (!found) return { ok: false, reason: "subscription_not_found" };

  const acknowledged = Math.max(0, lastSent - pending, firstSeq - 1);
  return { ok: true, lag: Math.max(0, lastSeq - acknowledged), lastSeq, acknowledged };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0;
}
