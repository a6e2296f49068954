/** The printed tables of bench/failover.ts: one row per run, then medians. */
import { median } from "./failover-analysis";
import { SCENARIO_LABELS } from "./failover-run";
import type { FailoverRun } from "./failover-run";
import { renderTable } from "./report";

const ms = (n: number | undefined): string => (n === undefined ? "-" : String(Math.round(n)));

/** One row per run. */
export function formatRuns(runs: readonly FailoverRun[]): string {
  const rows = runs.map((r) => [
    r.version,
    SCENARIO_LABELS[r.scenario],
    String(r.rate),
    String(r.run ?? "-"),
    ms(r.electionMs),
    ms(r.stallMs),
    ms(r.polledStallMs),
    r.inOrder === undefined
      ? "-"
      : r.inOrder
        ? "yes"
        : `no (${r.disorder?.lateArrivals ?? "?"} late)`,
    r.lost === undefined ? "-" : String(r.lost),
    r.duplicates === undefined ? "-" : String(r.duplicates),
    r.ok ? "OK" : `FAILED: ${r.failures.join("; ")}`,
  ]);
  return renderTable(
    [
      "replicator",
      "scenario",
      "msg/s",
      "run",
      "election ms",
      "stall ms",
      "polled ms",
      "in order",
      "lost",
      "dups",
      "result",
    ],
    rows,
  );
}

/** Medians per checkout, scenario and rate. */
export function formatMedians(runs: readonly FailoverRun[]): string {
  const groups = new Map<string, FailoverRun[]>();
  for (const r of runs) {
    const key = `${r.version}\u0000${r.scenario}\u0000${r.rate}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows = [...groups.values()].map((g) => {
    const first = g[0] as FailoverRun;
    const all = (pick: (r: FailoverRun) => number | undefined): string =>
      `${ms(median(g.map(pick)))} (${g.map((r) => ms(pick(r))).join(", ")})`;
    return [
      first.version,
      SCENARIO_LABELS[first.scenario],
      String(first.rate),
      all((r) => r.electionMs),
      all((r) => r.stallMs),
      `${g.filter((r) => r.inOrder === true).length}/${g.length}`,
      String(g.reduce((n, r) => n + (r.lost ?? 0), 0)),
    ];
  });
  return renderTable(
    [
      "replicator",
      "scenario",
      "msg/s",
      "election ms: median (runs)",
      "stall ms: median (runs)",
      "in order",
      "lost",
    ],
    rows,
  );
}
