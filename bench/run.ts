/**
 * npm run bench (scripts/bench.sh builds first, then runs this file): starts a source (dc1) and
 * a target (dc2) streaming server (and with JetStream contenders, a nats-server -js), measures
 * the ceiling with stan-bench, runs every contender on a fresh channel one after another, prints
 * the tables and writes bench/results/<time>.json. See bench/README.md for what each column means.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { NATS_SERVER_BIN, startNatsServer } from "../test/support/nats-server";
import { STAN_SERVER_BIN, startStan, stopAll } from "../test/support/servers";
import { measureBrokerLatency, probeRate } from "./lib/broker-latency";
import { STAN_BENCH_BIN, measureCeiling } from "./lib/ceiling";
import { LOADGEN_BIN } from "./lib/load";
import {
  OURS_MAIN,
  PEER_BIN,
  PEER_LABEL,
  REPO,
  STATE_SEED,
  contenderList,
  requireTools,
} from "./lib/contenders";
import type { ContenderSpec } from "./lib/contenders";
import {
  JSBRIDGE_BIN,
  JSLIVE_BIN,
  JSSYNC_BIN,
  JS_PEER_LABEL,
  JS_SYNC_LABEL,
  OURS_OFFICIAL_JS_MAIN,
} from "./lib/js-contenders";
import { runLimiterMemory } from "./lib/limiter-memory";
import { USAGE, parseOptions } from "./lib/options";
import type { BenchOptions } from "./lib/options";
import { formatProfile, summarizeProfile } from "./lib/profile";
import type { ProfileSummary } from "./lib/profile";
import { fillJetStreamRatios, formatJetStreamTable, formatTable, writeReport } from "./lib/report";
import type { Report } from "./lib/report";
import { emptyResult, runScenario, toServer } from "./lib/scenario";
import type { RunResult, ScenarioContext } from "./lib/scenario";
import { runSoak } from "./lib/soak";

/** No store limits: the default 1,000,000 messages / ~1 GB per channel would discard data. */
const SERVER_LIMITS = ["-mc", "0", "-mm", "0", "-mb", "0", "-msu", "0"];

const log = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

function machine(): Record<string, unknown> {
  const tryRun = (cmd: string, args: string[]): string | undefined => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8" }).trim();
    } catch {
      return undefined;
    }
  };
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model,
    memTotalGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    memFreeGiB: Math.round((os.freemem() / 1024 ** 3) * 10) / 10,
    loadavgStart: os.loadavg(),
    kernel: os.release(),
    node: process.version,
    go: tryRun("go", ["version"]),
    streamingServer: tryRun(STAN_SERVER_BIN, ["--version"]),
    natsServer: tryRun(NATS_SERVER_BIN, ["--version"]),
  };
}

function requireContenderTools(o: BenchOptions, specs: ContenderSpec[]): void {
  requireTools([
    [true, STAN_SERVER_BIN, "bash scripts/install-servers.sh"],
    [
      !o.only || o.only.includes("ceiling"),
      STAN_BENCH_BIN,
      "bash scripts/install-servers.sh --bench",
    ],
    [specs.some((s) => s.kind === "peer"), PEER_BIN, "npm run bench (builds bench/peer)"],
    [true, LOADGEN_BIN, "npm run bench (builds bench/loadgen)"],
    [specs.some((s) => s.kind === "ours"), OURS_MAIN, "npm run build"],
    [withJetStream(specs), NATS_SERVER_BIN, "bash scripts/install-servers.sh"],
    [
      specs.some((s) => s.kind === "js-peer"),
      JSBRIDGE_BIN,
      "npm run bench (builds bench/jsbridge)",
    ],
    [specs.some((s) => s.kind === "js-sync"), JSSYNC_BIN, "npm run bench (builds bench/jssync)"],
    [withJetStream(specs), JSLIVE_BIN, "npm run bench (builds bench/jslive)"],
    [specs.some((s) => s.main === OURS_OFFICIAL_JS_MAIN), OURS_OFFICIAL_JS_MAIN, "npm run build"],
  ]);
}

