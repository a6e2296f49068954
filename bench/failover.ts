/**
 * npm run bench:failover [-- options] (or npm run bench -- --failover ...): how long ordered
 * replication stalls when the target cluster's leader dies (kill -9) or hangs (SIGSTOP 5 s),
 * at 100 and 2,000 msg/s of live traffic, for one or more checkouts of the replicator (the
 * before and after of a change), runs interleaved. Prints one row per run and the medians,
 * writes bench/results/<time>-failover.json. What each column means: bench/README.md.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import * as path from "node:path";
import { STAN_SERVER_BIN, startStan, stopAll } from "../test/support/servers";
import { REPO } from "./lib/contenders";
import { SCENARIO_LABELS, runFailover } from "./lib/failover-run";
import type { FailoverRun } from "./lib/failover-run";
import { versionOf } from "./lib/failover-replicator";
import type { Replicator } from "./lib/failover-replicator";
import { FAILOVER_USAGE, parseFailoverOptions } from "./lib/failover-options";
import { formatMedians, formatRuns } from "./lib/failover-report";
import { waitForQuietMachine } from "./lib/load-wait";

const log = (line: string): void => {
  process.stderr.write(`[failover ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

async function main(): Promise<number> {
  const o = parseFailoverOptions(process.argv.slice(2));
  if (o.help) {
    process.stdout.write(`${FAILOVER_USAGE}\n`);
    return 0;
  }
  const git = (args: string[]): string => execFileSync("git", args, { encoding: "utf8" });
  const replicators: Replicator[] = o.dirs.map((dir) => ({ dir, version: versionOf(dir, git) }));
  const started = new Date();
  const tag = started.getTime().toString(36);
  const runs: FailoverRun[] = [];
  const dir = o.results ?? path.join(REPO, "bench", "results");
  const stamp = started.toISOString().replace(/[:.]/g, "-");
  const logDir = o.logs ? path.join(dir, `${stamp}-failover-logs`) : undefined;
  const report = {
    started: started.toISOString(),
    finished: undefined as string | undefined,
    machine: {
      nproc: os.availableParallelism(),
      cpuModel: os.cpus()[0]?.model,
      node: process.version,
    },
    streamingServer: execFileSync(STAN_SERVER_BIN, ["--version"], { encoding: "utf8" }).trim(),
    options: o,
    replicators,
    runs,
  };
  try {
    const dc1 = await startStan({ clusterId: "dc1", store: "FILE", monitorPort: true });
    const source = { url: dc1.url, clusterId: dc1.clusterId, monitorUrl: dc1.monitorUrl ?? "" };
    for (let run = 1; run <= o.runs; run++) {
      for (const scenario of o.scenarios) {
        for (const rate of o.rates) {
          for (const [i, replicator] of replicators.entries()) {
            const load =
              o.maxLoad === undefined
                ? undefined
                : await waitForQuietMachine({ maxLoad: o.maxLoad, log });
            const channel = `fo.${tag}.${scenario}.${rate}.${run}.${i}`;
            log(
              `${replicator.version}: ${SCENARIO_LABELS[scenario]} at ${rate} msg/s, run ${run}/${o.runs}`,
            );
            const r = await runFailover({
              scenario,
              rate,
              replicator,
              source,
              channel,
              logDir,
              log,
            });
            r.run = run;
            r.load = load;
            runs.push(r);
            log(formatRuns([r]).split("\n")[2] ?? "");
          }
        }
      }
    }
  } finally {
    await stopAll();
  }
  report.finished = new Date().toISOString();
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${stamp}-failover.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  const quiet = runs.filter((r) => r.load?.quiet === false).length;
  process.stdout.write(
    [
      "",
      `failover stall: target 3-node cluster (FILE, raft heartbeat/election 1 s, lease 500 ms), ` +
        `replicator ordered with default settings (publish_timeout 10 s) on a follower`,
      ...replicators.map((r) => `${r.version} = ${r.dir}`),
      "",
      formatRuns(runs),
      "",
      formatMedians(runs),
      ...(quiet > 0 ? ["", `${quiet} runs started with the load average above ${o.maxLoad}`] : []),
      "",
      `results: ${path.relative(process.cwd(), file)}`,
      "",
    ].join("\n"),
  );
  return runs.every((r) => r.ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `failover: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(2);
  },
);
