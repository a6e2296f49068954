// Real nats-streaming-server processes for integration tests, bound to 127.0.0.1 on free ports.
//
// Every process spawned here is in a registry: `stopAll()` (call it from `after()`) kills them
// and removes their temporary directories, and a process 'exit' hook does the same synchronously
// (SIGKILL by pid) if a test file ends without it, even on failure.
//
// Server facts these helpers rely on (nats-streaming-server v0.25.6, embedded nats-server 2.9.24):
// - all logs go to stderr; a standalone server prints "Streaming Server is ready" once it
//   accepts STAN clients ("Server is ready", printed earlier, is only the embedded NATS server);
// - there is no max_payload flag: it is set in a NATS config file passed with `-c`;
// - in a cluster only the leader prints the ready line, after "finished leader promotion
//   actions"; /streaming/serverz reports "role": "Leader" | "Follower" | "Candidate";
// - a NATS cluster without `--cluster_name` generates one per node and rejects routes until the
//   names converge, so a cluster is always given a fixed name.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const STAN_SERVER_BIN =
  process.env.STAN_SERVER_BIN ?? path.resolve(__dirname, "../../tools/bin/nats-streaming-server");

const HOST = "127.0.0.1";
const READY_LINE = "Streaming Server is ready";
const PROMOTED_LINE = "finished leader promotion actions";
const DEMOTED_LINE = "server lost leadership";
const ADDRESS_IN_USE = "address already in use";
const DEFAULT_READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const POLL_INTERVAL_MS = 50;
const MAX_LOG_CHARS = 4_000_000;
const START_ATTEMPTS = 3;
/** fastFailover's raft timeouts, as merged with explicit raftTimeouts. */
const FAST_FAILOVER = { heartbeat: "1s", election: "1s", lease: "500ms" };
/** Streaming-server config (the `-c` file is read by both the NATS and the streaming server). */
const FAST_FAILOVER_CONFIG = [
  "streaming {",
  "  cluster {",
  '    raft_heartbeat_timeout: "1s"',
  '    raft_election_timeout: "1s"',
  '    raft_lease_timeout: "500ms"',
  "  }",
  "}",
];

// ---------------------------------------------------------------------------------------------
// Registry: live processes and temporary directories of this test process.

const liveProcesses = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;

function killAllSync(): void {
  for (const child of liveProcesses) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  liveProcesses.clear();
}

function removeTempDirsSync(): void {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

function onTerminationSignal(signal: NodeJS.Signals): void {
  killAllSync();
  removeTempDirsSync();
  // When nobody else handles the signal, keep its default meaning: terminate.
  if (process.listenerCount(signal) === 1) {
    process.removeListener(signal, onTerminationSignal);
    process.kill(process.pid, signal);
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    killAllSync();
    removeTempDirsSync();
  });
  process.on("SIGINT", onTerminationSignal);
  process.on("SIGTERM", onTerminationSignal);
}

