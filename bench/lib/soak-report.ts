/** The soak's printed summary (bench/lib/soak.ts). */
import { renderTable } from "./report";
import type { SoakReport } from "./soak";

const mib = (n: number | undefined): string => (n === undefined ? "-" : n.toFixed(1));
const minutes = (ms: number): string => `${(ms / 60_000).toFixed(1)} min`;

export function formatSoak(r: SoakReport): string {
  const o = r.options;
  const lines = [
    "",
    `soak: ${minutes(o.soakMs ?? 0)} of live traffic at ${r.rate ?? "?"} msg/s` +
      (r.drain?.drainRate
        ? ` (${Math.round(o.liveFraction * 100)}% of a drain at ${Math.round(r.drain.drainRate)} msg/s)`
        : " (--live-rate)") +
      `, ${o.size} B, ${o.senders} senders, ${o.store} store; the target restarted every ${minutes(o.restartEveryMs)}`,
    `load average ${fmtLoad(r.machine.loadavgStart)} at start, ${fmtLoad(r.machine.loadavgEnd)} at end` +
      (r.load && !r.load.quiet ? ` (never below ${r.load.maxLoad}: measured anyway)` : ""),
  ];
  if (r.error) lines.push(`ERROR: ${r.error}`);
  const s = r.rss;
  if (s) {
    lines.push(
      "",
      renderTable(
        ["RSS MiB", "start (after 1 min)", "middle", "end", "max", "growth", "slope MiB/min"],
        [
          [
            "VmRSS",
            `${mib(s.start.rssMiB)} at ${minutes(s.start.t)}`,
            `${mib(s.middle.rssMiB)} at ${minutes(s.middle.t)}`,
            `${mib(s.end.rssMiB)} at ${minutes(s.end.t)}`,
            `${mib(s.max.rssMiB)} at ${minutes(s.max.t)}`,
            mib(s.growthMiB),
            s.slopeMiBPerMin === undefined ? "-" : s.slopeMiBPerMin.toFixed(3),
          ],
        ],
      ),
      `peak (VmHWM) ${mib(r.peakRssMiB)} MiB`,
    );
  }
  if (r.longestBlock)
    lines.push(
      `longest event-loop block: ${r.longestBlock.ms.toFixed(1)} ms (in the 10 s before ${minutes(r.longestBlock.t)})`,
    );
  lines.push(
    `target restarts: ${r.restarts.length}` +
      (r.restarts.length > 0
        ? ` (replicator back after ${r.restarts.map((x) => (x.replicatorMs === undefined ? "?" : `${(x.replicatorMs / 1000).toFixed(1)} s`)).join(", ")})`
        : ""),
  );
  const c = r.counts;
  if (c) {
    lines.push(
      `published ${c.published}, source last_seq ${c.sourceLastSeq}, durable acked all: ${c.durableDone ? "yes" : "NO"}, max lag ${c.maxLag}`,
      `limiter passed ${c.passed}, copied ${c.copied}, failed ${c.failed} (passed again); target ${c.targetTotal} messages, ${c.targetDistinct} distinct of ${c.expected} expected (missing ${c.missing}, not expected ${c.unexpected}, out of order ${c.outOfOrder})`,
    );
  }
  if (r.verdict)
    lines.push(
      `verification: ${r.verdict.ok ? "OK: nothing lost" : `FAILED: ${r.verdict.problems.join("; ")}`}`,
    );
  return lines.join("\n");
}

function fmtLoad(v: unknown): string {
  return Array.isArray(v) ? v.map((x: number) => x.toFixed(2)).join(" ") : "?";
}
