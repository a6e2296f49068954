/** Command-line options of bench/failover.ts. */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { REPO } from "./contenders";
import type { FailoverScenario } from "./failover-run";

export const FAILOVER_USAGE = `Usage: npm run bench:failover -- [options]

  --replicator-dir DIR  a checkout whose src/main.ts is run with tsx (repeat for before/after;
                        default: this repository); without its own node_modules it uses this
                        repository's
  --scenarios LIST      kill, stop or kill,stop (default): target leader kill -9, or SIGSTOP 5 s
  --rates LIST          live msg/s (default 100,2000)
  --runs N              runs of each scenario, rate and checkout (default 3)
  --max-load L          before each run wait until the 1-minute load average is below L
                        (polled every minute, at most 20 minutes, then measured anyway)
  --results DIR         where the JSON goes (default bench/results)
  --logs                also keep each run's replicator output (log_level info) in
                        <results>/<time>-failover-logs/<channel>.log
  -h, --help`;

export interface FailoverOptions {
  dirs: string[];
  scenarios: FailoverScenario[];
  rates: number[];
  runs: number;
  maxLoad?: number;
  results?: string;
  logs: boolean;
  help: boolean;
}

export function parseFailoverOptions(argv: string[]): FailoverOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      "replicator-dir": { type: "string", multiple: true },
      scenarios: { type: "string" },
      rates: { type: "string" },
      runs: { type: "string" },
      "max-load": { type: "string" },
      results: { type: "string" },
      logs: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  const list = (text: string | undefined, fallback: string): string[] =>
    (text ?? fallback)
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
  const scenarios = list(values.scenarios, "kill,stop").map((s) => {
    if (s !== "kill" && s !== "stop") throw new Error(`--scenarios: "${s}" is not kill or stop`);
    return s;
  });
  const number = (name: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name}: "${text}" is not >= ${min}`);
    return n;
  };
  return {
    dirs: (values["replicator-dir"] ?? [REPO]).map((d) => path.resolve(d)),
    scenarios,
    rates: list(values.rates, "100,2000").map((r) => number("rates", r, 1)),
    runs: Math.round(number("runs", values.runs ?? "3", 1)),
    maxLoad:
      values["max-load"] === undefined ? undefined : number("max-load", values["max-load"], 0),
    results: values.results,
    logs: values.logs ?? false,
    help: values.help ?? false,
  };
}