/** A temporary directory removed by stopAll() and at exit. */
export function makeTempDir(prefix: string): string {
  installExitHook();
  const dir = mkdtempSync(path.join(os.tmpdir(), `stan-test-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

/** Registers a child process: it is SIGKILLed by stopAll() and when this process exits. */
export function trackChild(child: ChildProcess): void {
  installExitHook();
  liveProcesses.add(child);
  child.once("exit", () => liveProcesses.delete(child));
}

/** Kills every server started by this process (SIGKILL) and removes their temporary dirs. */
export async function stopAll(): Promise<void> {
  const children = [...liveProcesses];
  await Promise.all(children.map((child) => signalAndWait(child, "SIGKILL", STOP_GRACE_MS)));
  liveProcesses.clear();
  removeTempDirsSync();
}

// ---------------------------------------------------------------------------------------------
// Ports and polling.

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export async function getFreePort(): Promise<number> {
  const [port] = await getFreePorts(1);
  return port as number;
}

/** `count` distinct free ports, held open together while picking so they cannot repeat. */
export async function getFreePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, HOST, () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function isPortOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// One server process, restartable with the same arguments.

export class ServerStartError extends Error {
  override readonly name = "ServerStartError";
  constructor(
    message: string,
    readonly logTail: string,
    readonly addressInUse: boolean,
  ) {
    super(`${message}\n--- server output (errors, then tail) ---\n${logTail}`);
  }
}

export type ReadyCheck = "streaming" | "listening";

/** One spawned run of the binary: its process and the output of this run only. */
interface Run {
  child: ChildProcess;
  output: string;
  exited: Promise<void>;
  /** Exited and its stdout/stderr are fully read. */
  closed: Promise<void>;
}

function tail(text: string, lines = 30): string {
  return text.split("\n").slice(-lines).join("\n");
}

/** Error lines from anywhere in the output (a bad flag is reported above the usage text),
 * then the tail. */
function excerpt(text: string): string {
  const errors = text
    .split("\n")
    .filter((line) => /\[(ERR|FTL)\]|error|fatal|flag provided but not defined/i.test(line))
    .slice(0, 10);
  const head = errors.length > 0 ? `${errors.join("\n")}\n...\n` : "";
  return head + tail(text);
}

function signalAndWait(
  child: ChildProcess,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<void> {
  return new Promise((resolve) => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }, graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** A server process of ours: started, stopped, killed and restarted with the same arguments. */
export class ServerProcess {
  private run: Run | undefined;
  private history = "";

  constructor(
    private readonly label: string,
    private readonly args: readonly string[],
    private readonly port: number,
    private readonly readyCheck: ReadyCheck,
    private readonly readyTimeoutMs: number,
    private readonly bin: string = STAN_SERVER_BIN,
  ) {}

  get pid(): number {
    const pid = this.run?.child.pid;
    if (pid === undefined) throw new Error(`${this.label}: not started`);
    return pid;
  }

  get running(): boolean {
    const child = this.run?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Output of the current (or last) run. */
  currentOutput(): string {
    return this.run?.output ?? "";
  }

  /** Output of every run, runs separated by a marker line. */
  logs(): string {
    return this.history + this.currentOutput();
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.label}: already running (pid ${this.pid})`);
    if (!existsSync(this.bin)) {
      throw new Error(`${this.bin} not found; run \`bash scripts/install-servers.sh\` first`);
    }
    if (this.run) this.history += `${this.run.output}\n--- ${this.label} restarted ---\n`;
    const child = spawn(this.bin, this.args, { stdio: ["ignore", "pipe", "pipe"] });
    trackChild(child);
    const run: Run = {
      child,
      output: "",
      exited: new Promise((resolve) => child.once("exit", () => resolve())),
      closed: new Promise((resolve) => child.once("close", () => resolve())),
    };
    const append = (chunk: Buffer): void => {
      run.output += chunk.toString("utf8");
      if (run.output.length > MAX_LOG_CHARS) run.output = run.output.slice(-MAX_LOG_CHARS / 2);
    };
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    child.once("error", (err) => append(Buffer.from(`spawn error: ${err.message}\n`)));
    this.run = run;
    await this.waitReady(run);
  }

  private async waitReady(run: Run): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    const exitedEarly = (): boolean =>
      run.child.exitCode !== null || run.child.signalCode !== null || run.child.pid === undefined;
    for (;;) {
      if (exitedEarly()) {
        await Promise.race([run.closed, delay(1000)]); // let the last output arrive
        throw new ServerStartError(
          `${this.label}: exited before it was ready (code ${run.child.exitCode}, signal ${run.child.signalCode})`,
          excerpt(run.output),
          run.output.includes(ADDRESS_IN_USE),
        );
      }
      const logReady = this.readyCheck === "listening" || run.output.includes(READY_LINE);
      if (logReady && (await isPortOpen(this.port))) return;
      if (Date.now() > deadline) {
        await signalAndWait(run.child, "SIGKILL", STOP_GRACE_MS);
        throw new ServerStartError(
          `${this.label}: not ready within ${this.readyTimeoutMs} ms (waiting for ${
            this.readyCheck === "streaming" ? `"${READY_LINE}" and ` : ""
          }port ${this.port})`,
          excerpt(run.output),
          run.output.includes(ADDRESS_IN_USE),
        );
      }
      await delay(POLL_INTERVAL_MS);
    }
  }

  /** SIGTERM (graceful shutdown), SIGKILL after a grace period; resolves once exited. */
  async stop(): Promise<void> {
    if (this.run) await signalAndWait(this.run.child, "SIGTERM", STOP_GRACE_MS);
  }

  /** SIGKILL (a crash: nothing is flushed); resolves once exited. */
  async kill(): Promise<void> {
    if (this.run) await signalAndWait(this.run.child, "SIGKILL", STOP_GRACE_MS);
  }

  /** Stops the current run if needed, then starts again with the same arguments. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

// ---------------------------------------------------------------------------------------------
// Standalone server.

export type StoreType = "MEMORY" | "FILE";

export interface StartStanOptions {
  clusterId: string;
  /** Default "FILE" when `dir` is given, "MEMORY" otherwise. */
  store?: StoreType;
  /** FILE store directory; default: a temporary directory removed by `stopAll()`. */
  dir?: string;
  /** Client port; default: a free port. */
  port?: number;
  /** true: HTTP monitoring on a free port; a number: on that port. */
  monitorPort?: boolean | number;
  /** Appended to the command line. */
  extraArgs?: string[];
  /** NATS max_payload in bytes (server default 1048576), written to a config file (`-c`). */
  maxPayload?: number;
  /** How long to wait for "Streaming Server is ready" and the open port. Default 30 s. */
  readyTimeoutMs?: number;
}

