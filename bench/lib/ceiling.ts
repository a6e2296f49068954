/**
 * The ceiling: what the source cluster does for one publisher and one subscriber without any
 * replicator in between, measured with stan-bench (stan.go's own benchmark tool). Replication
 * needs both at once, so the ceiling is min(publish rate, subscribe rate).
 */
import * as path from "node:path";
import { BIN } from "./contenders";
import type { Endpoint } from "./contenders";
import { runToEnd } from "./proc";

export const STAN_BENCH_BIN = path.join(BIN, "stan-bench");
const TIMEOUT_MS = 600_000;

export interface Ceiling {
  pubRate: number;
  subRate: number;
  /** min(pub, sub), msgs/s. */
  rate: number;
  pubOutput: string;
  subOutput: string;
}

/** "Pub stats: 61,232 msgs/sec ~ 59.80 MB/sec" → 61232 */
function parseRate(output: string, which: "Pub" | "Sub"): number {
  const m = new RegExp(`${which} stats: ([\\d,]+) msgs/sec`).exec(output);
  if (!m?.[1]) throw new Error(`stan-bench: no "${which} stats" line in:\n${output.slice(-2000)}`);
  return Number(m[1].replace(/,/g, ""));
}

/** Publishes `count` messages of `size` bytes to a fresh channel, then reads them back. */
export async function measureCeiling(
  source: Endpoint,
  channel: string,
  count: number,
  size: number,
): Promise<Ceiling> {
  const common = ["-s", source.url, "-c", source.clusterId, "-n", String(count)];
  const id = channel.replace(/[^A-Za-z0-9_-]/g, "_"); // client ids allow only these
  const pubOutput = await runToEnd(
    "stan-bench pub",
    STAN_BENCH_BIN,
    [...common, "-id", `${id}-pub`, "-np", "1", "-ns", "0", "-ms", String(size), channel],
    TIMEOUT_MS,
  );
  const subOutput = await runToEnd(
    "stan-bench sub",
    STAN_BENCH_BIN,
    [...common, "-id", `${id}-sub`, "-np", "0", "-ns", "1", "-ms", String(size), channel],
    TIMEOUT_MS,
  );
  const pubRate = parseRate(pubOutput, "Pub");
  const subRate = parseRate(subOutput, "Sub");
  return { pubRate, subRate, rate: Math.min(pubRate, subRate), pubOutput, subOutput };
}
