/**
 * Child processes of the benchmark (contenders, stan-bench) and what /proc says about them:
 * CPU seconds (utime + stime), resident memory now (VmRSS) and at its peak (VmHWM).
 */
import { execFileSync, spawn } from "node:child_process";
import type { SpawnOptions } from "node:child_process";
import { readFileSync } from "node:fs";
import { trackChild } from "../../test/support/servers";

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    } catch {
      clockTicks = 100;
    }
    if (!Number.isFinite(clockTicks) || clockTicks <= 0) clockTicks = 100;
  }
  return clockTicks;
}

/** The fields of /proc/<pid>/stat after the command name (state first); undefined once gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may contain spaces.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) the process used so far; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  const rest = statFields(pid);
  if (rest === undefined) return undefined;
  return (Number(rest[11]) + Number(rest[12])) / ticksPerSecond();
}

/** The process's state letter ("T" once a SIGSTOP took effect); undefined once it is gone. */
export function processState(pid: number): string | undefined {
  return statFields(pid)?.[0];
}

/** Peak resident set size in MiB (VmHWM); undefined once the process is gone. */
export function peakRssMiB(pid: number): number | undefined {
  return statusMiB(pid, "VmHWM");
}

/** Resident set size now, in MiB (VmRSS); undefined once the process is gone. */
export function rssMiB(pid: number): number | undefined {
  return statusMiB(pid, "VmRSS");
}

function statusMiB(pid: number, field: "VmHWM" | "VmRSS"): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface Child {
  readonly pid: number;
  readonly label: string;
  /** stdout + stderr so far (the last 1 MB). */
  output(): string;
  exited(): boolean;
  exitCode(): number | null | undefined;
  /** The signal that ended the process, if one did. */
  exitSignal(): NodeJS.Signals | null | undefined;
  /** Sends `signal`, waits for the exit (SIGKILL after `graceMs`); resolves with the code. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
  /** Resolves with the exit code when the process ends by itself. */
  readonly done: Promise<number | null>;
}

/** Spawns a child whose output is captured; it is SIGKILLed if the benchmark exits first. */
export function startChild(
  label: string,
  command: string,
  args: readonly string[],
  opts: SpawnOptions = {},
): Child {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
  if (child.pid === undefined) throw new Error(`${label}: could not start ${command}`);
  trackChild(child);
  let out = "";
  const append = (d: Buffer): void => {
    out += d.toString("utf8");
    if (out.length > 1_000_000) out = out.slice(-500_000);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  let code: number | null | undefined;
  let signal: NodeJS.Signals | null | undefined;
  const done = new Promise<number | null>((resolve) => {
    child.once("close", (c, s) => {
      code = c;
      signal = s;
      resolve(c);
    });
    child.once("error", (err) => append(Buffer.from(`spawn error: ${err.message}\n`)));
  });
  const pid = child.pid;
  return {
    pid,
    label,
    output: () => out,
    exited: () => code !== undefined,
    exitCode: () => code,
    exitSignal: () => signal,
    done,
    async stop(signal = "SIGTERM", graceMs = 20_000) {
      if (code !== undefined) return code;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const c = await done;
      clearTimeout(timer);
      return c;
    },
  };
}

/** Runs a command to completion and returns its output; rejects on a non-zero exit. */
export async function runToEnd(
  label: string,
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<string> {
  const child = startChild(label, command, args);
  const timer = setTimeout(() => void child.stop("SIGKILL"), timeoutMs);
  const code = await child.done;
  clearTimeout(timer);
  if (code !== 0) {
    throw new Error(`${label} exited with ${code}:\n${child.output().slice(-2000)}`);
  }
  return child.output();
}