export interface StanServer {
  /** "nats://127.0.0.1:PORT" */
  readonly url: string;
  readonly port: number;
  readonly clusterId: string;
  /** "http://127.0.0.1:MPORT" when monitoring was asked for. */
  readonly monitorUrl?: string;
  /** Store directory (also used by MEMORY servers as their working directory). */
  readonly dir: string;
  /** Pid of the current run. */
  readonly pid: number;
  readonly running: boolean;
  /** SIGTERM, then waits for exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
  /** SIGKILL, then waits for exit. */
  kill(): Promise<void>;
  /** Starts again (stopping first if running): same port, store dir and args; waits ready. */
  restart(): Promise<void>;
  /** Captured stdout+stderr of every run. */
  logs(): string;
}

function writeNatsConfig(workDir: string, lines: string[]): string | undefined {
  if (lines.length === 0) return undefined;
  const file = path.join(workDir, "nats.conf");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

function natsConfigLines(maxPayload: number | undefined): string[] {
  if (maxPayload === undefined) return [];
  if (!Number.isInteger(maxPayload) || maxPayload <= 0) {
    throw new Error(`maxPayload must be a positive integer, got ${maxPayload}`);
  }
  return [`max_payload: ${maxPayload}`];
}

/** A test's handle on one server: what every kind of server delegates to its process. */
export class ServerHandle {
  constructor(protected readonly proc: ServerProcess) {}
  get pid(): number {
    return this.proc.pid;
  }
  get running(): boolean {
    return this.proc.running;
  }
  stop(): Promise<void> {
    return this.proc.stop();
  }
  kill(): Promise<void> {
    return this.proc.kill();
  }
  restart(): Promise<void> {
    return this.proc.restart();
  }
  logs(): string {
    return this.proc.logs();
  }
}

class StanServerImpl extends ServerHandle implements StanServer {
  constructor(
    proc: ServerProcess,
    readonly url: string,
    readonly port: number,
    readonly clusterId: string,
    readonly dir: string,
    readonly monitorUrl: string | undefined,
  ) {
    super(proc);
  }
  /** First start (startStan and startStanCluster only). */
  start(): Promise<void> {
    return this.proc.start();
  }
  /** Output of the current run, for leader detection. */
  currentOutput(): string {
    return this.proc.currentOutput();
  }
}

class StanClusterNodeImpl extends StanServerImpl implements StanClusterNode {
  constructor(
    proc: ServerProcess,
    port: number,
    clusterId: string,
    dir: string,
    override readonly monitorUrl: string,
    readonly nodeId: string,
    readonly routePort: number,
  ) {
    super(proc, `nats://${HOST}:${port}`, port, clusterId, dir, monitorUrl);
  }
}

/** Starts a standalone nats-streaming-server and waits until it accepts STAN clients. */
export async function startStan(opts: StartStanOptions): Promise<StanServer> {
  // Free ports can be taken by someone else between picking and binding: pick again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStanOnce(opts);
    } catch (err) {
      const retriable =
        err instanceof ServerStartError &&
        err.addressInUse &&
        opts.port === undefined &&
        typeof opts.monitorPort !== "number";
      if (!retriable || attempt >= START_ATTEMPTS) throw err;
    }
  }
}

