/**
 * One contender, one fresh channel (and for a JetStream contender, one fresh stream):
 * (a) pre-filled backlog drain, (b) live traffic at half the measured drain rate with end-to-end
 * latency, then resources, then verification.
 */
import os from "node:os";
import * as path from "node:path";
import { launch } from "./contenders";
import type { ContenderSpec, Endpoint, RunningContender } from "./contenders";
import { deleteStream, readSource, streamMessages, verifyStream } from "./js-read";
import type { JsVerification } from "./js-verify";
import { publishBacklog, runJsLive, runLive } from "./load";
import type { LiveResult, PayloadSpec } from "./load";
import { channelInfo, sourceProgress, waitForProgress } from "./monitor";
import { nowMs } from "./payload";
import { cpuSeconds, peakRssMiB } from "./proc";
import type { StanServer } from "../../test/support/servers";
import { verifyTarget } from "./verify";
import type { Verification } from "./verify";

export interface Server extends Endpoint {
  monitorUrl: string;
  pid: number;
}

/** A STAN server the harness started, as a benchmark server (it needs its monitoring port). */
export function toServer(s: StanServer): Server {
  if (!s.monitorUrl) throw new Error(`${s.clusterId}: no monitoring port`);
  return { url: s.url, clusterId: s.clusterId, monitorUrl: s.monitorUrl, pid: s.pid };
}

/** The nats-server with JetStream that JetStream contenders copy to. */
export interface JetStreamServer {
  url: string;
  monitorUrl: string;
  pid: number;
}

export interface ScenarioContext {
  source: Server;
  target: Server;
  /** Present when JetStream contenders run. */
  jetstream?: JetStreamServer;
  count: number;
  size: number;
  senders: number;
  /** 0 skips the live phase. */
  liveSeconds: number;
  /** Live rate as a fraction of the contender's drain rate. */
  liveFraction: number;
  /** A fixed live rate for every contender (msg/s), instead of the fraction. */
  liveRate?: number;
  /** Unique per benchmark invocation. */
  tag: string;
  workDir: string;
  log(line: string): void;
}

export interface RunResult {
  id: string;
  label: string;
  kind: string;
  target: "stan" | "jetstream";
  ordered: boolean;
  workers: number;
  limiter: boolean;
  stateSeed?: number;
  channel: string;
  /** JetStream contenders: the stream the copies went to (deleted after verification). */
  stream?: string;
  /** Backlog publish rate of the load generator (msgs/s), for information. */
  fillRate: number;
  /** Spawn to first progress (message on the target, or acked on the source), seconds. */
  startupSeconds?: number;
  /**
   * Backlog drain, msgs/s. Copying contenders: from the target's own store timestamps of the
   * first and last backlog message (exact, start-up excluded). Limiter: drainRatePolled.
   */
  drainRate?: number;
  /** Drain rate from polling the monitoring endpoints every 10 ms: from the first sample with
   * progress to done (falls back to spawn-to-done when everything landed within one poll). */
  drainRatePolled?: number;
  drainMBps?: number;
  drainSeconds?: number;
  /** Contender CPU from first progress to the end of the drain, per message (µs). */
  cpuMicrosPerMsg?: number;
  /** Source / target server CPU seconds from spawn to the end of the drain. */
  serverCpuDrain?: { source?: number; target?: number };
  live?: LiveResult & { targetRate: number };
  peakRssMiB?: number;
  /** Contender CPU seconds for the whole run (start-up, drain, live). */
  cpuSeconds?: number;
  exitCode?: number | null;
  metrics?: Record<string, number>;
  verification?: Verification | JsVerification;
  /** JetStream rows: drain msg/s divided by js-peer's and js-sync's (filled by the report). */
  ratios?: { jsPeer?: number; jsSync?: number };
  /** Source durable fully acknowledged at the end. */
  sourceAcked?: boolean;
  ok: boolean;
  failures: string[];
  warnings: string[];
  loadavg: { start: number[]; end: number[] };
  profileDir?: string;
}

const POLL_MS = 10;
const STALL_MS = 30_000;

const loadavg = (): number[] => os.loadavg().map((v) => Math.round(v * 100) / 100);

/** A result that has not succeeded (yet): the contender's description and nothing measured. */
export function emptyResult(spec: ContenderSpec, channel: string): RunResult {
  return {
    id: spec.id,
    label: spec.label,
    kind: spec.kind,
    target: spec.target,
    ordered: spec.ordered,
    workers: spec.workers,
    limiter: spec.limiter,
    stateSeed: spec.stateSeed,
    channel,
    fillRate: 0,
    ok: false,
    failures: [],
    warnings: [],
    loadavg: { start: loadavg(), end: [] },
  };
}

