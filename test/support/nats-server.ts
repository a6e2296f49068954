/**
 * Real nats-server processes with JetStream on 127.0.0.1 free ports: one server, or a 3-node
 * JetStream cluster, each started, killed and restarted by the test (tools/bin/nats-server,
 * installed by scripts/install-servers.sh).
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import {
  ServerHandle,
  ServerProcess,
  ServerStartError,
  getFreePorts,
  makeTempDir,
} from "./servers";

export const NATS_SERVER_BIN =
  process.env.NATS_SERVER_BIN ?? path.resolve(__dirname, "../../tools/bin/nats-server");

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 30_000;
const START_ATTEMPTS = 3;

export interface NatsServer {
  /** "nats://127.0.0.1:PORT" */
  readonly url: string;
  readonly port: number;
  readonly name: string;
  readonly monitorUrl: string;
  readonly pid: number;
  readonly running: boolean;
  stop(): Promise<void>;
  kill(): Promise<void>;
  /** Same port, store and arguments. */
  restart(): Promise<void>;
  logs(): string;
}

export interface StartNatsOptions {
  /** Enable JetStream with a store in a temporary directory (default true). */
  jetstream?: boolean;
  maxPayload?: number;
  /** Extra lines for the config file (accounts, authorization, limits). */
  config?: string[];
}

class NatsServerImpl extends ServerHandle implements NatsServer {
  constructor(
    proc: ServerProcess,
    readonly url: string,
    readonly port: number,
    readonly name: string,
    readonly monitorUrl: string,
  ) {
    super(proc);
  }
}

async function launch(
  name: string,
  lines: string[],
  port: number,
  monitorPort: number,
): Promise<NatsServer> {
  const dir = makeTempDir(`nats-${name}`);
  const file = path.join(dir, "nats.conf");
  writeFileSync(
    file,
    [
      `server_name: ${name}`,
      `listen: ${HOST}:${port}`,
      `http: ${HOST}:${monitorPort}`,
      ...lines.map((l) => l.replace("$DIR", dir)),
      "",
    ].join("\n"),
  );
  const proc = new ServerProcess(
    `nats ${name}@${port}`,
    ["-c", file],
    port,
    "listening",
    READY_TIMEOUT_MS,
    NATS_SERVER_BIN,
  );
  const server = new NatsServerImpl(
    proc,
    `nats://${HOST}:${port}`,
    port,
    name,
    `http://${HOST}:${monitorPort}`,
  );
  await proc.start();
  return server;
}

/** One nats-server, by default with JetStream. */
export async function startNatsServer(o: StartNatsOptions = {}): Promise<NatsServer> {
  for (let attempt = 1; ; attempt++) {
    const [port, monitor] = await getFreePorts(2);
    try {
      return await launch(`n${port}`, serverLines(o), port ?? 0, monitor ?? 0);
    } catch (err) {
      if (!(err instanceof ServerStartError && err.addressInUse) || attempt >= START_ATTEMPTS) {
        throw err;
      }
    }
  }
}

function serverLines(o: StartNatsOptions): string[] {
  return [
    ...(o.jetstream === false ? [] : ["jetstream { store_dir: $DIR/js }"]),
    ...(o.maxPayload !== undefined ? [`max_payload: ${o.maxPayload}`] : []),
    ...(o.config ?? []),
  ];
}

export interface JetStreamCluster {
  readonly nodes: NatsServer[];
  /** Every node's URL, comma-separated, as target_url takes them. */
  readonly urls: string;
  /** The node whose server name is `name`. */
  node(name: string): NatsServer;
}

/** Three JetStream nodes in one cluster, ready once the meta leader is elected. */
export async function startJetStreamCluster(): Promise<JetStreamCluster> {
  const ports = await getFreePorts(9);
  const routes = [ports[6], ports[7], ports[8]];
  const nodes = await Promise.all(
    [0, 1, 2].map((i) =>
      launch(`js${i + 1}`, clusterLines(routes, i), ports[i] ?? 0, ports[i + 3] ?? 0),
    ),
  );
  const cluster: JetStreamCluster = {
    nodes,
    urls: nodes.map((n) => n.url).join(","),
    node: (name) => {
      const found = nodes.find((n) => n.name === name);
      if (!found) throw new Error(`no node ${name}`);
      return found;
    },
  };
  await waitForMetaLeader(nodes);
  return cluster;
}

function clusterLines(routes: Array<number | undefined>, i: number): string[] {
  return [
    "jetstream { store_dir: $DIR/js }",
    "cluster {",
    "  name: js",
    `  listen: ${HOST}:${routes[i]}`,
    `  routes: [${routes.map((r) => `nats-route://${HOST}:${r}`).join(", ")}]`,
    "}",
  ];
}

/** Polls /jsz until one node reports a JetStream meta leader. */
export async function waitForMetaLeader(nodes: NatsServer[], timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const n of nodes.filter((x) => x.running)) {
      try {
        const jsz = (await (await fetch(`${n.monitorUrl}/jsz`)).json()) as {
          meta_cluster?: { leader?: string };
        };
        const leader = jsz.meta_cluster?.leader;
        if (leader) return leader;
      } catch {
        // not up yet
      }
    }
    if (Date.now() > deadline) throw new Error(`no JetStream meta leader within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