async function startStanOnce(opts: StartStanOptions): Promise<StanServer> {
  const store = opts.store ?? (opts.dir !== undefined ? "FILE" : "MEMORY");
  const workDir = makeTempDir(opts.clusterId);
  const dir = opts.dir ?? path.join(workDir, "store");
  const port = opts.port ?? (await getFreePort());
  const monitorPort =
    typeof opts.monitorPort === "number"
      ? opts.monitorPort
      : opts.monitorPort === true
        ? await getFreePort()
        : undefined;
  const config = writeNatsConfig(workDir, natsConfigLines(opts.maxPayload));

  const args = ["-a", HOST, "-p", String(port), "-cid", opts.clusterId, "-store", store];
  args.push("-dir", dir);
  if (monitorPort !== undefined) args.push("-m", String(monitorPort));
  if (config !== undefined) args.push("-c", config);
  args.push(...(opts.extraArgs ?? []));

  const proc = new ServerProcess(
    `stan ${opts.clusterId}@${port}`,
    args,
    port,
    "streaming",
    opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
  );
  const monitorUrl = monitorPort === undefined ? undefined : `http://${HOST}:${monitorPort}`;
  const server = new StanServerImpl(
    proc,
    `nats://${HOST}:${port}`,
    port,
    opts.clusterId,
    dir,
    monitorUrl,
  );
  await server.start();
  return server;
}

// ---------------------------------------------------------------------------------------------
// Clustered (raft) servers.

export interface StartStanClusterOptions {
  clusterId: string;
  nodes?: 3;
  /** NATS max_payload in bytes for every node. */
  maxPayload?: number;
  /** Appended to every node's command line. */
  extraArgs?: string[];
  /** How long to wait for the nodes and for a leader. Default 30 s. */
  readyTimeoutMs?: number;
  /** Shorter raft timeouts (heartbeat and election 1 s, lease 500 ms; the server defaults are
   * 2 s, 2 s, 1 s): a killed leader is replaced in about half the time. */
  fastFailover?: boolean;
  /** Raft timeouts written to the config file (the server reads them only from there, as Go
   * durations, e.g. "750ms"); given ones replace fastFailover's. */
  raftTimeouts?: RaftTimeouts;
}

/** `streaming { cluster { raft_*_timeout } }` of the server's config file. */
export interface RaftTimeouts {
  heartbeat?: string;
  election?: string;
  lease?: string;
  commit?: string;
}

