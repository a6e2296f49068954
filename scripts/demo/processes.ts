/**
 * The demo's child processes: NATS Streaming servers, a JetStream server and the replicator.
 *
 * Each runs in its own process group (detached), so a Ctrl-C in the terminal reaches only the
 * demo, which then stops them in order: the replicator after it has caught up, the servers after
 * the target was read back. They are SIGKILLed when the demo exits any other way (an error, a
 * second Ctrl-C); a demo killed with SIGKILL leaves them running (`ps` shows their ports).
 * Server output goes to `<dir>/<name>.log`.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import path from "node:path";

const REPO = path.resolve(__dirname, "..", "..");
const BIN = path.join(REPO, "tools", "bin");
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;

const children = new Set<ChildProcess>();
let exitHook = false;

function track(child: ChildProcess): void {
  if (!exitHook) {
    exitHook = true;
    process.on("exit", killAll);
  }
  children.add(child);
  child.once("exit", () => children.delete(child));
}

/** SIGKILLs every child still running (synchronous: safe in an 'exit' handler). */
export function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

/** Sends `signal` and waits for the exit (SIGKILL after the grace period); the exit code. */
export function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = "SIGTERM",
): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve(child.exitCode);
      return;
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill(signal);
  });
}

export interface DemoServer {
  name: string;
  url: string;
  monitorUrl: string;
  log: string;
  child: ChildProcess;
}

/** Starts a server binary of tools/bin and waits for its ready line in its log. */
async function startServer(
  name: string,
  bin: string,
  args: string[],
  readyLine: string,
  dir: string,
  ports: { client: number; monitor: number },
): Promise<DemoServer> {
  mkdirSync(dir, { recursive: true });
  const log = path.join(dir, `${name}.log`);
  const fd = openSync(log, "w");
  const child = spawn(path.join(BIN, bin), args, { detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  track(child);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const text = readFileSync(log, "utf8");
    if (text.includes(readyLine)) break;
    const tail = text.trim().split("\n").slice(-5).join("\n");
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} (${bin}) exited at start; its log ${log} ends:\n${tail}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${name} (${bin}) not ready within ${READY_TIMEOUT_MS} ms; log ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    name,
    url: `nats://127.0.0.1:${ports.client}`,
    monitorUrl: `http://127.0.0.1:${ports.monitor}`,
    log,
    child,
  };
}

/** nats-streaming-server with a FILE store under `dir`, monitoring on `ports.monitor`. */
export function startStanServer(
  clusterId: string,
  ports: { client: number; monitor: number },
  dir: string,
): Promise<DemoServer> {
  const args = ["-a", "127.0.0.1", "-p", String(ports.client), "-m", String(ports.monitor)];
  args.push("-cid", clusterId, "-store", "FILE", "-dir", path.join(dir, `${clusterId}-store`));
  return startServer(
    clusterId,
    "nats-streaming-server",
    args,
    "Streaming Server is ready",
    dir,
    ports,
  );
}

/** nats-server with JetStream (file store under `dir`), monitoring on `ports.monitor`. */
export function startJetStreamServer(
  name: string,
  ports: { client: number; monitor: number },
  dir: string,
): Promise<DemoServer> {
  const args = ["-a", "127.0.0.1", "-p", String(ports.client), "-m", String(ports.monitor)];
  args.push("-n", name, "-js", "-sd", path.join(dir, `${name}-store`));
  return startServer(name, "nats-server", args, "Server is ready", dir, ports);
}

/** The replicator from source (tsx), its log on our stdout/stderr at level warn. */
export function startReplicator(config: string, nodeFlags: readonly string[]): ChildProcess {
  const child = spawn(
    process.execPath,
    [...nodeFlags, "--import", "tsx", path.join(REPO, "src/main.ts"), "--config", config],
    {
      cwd: REPO,
      detached: true,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, SR_LOG_LEVEL: "warn" },
    },
  );
  track(child);
  return child;
}
