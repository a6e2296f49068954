/**
 * npm run bench -- --soak 20m: ours as an operator runs it for a long time. One source (dc1)
 * and one target (dc2) streaming server; the replicator ordered with the limiter
 * (`inspect: sender, age: 1h`, --senders distinct senders, default 100,000) and its state saved
 * every 10 s. A first drain of a backlog finds its drain rate (or --live-rate gives the rate);
 * then live traffic at --live-fraction of it for the whole duration while the target server is
 * restarted (SIGTERM, then started on the same store) every --restart-every. Every 10 s: the
 * replicator's VmRSS, its longest event-loop delay since the last sample
 * (nodejs_eventloop_lag_max_seconds) and its counters. At the end: nothing lost
 * (soak-summary.ts verifySoak), RSS after the warm-up, the longest block.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import * as path from "node:path";
import { stateFilePath } from "../../src/sampling/state-file";
import { STAN_SERVER_BIN, startStan, stopAll } from "../../test/support/servers";
import type { StanServer } from "../../test/support/servers";
import { waitFor } from "../../test/support/stan-client";
import { OURS_MAIN, REPO, launch, requireTools } from "./contenders";
import type { ContenderSpec, RunningContender } from "./contenders";
import { waitForQuietMachine } from "./load-wait";
import type { LoadWait } from "./load-wait";
import { LOADGEN_BIN, publishPaced } from "./load";
import { channelInfo, sourceProgress, waitForProgress } from "./monitor";
import type { BenchOptions } from "./options";
import { peakRssMiB, rssMiB } from "./proc";
import { runScenario, toServer } from "./scenario";
import type { RunResult, Server } from "./scenario";
import { formatSoak } from "./soak-report";
import { longestBlock, summarizeRss, verifySoak } from "./soak-summary";
import type { RssSummary, SoakCounts, SoakSample, SoakVerdict } from "./soak-summary";
import { verifyTarget } from "./verify";
import type { Verification } from "./verify";
import { sleep } from "../../src/replicator/backoff";

const SAMPLE_MS = 10_000;
const WARMUP_MS = 60_000;
/** The source channel keeps at most this many messages (about 5 GiB of 1 KiB payloads):
 * disk for a long soak. verifySoak checks that the durable never lagged near it. */
const CHANNEL_MAX_MSGS = 5_000_000;
const SERVER_ARGS = ["-mc", "0", "-mm", String(CHANNEL_MAX_MSGS), "-mb", "0", "-msu", "0"];
const SETTLE_STALL_MS = 60_000;
const RECONNECT_DEADLINE_MS = 60_000;

const SOAK_SPEC: ContenderSpec = {
  id: "ours-soak",
  label: "ours: ordered + limiter, state saved every 10 s",
  kind: "ours",
  target: "stan",
  ordered: true,
  workers: 1,
  limiter: true,
  stateSeed: 0,
  stateSaveInterval: "10s",
};
const DRAIN_SPEC: ContenderSpec = { ...SOAK_SPEC, id: "ours-soak-drain", stateSeed: undefined };

export interface TargetRestart {
  /** ms since the live traffic started. */
  t: number;
  /** SIGTERM to the restarted server accepting clients again. */
  serverMs: number;
  /** SIGTERM to both of the replicator's connections up again. */
  replicatorMs?: number;
}

export interface SoakReport {
  started: string;
  finished?: string;
  machine: Record<string, unknown>;
  options: BenchOptions;
  load?: LoadWait;
  drain?: RunResult;
  rate?: number;
  channel?: string;
  published?: number;
  samples: SoakSample[];
  restarts: TargetRestart[];
  rss?: RssSummary;
  peakRssMiB?: number;
  longestBlock?: { ms: number; t: number };
  metrics?: Record<string, number>;
  counts?: SoakCounts;
  verification?: Verification;
  verdict?: SoakVerdict;
  error?: string;
}