function raftConfigLines(timeouts: RaftTimeouts): string[] {
  const entries = Object.entries(timeouts).filter(([, v]) => v !== undefined) as [
    keyof RaftTimeouts,
    string,
  ][];
  if (entries.length === 0) return [];
  for (const [key, value] of entries) {
    if (!/^\d+(\.\d+)?(ms|s|m)$/.test(value)) {
      throw new Error(`raftTimeouts.${key}: ${JSON.stringify(value)} is not a Go duration`);
    }
  }
  return [
    "streaming {",
    "  cluster {",
    ...entries.map(([key, value]) => `    raft_${key}_timeout: "${value}"`),
    "  }",
    "}",
  ];
}

export interface StanClusterNode extends StanServer {
  /** Raft node id: "n1", "n2", "n3". */
  readonly nodeId: string;
  /** NATS route (cluster) port. */
  readonly routePort: number;
  readonly monitorUrl: string;
}

export type RaftRole = "Leader" | "Follower" | "Candidate" | "Shutdown";

export interface StanCluster {
  readonly clusterId: string;
  readonly nodes: readonly StanClusterNode[];
  /** Client URLs of all nodes, comma-separated (connectStan splits it). */
  readonly urls: string;
  /** The running node that is leader and done with its promotion; waits up to `timeoutMs`. */
  leader(timeoutMs?: number): Promise<StanClusterNode>;
  /** Raft role of a running node, from /streaming/serverz; undefined when it does not answer. */
  role(node: StanClusterNode | string): Promise<RaftRole | undefined>;
  kill(node: StanClusterNode | string): Promise<void>;
  stop(node: StanClusterNode | string): Promise<void>;
  /** Starts a stopped or killed node again (same ports and raft/store dirs); waits until it
   * has a raft role again and the cluster has a leader. */
  restart(node: StanClusterNode | string): Promise<void>;
  /** Stops every node (SIGTERM). */
  stopAll(): Promise<void>;
}

async function fetchRole(monitorUrl: string): Promise<RaftRole | undefined> {
  try {
    const res = await fetch(`${monitorUrl}/streaming/serverz`, {
      signal: AbortSignal.timeout(1000),
    });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { role?: string };
    return body.role as RaftRole | undefined;
  } catch {
    return undefined;
  }
}

/** True when the node's current run last logged a finished promotion (not a stepdown). */
function promotionFinished(output: string): boolean {
  return output.lastIndexOf(PROMOTED_LINE) > output.lastIndexOf(DEMOTED_LINE);
}

class StanClusterImpl implements StanCluster {
  readonly urls: string;

  constructor(
    readonly clusterId: string,
    readonly nodes: readonly StanClusterNodeImpl[],
    private readonly readyTimeoutMs: number,
  ) {
    this.urls = nodes.map((n) => n.url).join(",");
  }

  private node(ref: StanClusterNode | string): StanClusterNodeImpl {
    const id = typeof ref === "string" ? ref : ref.nodeId;
    const found = this.nodes.find((n) => n.nodeId === id);
    if (!found) throw new Error(`cluster ${this.clusterId}: no node ${id}`);
    return found;
  }

  role(ref: StanClusterNode | string): Promise<RaftRole | undefined> {
    const node = this.node(ref);
    return node.running ? fetchRole(node.monitorUrl) : Promise.resolve(undefined);
  }

  async leader(timeoutMs = this.readyTimeoutMs): Promise<StanClusterNode> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = this.nodes.filter((n) => n.running);
      const roles = await Promise.all(running.map((n) => fetchRole(n.monitorUrl)));
      const leaders = running.filter(
        (n, i) => roles[i] === "Leader" && promotionFinished(n.currentOutput()),
      );
      if (leaders.length === 1 && leaders[0]) return leaders[0];
      if (Date.now() > deadline) {
        const states = running.map((n, i) => `${n.nodeId}=${roles[i] ?? "?"}`).join(" ");
        const tails = running.map((n) => `[${n.nodeId}]\n${tail(n.currentOutput(), 15)}`);
        throw new Error(
          `cluster ${this.clusterId}: no leader within ${timeoutMs} ms (${states || "no node running"})\n${tails.join("\n")}`,
        );
      }
      await delay(100);
    }
  }

  kill(ref: StanClusterNode | string): Promise<void> {
    return this.node(ref).kill();
  }

  stop(ref: StanClusterNode | string): Promise<void> {
    return this.node(ref).stop();
  }

  async restart(ref: StanClusterNode | string): Promise<void> {
    const node = this.node(ref);
    await node.restart();
    const deadline = Date.now() + this.readyTimeoutMs;
    while ((await fetchRole(node.monitorUrl)) === undefined) {
      if (Date.now() > deadline) {
        throw new Error(
          `cluster ${this.clusterId}: ${node.nodeId} did not rejoin\n${tail(node.currentOutput())}`,
        );
      }
      await delay(100);
    }
    await this.leader();
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}