export async function runScenario(spec: ContenderSpec, ctx: ScenarioContext): Promise<RunResult> {
  const runId = `${ctx.tag}_${spec.id.replace(/[^A-Za-z0-9]/g, "_")}`;
  const channel = `bench.${runId}`;
  const r = emptyResult(spec, channel);
  const payload: PayloadSpec = { size: ctx.size, senders: ctx.senders };
  if (spec.target === "jetstream") {
    if (!ctx.jetstream) throw new Error(`${spec.id}: no JetStream server`);
    r.stream = `BENCH_${runId}`;
  }
  const js = ctx.jetstream && r.stream ? { url: ctx.jetstream.url, stream: r.stream } : undefined;

  ctx.log(`${spec.id}: publishing a backlog of ${ctx.count} to ${channel}`);
  r.fillRate = await publishBacklog(ctx.source, channel, ctx.count, payload);
  const running = await launch(spec, {
    source: ctx.source,
    target: ctx.target,
    ...(js ? { jetstream: js } : {}),
    channel,
    runId,
    dir: path.join(ctx.workDir, runId),
  });
  r.profileDir = running.profileDir;
  ctx.log(`${spec.id}: started pid ${running.child.pid}, draining`);

  const drained = await drainPhase(spec, ctx, running, channel, r);
  let liveTotal = 0;
  if (drained && r.drainRate && ctx.liveSeconds > 0 && !spec.cpuProfile) {
    liveTotal = await livePhase(spec, ctx, channel, payload, r);
  }
  await finish(spec, ctx, running, channel, ctx.count + liveTotal, r);
  r.ok = r.failures.length === 0;
  r.loadavg.end = loadavg();
  ctx.log(`${spec.id}: ${r.ok ? "OK" : `FAILED: ${r.failures.join("; ")}`}`);
  return r;
}

/** (a) Times the backlog drain. Progress is the target's message count, or for the limiter
 * (whose skipped messages never reach the target) what the source durable has acked. */
async function drainPhase(
  spec: ContenderSpec,
  ctx: ScenarioContext,
  running: RunningContender,
  channel: string,
  r: RunResult,
): Promise<boolean> {
  const { child } = running;
  const spawnedAt = nowMs();
  const targetPid = r.stream && ctx.jetstream ? ctx.jetstream.pid : ctx.target.pid;
  const srcCpu0 = cpuSeconds(ctx.source.pid);
  const dstCpu0 = cpuSeconds(targetPid);
  let cpuAtFirst: number | undefined;
  const drain = await waitForProgress({
    poll: async () => {
      if (spec.limiter) {
        const p = sourceProgress(
          await channelInfo(ctx.source.monitorUrl, channel, true),
          ctx.count,
        );
        return { count: p.processed, done: p.done };
      }
      const msgs =
        r.stream && ctx.jetstream
          ? await streamMessages(ctx.jetstream.monitorUrl, r.stream)
          : (await channelInfo(ctx.target.monitorUrl, channel)).msgs;
      return { count: msgs, done: msgs >= ctx.count };
    },
    intervalMs: POLL_MS,
    stallMs: STALL_MS,
    abort: () => (child.exited() ? `exited with code ${child.exitCode()}` : undefined),
    onFirst: () => (cpuAtFirst = cpuSeconds(child.pid)),
    now: nowMs,
  });
  const cpuEnd = cpuSeconds(child.pid);
  const delta = (pid: number, before?: number): number | undefined => {
    const now = cpuSeconds(pid);
    return now === undefined || before === undefined ? undefined : now - before;
  };
  r.serverCpuDrain = {
    source: delta(ctx.source.pid, srcCpu0),
    target: delta(targetPid, dstCpu0),
  };
  if (drain.first) r.startupSeconds = (drain.first.at - spawnedAt) / 1000;
  if (!drain.done) {
    r.failures.push(
      `backlog not drained: ${drain.reason ?? "?"} at ${drain.last.count}/${ctx.count}`,
    );
    return false;
  }
  const first = drain.first ?? drain.last;
  const moved = drain.last.count - first.count;
  const span = drain.last.at - first.at;
  // Everything within one poll interval: fall back to spawn-to-done (includes the start-up).
  r.drainRatePolled =
    span > 0 && moved > 0
      ? (moved * 1000) / span
      : (ctx.count * 1000) / (drain.last.at - spawnedAt);
  setDrainRate(r, r.drainRatePolled, ctx);
  // CPU per message over the same samples (start-up excluded); when everything landed within
  // one poll, over the whole run.
  if (cpuEnd !== undefined && cpuAtFirst !== undefined && moved > 0) {
    r.cpuMicrosPerMsg = ((cpuEnd - cpuAtFirst) * 1e6) / moved;
  } else if (cpuEnd !== undefined) {
    r.cpuMicrosPerMsg = (cpuEnd * 1e6) / ctx.count;
  }
  ctx.log(`${spec.id}: drained ${ctx.count} at ${Math.round(r.drainRatePolled)} msgs/s (polled)`);
  return true;
}

