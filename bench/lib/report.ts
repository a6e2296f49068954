/**
 * The printed tables and the JSON file in bench/results/. STAN -> STAN: the ceiling, the
 * broker's one-hop latency, one row per contender, ratios against the reference Go replicator
 * ("peer"), the official nats-replicator and the ceiling. STAN -> JetStream, in a table of its
 * own: one row per contender, ratios against the reference Go bridge (js-peer) and stan2js's
 * synchronous copy (js-sync), and the duplicates found in the stream.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { LOW_LOAD_FRACTION } from "./broker-latency";
import type { BrokerLatency } from "./broker-latency";
import type { Ceiling } from "./ceiling";
import type { RunResult } from "./scenario";

export interface Report {
  started: string;
  finished?: string;
  machine: Record<string, unknown>;
  options: Record<string, unknown>;
  ceiling?: Ceiling | { error: string };
  /** One-hop latency of the source server alone (src = dst), after the contenders. */
  brokerLatency?: BrokerLatency[];
  runs: RunResult[];
  limiterMemory?: unknown;
  stateSave?: unknown;
  profile?: unknown;
  /** Every profiled run's summary, when more than one run was profiled. */
  profiles?: unknown[];
}

const COLUMNS = [
  "contender",
  "drain msg/s",
  "MB/s",
  "×peer",
  "×official",
  "×ceiling",
  "start s",
  "live msg/s",
  "p50 ms",
  "p99 ms",
  "max ms",
  "RSS MiB",
  "CPU s",
  "CPU µs/msg",
  "result",
] as const;

const int = (n: number | undefined): string =>
  n === undefined || !Number.isFinite(n) ? "-" : Math.round(n).toLocaleString("en-US");
const fix = (n: number | undefined, d = 1): string =>
  n === undefined || !Number.isFinite(n) ? "-" : n.toFixed(d);
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0 ? "-" : (a / b).toFixed(2);

export function formatTable(report: Report, size: number): string {
  const runs = report.runs.filter((r) => r.target !== "jetstream");
  const ceiling = report.ceiling && "rate" in report.ceiling ? report.ceiling : undefined;
  const peer = runs.find((r) => r.kind === "peer" && r.ok)?.drainRate;
  const official = runs.find((r) => r.kind === "official" && r.ok)?.drainRate;
  const rows: string[][] = [];
  if (ceiling) {
    rows.push([
      `ceiling: stan-bench min(pub ${int(ceiling.pubRate)}, sub ${int(ceiling.subRate)})`,
      int(ceiling.rate),
      fix((ceiling.rate * size) / 1048576),
      ratio(ceiling.rate, peer),
      ratio(ceiling.rate, official),
      "1.00",
      ...Array<string>(9).fill("-"),
    ]);
  }
  for (const b of report.brokerLatency ?? []) {
    rows.push([
      b.load === "contender"
        ? "broker alone: one hop on the source (sr-loadgen pub+sub)"
        : `broker alone: one hop on the source, low load (${LOW_LOAD_FRACTION * 100}%)`,
      ...Array<string>(6).fill("-"),
      int(b.rate),
      fix(b.latency?.p50),
      fix(b.latency?.p99),
      fix(b.latency?.max),
      ...Array<string>(3).fill("-"),
      b.error !== undefined
        ? `error: ${b.error.split("\n")[0] ?? ""}`
        : b.complete === false
          ? `incomplete: ${b.arrived ?? 0}/${b.expected ?? 0} arrived`
          : "-",
    ]);
  }
  for (const r of runs) {
    const failed = !r.ok;
    const rate = failed ? undefined : r.drainRate;
    rows.push([
      r.label,
      failed ? `(${int(r.drainRate)})` : int(rate),
      fix(failed ? undefined : r.drainMBps),
      ratio(rate, peer),
      ratio(rate, official),
      ratio(rate, ceiling?.rate),
      fix(r.startupSeconds, 2),
      int(r.live?.rate),
      fix(r.live?.latency?.p50),
      fix(r.live?.latency?.p99),
      fix(r.live?.latency?.max),
      fix(r.peakRssMiB, 0),
      fix(r.cpuSeconds, 1),
      fix(r.cpuMicrosPerMsg, 0),
      resultText(r),
    ]);
  }
  return renderTable(COLUMNS, rows);
}

const JS_COLUMNS = [
  "contender",
  "drain msg/s",
  "MB/s",
  "×js-peer",
  "×js-sync",
  "start s",
  "live msg/s",
  "p50 ms",
  "p99 ms",
  "max ms",
  "RSS MiB",
  "CPU s",
  "CPU µs/msg",
  "dups",
  "result",
] as const;

/** Drain rate over js-peer's and js-sync's, for each JetStream run that did not fail. */
export function fillJetStreamRatios(runs: RunResult[]): void {
  const js = runs.filter((r) => r.target === "jetstream");
  const jsPeer = js.find((r) => r.kind === "js-peer" && r.ok)?.drainRate;
  const jsSync = js.find((r) => r.kind === "js-sync" && r.ok)?.drainRate;
  const over = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined || b === undefined || b === 0 ? undefined : a / b;
  for (const r of js) {
    const rate = r.ok ? r.drainRate : undefined;
    r.ratios = { jsPeer: over(rate, jsPeer), jsSync: over(rate, jsSync) };
  }
}

/** The STAN -> JetStream rows (ratios from fillJetStreamRatios). */
export function formatJetStreamTable(report: Report): string {
  const rows = report.runs
    .filter((r) => r.target === "jetstream")
    .map((r) => {
      const failed = !r.ok;
      return [
        r.label,
        failed ? `(${int(r.drainRate)})` : int(r.drainRate),
        fix(failed ? undefined : r.drainMBps),
        fix(r.ratios?.jsPeer, 2),
        fix(r.ratios?.jsSync, 2),
        fix(r.startupSeconds, 2),
        int(r.live?.rate),
        fix(r.live?.latency?.p50),
        fix(r.live?.latency?.p99),
        fix(r.live?.latency?.max),
        fix(r.peakRssMiB, 0),
        fix(r.cpuSeconds, 1),
        fix(r.cpuMicrosPerMsg, 0),
        int(r.verification?.duplicates),
        resultText(r),
      ];
    });
  return renderTable(JS_COLUMNS, rows);
}

function resultText(r: RunResult): string {
  if (!r.ok) return `FAILED: ${r.failures.join("; ")}`;
  return r.warnings.length > 0 ? "OK (see warnings)" : "OK";
}

export function renderTable(columns: readonly string[], rows: string[][]): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) =>
        i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0),
      )
      .join(" | ")
      .trimEnd();
  const sep = widths.map((w) => "-".repeat(w)).join("-|-");
  return [line(columns), sep, ...rows.map(line)].join("\n");
}

/** Writes the report to bench/results/<timestamp>.json and returns the path. */
export function writeReport(report: Report, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${report.started.replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
  return file;
}