function withJetStream(specs: ContenderSpec[]): boolean {
  return specs.some((s) => s.target === "jetstream");
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  // --soak: a long run of ours alone instead of the contenders (bench/lib/soak.ts).
  if (o.soakMs !== undefined) return runSoak(o, log);
  const specs = contenderList(o);
  requireContenderTools(o, specs);
  const started = new Date();
  const tag = started.getTime().toString(36);
  const resultsDir = o.results ?? path.join(REPO, "bench", "results");
  const report: Report = {
    started: started.toISOString(),
    machine: machine(),
    options: { ...o },
    runs: [],
  };
  const workDir = mkdtempSync(path.join(os.tmpdir(), "sr-bench-"));
  log(
    `machine: ${os.availableParallelism()} cpus, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  log(`${o.count} messages of ${o.size} bytes, ${o.store} store, live ${o.liveSeconds} s`);
  try {
    const common = { store: o.store, monitorPort: true, extraArgs: SERVER_LIMITS } as const;
    const [dc1, dc2, js] = await Promise.all([
      startStan({ clusterId: "dc1", ...common }),
      startStan({ clusterId: "dc2", ...common }),
      // JetStream with its store in a temporary directory; every stream is created FILE.
      withJetStream(specs) ? startNatsServer({ jetstream: true }) : undefined,
    ]);
    if (js) log(`JetStream target: ${js.url} (nats-server pid ${js.pid})`);
    const ctx: ScenarioContext = {
      source: toServer(dc1),
      target: toServer(dc2),
      count: o.count,
      size: o.size,
      senders: o.senders,
      liveSeconds: o.liveSeconds,
      liveFraction: o.liveFraction,
      liveRate: o.liveRate,
      ...(js ? { jetstream: { url: js.url, monitorUrl: js.monitorUrl, pid: js.pid } } : {}),
      tag,
      workDir,
      log,
    };

    const withCeiling = !o.only || o.only.includes("ceiling");
    if (withCeiling) {
      log("ceiling: stan-bench publish, then subscribe");
      report.ceiling = await measureCeiling(
        ctx.source,
        `bench.${tag}_ceiling`,
        o.count,
        o.size,
      ).catch((err: unknown) => ({ error: String(err) }));
    }
    for (const spec of specs) {
      report.runs.push(await runScenario(spec, ctx).catch((err: unknown) => crashed(spec, err)));
    }
    // After the contenders, so that the probes add no load to their runs.
    if (withCeiling && o.liveSeconds > 0) {
      const rate = probeRate(report.runs, o.liveRate);
      if (rate === undefined)
        log("broker latency: skipped (no live phase of ours-ordered, no --live-rate)");
      else report.brokerLatency = await measureBrokerLatency(ctx, rate);
    }
    if (o.limiter) {
      log("limiter-memory.ts with 1,000,000 senders");
      report.limiterMemory = await runLimiterMemory(STATE_SEED).catch((err: unknown) => ({
        error: String(err),
      }));
      report.stateSave = stateSaveComparison(report.runs);
    }
    // Each profiled run's .cpuprofile is kept next to the JSON (<time>-ours-ordered.cpuprofile,
    // -ours-js-ordered..., ...); `profile` is the first summary, `profiles` all of them.
    const profiles: ProfileSummary[] = [];
    for (const profiled of report.runs) {
      if (!profiled.profileDir || !existsSync(profiled.profileDir)) continue;
      const file = readdirSync(profiled.profileDir).find((f) => f.endsWith(".cpuprofile"));
      if (!file) continue;
      const name = profiled.id.replace(/-cpuprof$/, "");
      const kept = path.join(
        resultsDir,
        `${report.started.replace(/[:.]/g, "-")}-${name}.cpuprofile`,
      );
      mkdirSync(resultsDir, { recursive: true });
      copyFileSync(path.join(profiled.profileDir, file), kept);
      profiles.push(summarizeProfile(kept));
    }
    report.profile = profiles[0];
    if (profiles.length > 1) report.profiles = profiles;
  } finally {
    await stopAll();
    rmSync(workDir, { recursive: true, force: true });
  }
  report.finished = new Date().toISOString();
  report.machine.loadavgEnd = os.loadavg();
  fillJetStreamRatios(report.runs);
  const stanRuns = report.runs.some((r) => r.target === "stan") || report.ceiling !== undefined;
  const jsRuns = report.runs.some((r) => r.target === "jetstream");

  const out: string[] = [
    "",
    `stream-replicator benchmark: ${o.count} x ${o.size} B, ${o.store} store, live ${o.liveSeconds} s at ${o.liveRate !== undefined ? `${o.liveRate} msg/s` : `${Math.round(o.liveFraction * 100)}% of each drain rate`}`,
    `machine: ${String(report.machine.nproc)} cpus (${String(report.machine.cpuModel)}), ${String(report.machine.memTotalGiB)} GiB; ` +
      `load avg ${fmtLoad(report.machine.loadavgStart)} at start, ${fmtLoad(report.machine.loadavgEnd)} at end`,
    ...(stanRuns ? [`peer = ${PEER_LABEL}`, "", formatTable(report, o.size)] : []),
    ...(jsRuns
      ? [
          ...(stanRuns ? [""] : []),
          `STAN -> JetStream (${String(report.machine.natsServer ?? "nats-server")}, FILE streams)`,
          `js-peer = ${JS_PEER_LABEL}`,
          `js-sync = ${JS_SYNC_LABEL}`,
          "",
          formatJetStreamTable(report),
        ]
      : []),
  ];
  for (const r of report.runs.filter((x) => x.warnings.length > 0))
    out.push(`warning ${r.id}: ${r.warnings.join("; ")}`);
  if (report.stateSave) out.push("", `state save under load: ${JSON.stringify(report.stateSave)}`);
  if (report.limiterMemory && "figures" in (report.limiterMemory as object)) {
    out.push(
      "",
      "limiter-memory.ts (1,000,000 senders):",
      (report.limiterMemory as { output: string }).output.trimEnd(),
    );
  }
  for (const p of (report.profiles ?? [report.profile]) as Array<ProfileSummary | undefined>) {
    if (p) out.push("", formatProfile(p));
  }
  const file = writeReport(report, resultsDir);
  out.push("", `results: ${path.relative(process.cwd(), file)}`);
  process.stdout.write(`${out.join("\n")}\n`);
  return report.runs.every((r) => r.ok) ? 0 : 1;
}

function fmtLoad(v: unknown): string {
  return Array.isArray(v) ? v.map((x: number) => x.toFixed(2)).join(" ") : "?";
}

function crashed(spec: ContenderSpec, err: unknown): RunResult {
  log(`${spec.id}: FAILED: ${String(err)}`);
  const r = emptyResult(spec, "");
  r.failures.push(`harness error: ${err instanceof Error ? err.message : String(err)}`);
  r.loadavg.end = os.loadavg();
  return r;
}

/** Limiter drain with and without a 1M-entry state being saved every second. */
function stateSaveComparison(runs: RunResult[]): Record<string, unknown> | undefined {
  const base = runs.find((r) => r.id === "ours-limiter");
  const saving = runs.find((r) => r.id === "ours-limiter-state-1m");
  if (!saving) return undefined;
  const saves = saving.metrics?.stream_replicator_state_save_seconds_count;
  const saveSum = saving.metrics?.stream_replicator_state_save_seconds_sum;
  return {
    drainWithoutSave: base?.drainRate,
    drainWhileSaving: saving.drainRate,
    ratio: base?.drainRate && saving.drainRate ? saving.drainRate / base.drainRate : undefined,
    saves,
    meanSaveSeconds: saves && saveSum !== undefined ? saveSum / saves : undefined,
    peakRssMiBWith1M: saving.peakRssMiB,
    trackedAtEnd: saving.metrics?.stream_replicator_limiter_tracked_values,
  };
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(2);
  },
);