export async function runSoak(o: BenchOptions, log: (line: string) => void): Promise<number> {
  const soakMs = o.soakMs ?? 0;
  requireTools([
    [true, STAN_SERVER_BIN, "bash scripts/install-servers.sh"],
    [true, LOADGEN_BIN, "npm run bench (builds bench/loadgen)"],
    [true, OURS_MAIN, "npm run build"],
  ]);
  const report: SoakReport = {
    started: new Date().toISOString(),
    machine: { nproc: os.availableParallelism(), cpuModel: os.cpus()[0]?.model },
    options: o,
    samples: [],
    restarts: [],
  };
  if (o.maxLoad !== undefined) report.load = await waitForQuietMachine({ maxLoad: o.maxLoad, log });
  report.machine.loadavgStart = os.loadavg();
  const workDir = mkdtempSync(path.join(os.tmpdir(), "sr-soak-"));
  try {
    await soak(o, soakMs, workDir, report, log);
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err);
    log(`soak: ${report.error}`);
  } finally {
    await stopAll();
    rmSync(workDir, { recursive: true, force: true });
  }
  report.finished = new Date().toISOString();
  report.machine.loadavgEnd = os.loadavg();
  const dir = o.results ?? path.join(REPO, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${report.started.replace(/[:.]/g, "-")}-soak.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${formatSoak(report)}\nresults: ${path.relative(process.cwd(), file)}\n`);
  return report.verdict?.ok === true && report.error === undefined ? 0 : 1;
}

async function soak(
  o: BenchOptions,
  soakMs: number,
  workDir: string,
  report: SoakReport,
  log: (line: string) => void,
): Promise<void> {
  const common = { store: o.store, monitorPort: true, extraArgs: SERVER_ARGS } as const;
  const [dc1, dc2] = await Promise.all([
    startStan({ clusterId: "dc1", ...common }),
    startStan({ clusterId: "dc2", ...common }),
  ]);
  const source = toServer(dc1);
  const tag = Date.now().toString(36);
  const payload = { size: o.size, senders: o.senders };

  let rate = o.liveRate;
  if (rate === undefined) {
    log(`drain: ${o.count} messages from ${o.senders} senders to find the drain rate`);
    const ctx = { source, target: toServer(dc2), count: o.count, size: o.size, senders: o.senders };
    const drain = await runScenario(DRAIN_SPEC, {
      ...ctx,
      liveSeconds: 0,
      liveFraction: o.liveFraction,
      tag,
      workDir,
      log,
    });
    report.drain = drain;
    if (!drain.ok || drain.drainRate === undefined)
      throw new Error(`the drain failed: ${drain.failures.join("; ")}`);
    rate = Math.round(drain.drainRate * o.liveFraction);
  }
  report.rate = rate;

  const runId = `${tag}_soak`;
  const channel = `bench.${runId}`;
  report.channel = channel;
  const dir = path.join(workDir, runId);
  const running = await launch(SOAK_SPEC, {
    source,
    target: toServer(dc2),
    channel,
    runId,
    dir,
  });
  const { child } = running;
  const metrics = scraper(running);
  const up = (): Promise<boolean> => connectionsUp(metrics);
  await waitFor(up, { timeoutMs: 30_000, message: "the replicator connected on both sides" });
  log(
    `soak: ${rate} msg/s for ${soakMs / 1000} s, target restarted every ${o.restartEveryMs / 1000} s`,
  );

  const t0 = Date.now();
  let trafficDone = false;
  const traffic = publishPaced(source, channel, rate, soakMs / 1000, payload).finally(() => {
    trafficDone = true;
  });
  const ended = traffic.then(
    () => undefined,
    () => undefined,
  );
  const sleepUntil = (at: number): Promise<void> =>
    Promise.race([sleep(Math.max(0, at - Date.now())), ended]);

  const restarter = (async () => {
    for (let k = 1; k * o.restartEveryMs < soakMs; k++) {
      await sleepUntil(t0 + k * o.restartEveryMs);
      if (trafficDone) return;
      report.restarts.push(await restartTarget(dc2, up, t0));
      log(`target restarted: ${JSON.stringify(report.restarts.at(-1))}`);
    }
  })();
  while (!trafficDone) {
    const next = Date.now() + SAMPLE_MS;
    report.samples.push(await sample(metrics, child.pid, source, channel, t0));
    await sleepUntil(next);
  }
  const sent = await traffic;
  report.samples.push(await sample(metrics, child.pid, source, channel, t0));
  await restarter;
  report.published = sent.published;
  log(
    `soak: ${sent.published} published at ${Math.round(sent.rate)} msg/s; waiting for the durable`,
  );

  const settled = await waitForProgress({
    poll: async () => {
      const p = sourceProgress(await channelInfo(source.monitorUrl, channel, true), sent.published);
      return { count: p.processed, done: p.done };
    },
    intervalMs: 200,
    stallMs: SETTLE_STALL_MS,
    abort: () => (child.exited() ? `exited with code ${child.exitCode()}` : undefined),
    now: Date.now,
  });
  report.metrics = await metrics.read();
  report.peakRssMiB = peakRssMiB(child.pid);
  const stopAt = Date.now();
  const exitCode = await child.stop("SIGTERM");
  const stateFile = stateFilePath(path.join(dir, "state"), `sr_${runId}`);
  const stateSaved = existsSync(stateFile) && statSync(stateFile).mtimeMs >= stopAt - 1000;

  const expected = Math.min(sent.published, o.senders);
  const targetMsgs = (await channelInfo(dc2.monitorUrl ?? "", channel)).msgs;
  log(`soak: verifying ${targetMsgs} target messages`);
  const v = await verifyTarget(dc2.url, dc2.clusterId, channel, targetMsgs, {
    backlog: 0,
    live: expected,
    ordered: true,
  });
  report.verification = v;
  const m = report.metrics ?? {};
  const info = await channelInfo(source.monitorUrl, channel);
  report.counts = {
    published: sent.published,
    sourceLastSeq: info.last_seq,
    durableDone: settled.done,
    maxLag: Math.max(0, ...report.samples.map((s) => s.lag ?? 0)),
    channelMaxMsgs: CHANNEL_MAX_MSGS,
    perSample: Math.ceil((rate * SAMPLE_MS) / 1000),
    copied: m.stream_replicator_copied_msgs ?? 0,
    passed: m.stream_replicator_limiter_memory_passed ?? 0,
    failed: m.stream_replicator_failed_msgs ?? 0,
    expected,
    targetTotal: v.read,
    targetDistinct: v.distinct,
    missing: v.missing,
    unexpected: v.unexpected,
    outOfOrder: v.outOfOrder,
    exitCode,
    stateSaved,
  };
  report.verdict = verifySoak(report.counts);
  report.rss = summarizeRss(report.samples, WARMUP_MS);
  report.longestBlock = longestBlock(report.samples);
}

export interface Scraper {
  /** The replicator's /metrics summed by name; undefined when it does not answer. */
  read(): Promise<Record<string, number> | undefined>;
  /** The longest event-loop delay seen by any read since the last call, seconds. */
  takeLagMax(): number | undefined;
}

/**
 * Every scrape resets nodejs_eventloop_lag_max_seconds (prom-client), the restart watcher's
 * too: all of them go through here, and a sample takes the longest delay any of them saw.
 */
export function scraper(running: RunningContender): Scraper {
  let lagMax: number | undefined;
  return {
    async read() {
      const m = await running.metrics?.().catch(() => undefined);
      const v = m?.nodejs_eventloop_lag_max_seconds;
      if (v !== undefined) lagMax = Math.max(lagMax ?? 0, v);
      return m;
    },
    takeLagMax() {
      const v = lagMax;
      lagMax = undefined;
      return v;
    },
  };
}

/** Both of the worker's connections (source and target) up. */
async function connectionsUp(metrics: Scraper): Promise<boolean> {
  const m = await metrics.read();
  return m?.stream_replicator_connection_up === 2;
}

async function sample(
  metrics: Scraper,
  pid: number,
  source: Server,
  channel: string,
  t0: number,
): Promise<SoakSample> {
  const t = Date.now() - t0;
  const rss = rssMiB(pid);
  const [m, info] = await Promise.all([
    metrics.read(),
    channelInfo(source.monitorUrl, channel, true).catch(() => undefined),
  ]);
  const lag = info ? info.last_seq - sourceProgress(info, info.last_seq).processed : undefined;
  const lagMax = metrics.takeLagMax();
  return {
    t,
    rssMiB: rss,
    eventLoopMaxMs: lagMax === undefined ? undefined : lagMax * 1000,
    copied: m?.stream_replicator_copied_msgs,
    received: m?.stream_replicator_received_msgs,
    passed: m?.stream_replicator_limiter_memory_passed,
    tracked: m?.stream_replicator_limiter_tracked_values,
    stateSaves: m?.stream_replicator_state_save_seconds_count,
    sourceLastSeq: info?.last_seq,
    lag,
    healthy: m ? m.stream_replicator_connection_up === 2 : undefined,
  };
}

async function restartTarget(
  dc2: StanServer,
  up: () => Promise<boolean>,
  t0: number,
): Promise<TargetRestart> {
  const at = Date.now();
  // Watched from the SIGTERM on: the replicator's connections seen down, then up again.
  const back = (async (): Promise<number | undefined> => {
    let down = false;
    while (Date.now() - at < RECONNECT_DEADLINE_MS) {
      const isUp = await up();
      if (!isUp) down = true;
      else if (down) return Date.now() - at;
      await sleep(50);
    }
    return undefined;
  })();
  await dc2.restart();
  const serverMs = Date.now() - at;
  return { t: at - t0, serverMs, replicatorMs: await back };
}
