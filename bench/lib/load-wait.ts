/**
 * Waiting for a quiet machine before a measured run: on a shared 2-core machine another
 * engineer's benchmark doubles every time we measure. Polls the 1-minute load average (what
 * `uptime` prints first) until it is below the limit, or gives up after a while and lets the
 * run go ahead, saying so in its result.
 */
import os from "node:os";
import { sleep } from "../../src/replicator/backoff";

export interface LoadWaitOptions {
  /** Measure once the 1-minute load average is below this. */
  maxLoad: number;
  /** How often to look again. Default one minute. */
  pollMs?: number;
  /** Measure anyway after this long. Default 20 minutes. */
  timeoutMs?: number;
  log?(line: string): void;
  /** Injected for tests. */
  loadavg?(): number;
  sleep?(ms: number): Promise<void>;
  now?(): number;
}

export interface LoadWait {
  /** The 1-minute load average when the run started. */
  load: number;
  /** How long the run waited for it. */
  waitedMs: number;
  /** False when the machine never got below the limit (the run went ahead anyway). */
  quiet: boolean;
  maxLoad: number;
}

export const LOAD_POLL_MS = 60_000;
export const LOAD_TIMEOUT_MS = 20 * 60_000;

const oneMinuteLoad = (): number => os.loadavg()[0] ?? 0;

export async function waitForQuietMachine(o: LoadWaitOptions): Promise<LoadWait> {
  const loadavg = o.loadavg ?? oneMinuteLoad;
  const pause = o.sleep ?? sleep;
  const now = o.now ?? Date.now;
  const pollMs = o.pollMs ?? LOAD_POLL_MS;
  const timeoutMs = o.timeoutMs ?? LOAD_TIMEOUT_MS;
  const started = now();
  for (;;) {
    const load = loadavg();
    const waitedMs = now() - started;
    if (load < o.maxLoad) return { load, waitedMs, quiet: true, maxLoad: o.maxLoad };
    if (waitedMs + pollMs > timeoutMs) {
      o.log?.(
        `load average ${load.toFixed(2)} still >= ${o.maxLoad} after ${Math.round(waitedMs / 1000)} s: measuring anyway`,
      );
      return { load, waitedMs, quiet: false, maxLoad: o.maxLoad };
    }
    o.log?.(`load average ${load.toFixed(2)} >= ${o.maxLoad}: waiting ${pollMs / 1000} s`);
    await pause(pollMs);
  }
}