/** (b) Live traffic at half the drain rate (or --live-rate); returns how many were published. */
async function livePhase(
  spec: ContenderSpec,
  ctx: ScenarioContext,
  channel: string,
  payload: PayloadSpec,
  r: RunResult,
): Promise<number> {
  const targetRate = ctx.liveRate ?? (r.drainRate ?? 0) * ctx.liveFraction;
  const planned = Math.max(1, Math.round(targetRate * ctx.liveSeconds));
  const expected = spec.limiter ? Math.min(planned, ctx.senders) : planned;
  ctx.log(`${spec.id}: live traffic at ${Math.round(targetRate)} msgs/s for ${ctx.liveSeconds} s`);
  const live =
    r.stream && ctx.jetstream
      ? await runJsLive(
          ctx.source,
          channel,
          { url: ctx.jetstream.url, stream: r.stream },
          targetRate,
          ctx.liveSeconds,
          expected,
          payload,
        )
      : await runLive(
          ctx.source,
          ctx.target,
          channel,
          targetRate,
          ctx.liveSeconds,
          expected,
          payload,
        );
  r.live = { ...live, targetRate };
  if (!live.complete) r.failures.push(`live: ${live.arrived}/${live.expected} arrived within 30 s`);
  return live.published;
}

/** Waits for the source to be fully acked, reads /proc and /metrics, stops, verifies. */
async function finish(
  spec: ContenderSpec,
  ctx: ScenarioContext,
  running: RunningContender,
  channel: string,
  total: number,
  r: RunResult,
): Promise<void> {
  const { child } = running;
  const acked = await waitForProgress({
    poll: async () => {
      const info = await channelInfo(ctx.source.monitorUrl, channel, true);
      const p = sourceProgress(info, total, spec.ephemeral);
      return { count: p.processed, done: p.done };
    },
    intervalMs: 50,
    stallMs: 10_000,
    abort: () => (child.exited() ? `exited with code ${child.exitCode()}` : undefined),
    now: nowMs,
  });
  r.sourceAcked = acked.done;
  if (!acked.done) r.failures.push(`source not fully acknowledged (${acked.reason ?? "?"})`);

  r.peakRssMiB = peakRssMiB(child.pid);
  r.cpuSeconds = cpuSeconds(child.pid);
  if (running.metrics && !child.exited())
    r.metrics = await running.metrics().catch(() => undefined);
  r.exitCode = await child.stop("SIGTERM");
  // nats-replicator has no SIGTERM handler: ending by that signal is its normal stop.
  if (r.exitCode !== 0 && child.exitSignal() !== "SIGTERM") {
    const how = r.exitCode === null ? `signal ${child.exitSignal() ?? "?"}` : `code ${r.exitCode}`;
    r.warnings.push(`stopped with ${how}: ${child.output().slice(-500)}`);
  }
  if (r.stream && ctx.jetstream) {
    if (!spec.cpuProfile)
      await verifyJetStream(spec, ctx, ctx.jetstream, r.stream, channel, total, r);
    await deleteStream(ctx.jetstream.url, r.stream).catch((err: unknown) => {
      r.warnings.push(`stream ${r.stream ?? ""} not deleted: ${String(err)}`);
    });
    return;
  }
  if (spec.cpuProfile) return;

  const targetMsgs = (await channelInfo(ctx.target.monitorUrl, channel)).msgs;
  ctx.log(`${spec.id}: verifying ${targetMsgs} target messages`);
  const liveTotal = total - ctx.count;
  r.verification = await verifyTarget(ctx.target.url, ctx.target.clusterId, channel, targetMsgs, {
    backlog: spec.limiter ? Math.min(ctx.count, ctx.senders) : ctx.count,
    live: spec.limiter ? Math.min(liveTotal, ctx.senders) : liveTotal,
    ordered: spec.ordered,
  });
  applyVerification(spec, ctx, r.verification, r);
}

/** Failures, warnings and the drain rate from the target's own store times. */
function applyVerification(
  spec: ContenderSpec,
  ctx: ScenarioContext,
  v: Verification,
  r: RunResult,
): void {
  r.failures.push(...v.problems);
  r.warnings.push(...v.warnings);
  if (
    !spec.limiter &&
    v.backlogStoredFirstMs !== undefined &&
    v.backlogStoredLastMs !== undefined
  ) {
    const storedSpan = v.backlogStoredLastMs - v.backlogStoredFirstMs;
    if (storedSpan > 0) setDrainRate(r, ((v.backlogDistinct - 1) * 1000) / storedSpan, ctx);
  }
}

/**
 * JetStream: the source channel and the whole stream read back (js-verify.ts: exactly once,
 * byte for byte, in order for ordered contenders).
 */
async function verifyJetStream(
  spec: ContenderSpec,
  ctx: ScenarioContext,
  js: JetStreamServer,
  stream: string,
  channel: string,
  total: number,
  r: RunResult,
): Promise<void> {
  ctx.log(`${spec.id}: verifying stream ${stream} against ${total} source messages`);
  const source = await readSource(ctx.source.url, ctx.source.clusterId, channel, total);
  const v = await verifyStream(js.url, stream, source, total, {
    backlog: ctx.count,
    ordered: spec.ordered,
    ...(spec.msgIds ? { msgIdPrefix: `${ctx.source.clusterId}:${channel}:` } : {}),
  });
  r.verification = v;
  applyVerification(spec, ctx, v, r);
}

function setDrainRate(r: RunResult, rate: number, ctx: ScenarioContext): void {
  r.drainRate = rate;
  r.drainSeconds = ctx.count / rate;
  r.drainMBps = (rate * ctx.size) / 1024 / 1024;
}
