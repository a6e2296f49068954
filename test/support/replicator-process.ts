/**
 * Runs the real CLI (src/main.ts through tsx) as a child process with a YAML config written
 * to a temp dir, so tests can SIGTERM it, kill -9 it and restart it like an operator would.
 * Processes and temp dirs go into the test bed's registry (servers.ts): killed and removed by
 * stopAll() and when the test process exits.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { stringify } from "yaml";
import { getFreePort, makeTempDir, trackChild } from "./servers";
import { waitFor } from "./stan-client";

const REPO = path.resolve(__dirname, "..", "..");

export interface ReplicatorProcess {
  /** HTTP port of /metrics, /healthz, /livez. */
  port: number;
  configFile: string;
  dir: string;
  pid: number | undefined;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Sends a signal and waits for exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  kill(): Promise<void>;
  /** Starts the same config again (same port, same state dir). */
  restart(): Promise<void>;
  exited: () => boolean;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  get(pathname: string): Promise<{ status: number; body: string }>;
}

export interface ReplicatorOptions {
  /** The YAML document; `http_port` is filled in when missing. */
  config: Record<string, unknown>;
  env?: Record<string, string>;
  /** A subcommand (e.g. "replicate") before the flags, as the original's unit files write it. */
  command?: string;
  args?: string[];
}

export async function startReplicator(opts: ReplicatorOptions): Promise<ReplicatorProcess> {
  const dir = makeTempDir("replicator");
  const port = (opts.config.http_port as number | undefined) ?? (await getFreePort());
  const config = { http_host: "127.0.0.1", http_port: port, ...opts.config };
  const configFile = path.join(dir, "sr.yaml");
  writeFileSync(configFile, stringify(config));
  let out = "";
  let child!: ChildProcess;
  let exitCode: number | null | undefined;
  let exitPromise!: Promise<number | null>;

  const launch = (): void => {
    exitCode = undefined;
    child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(REPO, "src/main.ts"),
        ...(opts.command !== undefined
          ? [opts.command, `--config=${configFile}`]
          : ["--config", configFile]),
        ...(opts.args ?? []),
      ],
      { cwd: REPO, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    trackChild(child);
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    exitPromise = new Promise((resolve) =>
      child.on("exit", (code) => {
        exitCode = code;
        resolve(code);
      }),
    );
  };
  launch();

  const proc: ReplicatorProcess = {
    port,
    configFile,
    dir,
    get pid() {
      return child.pid;
    },
    output: () => out,
    exited: () => exitCode !== undefined,
    async stop(signal = "SIGTERM", timeoutMs = 20_000) {
      if (exitCode !== undefined) return exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const code = await exitPromise;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (exitCode !== undefined) return;
      child.kill("SIGKILL");
      await exitPromise;
    },
    async restart() {
      if (exitCode === undefined) throw new Error("replicator still running");
      out += "\n--- restarted ---\n";
      launch();
    },
    async waitForOutput(pattern, timeoutMs = 20_000) {
      await waitFor(() => pattern.test(out), {
        timeoutMs,
        message: `replicator output never matched ${pattern}:\n${out.slice(-3000)}`,
      });
    },
    async get(pathname) {
      const res = await fetch(`http://127.0.0.1:${port}${pathname}`);
      return { status: res.status, body: await res.text() };
    },
  };
  return proc;
}

/** Polls /healthz until it answers `status`. */
export async function waitForHealth(
  proc: ReplicatorProcess,
  status: number,
  timeoutMs = 30_000,
): Promise<void> {
  try {
    await waitFor(
      async () => {
        try {
          return (await proc.get("/healthz")).status === status;
        } catch {
          return false;
        }
      },
      { timeoutMs, intervalMs: 200, message: `/healthz answering ${status}` },
    );
  } catch (err) {
    // The output as it is now, at the deadline: it says why the replicator is not there.
    throw new Error(`${(err as Error).message}\n${proc.output().slice(-3000)}`);
  }
}

/** The YAML of one topic between two test servers. */
export function topicConfig(
  source: { url: string; clusterId: string },
  target: { url: string; clusterId: string },
  channel: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    topic: channel,
    source_url: source.url,
    source_cluster_id: source.clusterId,
    target_url: target.url,
    target_cluster_id: target.clusterId,
    ...extra,
  };
}

/** Payload ids in first-arrival order, and how many arrivals were repeats. */
export function firstArrivals(payloads: Buffer[]): { order: string[]; duplicates: number } {
  const seen = new Set<string>();
  const order: string[] = [];
  for (const p of payloads) {
    const key = p.toString("base64");
    if (seen.has(key)) continue;
    seen.add(key);
    order.push(p.toString());
  }
  return { order, duplicates: payloads.length - order.length };
}
