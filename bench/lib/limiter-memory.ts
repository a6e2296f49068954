/**
 * Runs bench/limiter-memory.ts (1,000,000 senders, limiter and advisor: RSS and peak RSS while
 * tracking, saving, and loading in a fresh process; times and longest event-loop blocks) in its
 * own process and returns its figures, one per output line ("label: value"; the fresh process's
 * lines start with "restart").
 */
import * as path from "node:path";
import { REPO } from "./contenders";
import { runToEnd } from "./proc";

export interface LimiterMemory {
  senders: number;
  /** label → value text, in output order. */
  figures: Record<string, string>;
  output: string;
}

export async function runLimiterMemory(senders: number): Promise<LimiterMemory> {
  const output = await runToEnd(
    "limiter-memory",
    process.execPath,
    [
      "--expose-gc",
      "--import",
      "tsx",
      path.join(REPO, "bench", "limiter-memory.ts"),
      String(senders),
    ],
    600_000,
  );
  const figures: Record<string, string> = {};
  for (const line of output.split("\n")) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    figures[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return { senders, figures, output };
}