/**
 * Starts a 3-node clustered (raft) STAN with FILE stores: every node has its own client, route
 * and monitoring port, the NATS routes form a full mesh, and the raft peers are n1, n2, n3.
 * Resolves once a leader is elected and has finished its promotion.
 */
export async function startStanCluster(opts: StartStanClusterOptions): Promise<StanCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStanClusterOnce(opts);
    } catch (err) {
      const retriable = err instanceof ServerStartError && err.addressInUse;
      if (!retriable || attempt >= START_ATTEMPTS) throw err;
    }
  }
}

async function startStanClusterOnce(opts: StartStanClusterOptions): Promise<StanCluster> {
  const count = opts.nodes ?? 3;
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const ports = await getFreePorts(count * 3);
  const ids = Array.from({ length: count }, (_, i) => `n${i + 1}`);
  const specs = ids.map((nodeId, i) => ({
    nodeId,
    port: ports[i * 3] as number,
    routePort: ports[i * 3 + 1] as number,
    monitorPort: ports[i * 3 + 2] as number,
  }));

  const nodes = specs.map((spec) => {
    const workDir = makeTempDir(`${opts.clusterId}-${spec.nodeId}`);
    const dir = path.join(workDir, "store");
    const routes = specs
      .filter((other) => other !== spec)
      .map((other) => `nats://${HOST}:${other.routePort}`)
      .join(",");
    const config = writeNatsConfig(workDir, [
      ...natsConfigLines(opts.maxPayload),
      ...(opts.raftTimeouts
        ? raftConfigLines({ ...(opts.fastFailover ? FAST_FAILOVER : {}), ...opts.raftTimeouts })
        : opts.fastFailover
          ? FAST_FAILOVER_CONFIG
          : []),
    ]);
    const args = [
      ["-a", HOST, "-p", String(spec.port), "-m", String(spec.monitorPort)],
      ["-cid", opts.clusterId, "-store", "FILE", "-dir", dir],
      ["-clustered", "-cluster_node_id", spec.nodeId, "-cluster_peers", ids.join(",")],
      ["-cluster_log_path", path.join(workDir, "raft")],
      ["-cluster", `nats://${HOST}:${spec.routePort}`, "-routes", routes],
      ["-cluster_name", opts.clusterId],
      config === undefined ? [] : ["-c", config],
      opts.extraArgs ?? [],
    ].flat();
    const proc = new ServerProcess(
      `stan ${opts.clusterId}/${spec.nodeId}@${spec.port}`,
      args,
      spec.port,
      "listening",
      readyTimeoutMs,
    );
    const monitorUrl = `http://${HOST}:${spec.monitorPort}`;
    return new StanClusterNodeImpl(
      proc,
      spec.port,
      opts.clusterId,
      dir,
      monitorUrl,
      spec.nodeId,
      spec.routePort,
    );
  });

  const cluster = new StanClusterImpl(opts.clusterId, nodes, readyTimeoutMs);
  try {
    // Raft needs a quorum: start all nodes together, then wait for the election.
    await Promise.all(nodes.map((n) => n.start()));
    await cluster.leader();
  } catch (err) {
    await Promise.all(nodes.map((n) => n.kill()));
    throw err;
  }
  return cluster;
}
