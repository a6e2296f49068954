/**
 * Production topologies for fault tests: two 3-node clustered STAN (raft, FILE stores) with
 * short raft timeouts, source `dc1` and target `dc2`, and optionally one TCP fault proxy
 * (./fault-proxy.ts) in front of every node, so that what the replicator is given are the
 * proxies' URLs. The nodes of a cluster talk to each other directly (NATS routes and raft), never
 * through a proxy: a proxy fault is a fault between the replicator and one server.
 *
 * Node faults: kill -9, SIGSTOP/SIGCONT (a hung node: sockets open, nothing answers), graceful
 * restart. Leader discovery reads `role` from each node's /streaming/serverz (and the log line
 * that says the promotion is finished); `connectionNode()` finds the node that holds a client's
 * NATS connection from each node's /connz (the replicator names its connections after its
 * client id `<name>_<worker>`).
 *
 * Raft timeouts: nats-streaming-server reads them from its config file only
 * (`streaming { cluster { raft_heartbeat_timeout ... } }`). FAULT_RAFT_TIMEOUTS gives a
 * follower's election after 1-2 s without heartbeats (hashicorp/raft randomises between the
 * heartbeat timeout and twice it) and a finished promotion a few hundred ms later.
 */
import net from "node:net";
import { startFaultProxy } from "./fault-proxy";
import type { FaultProxy } from "./fault-proxy";
import { startStanCluster } from "./servers";
import type { RaftRole, RaftTimeouts, StanCluster, StanClusterNode } from "./servers";

/** Elections in about 1-2 s on this 2-core machine without spurious ones under load. */
export const FAULT_RAFT_TIMEOUTS: RaftTimeouts = {
  heartbeat: "1s",
  election: "1s",
  lease: "500ms",
  commit: "50ms",
};

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface FaultClusterOptions {
  clusterId: string;
  /** One fault proxy in front of each node (the replicator's way in). */
  proxies?: boolean;
  raftTimeouts?: RaftTimeouts;
  /** How long to wait for the first leader. Default 30 s. */
  readyTimeoutMs?: number;
}

export interface ConnectionInfo {
  node: StanClusterNode;
  /** /connz `cid` on that node. */
  cid: number;
  /** When the server accepted it (ms since the epoch). */
  startedMs: number;
}

export interface FaultCluster {
  readonly clusterId: string;
  readonly cluster: StanCluster;
  readonly nodes: readonly StanClusterNode[];
  /** The proxy in front of a node (only with `proxies: true`). */
  proxy(node: StanClusterNode | string): FaultProxy;
  readonly proxies: readonly FaultProxy[];
  /**
   * The comma-separated URL list a replicator is given: every node, through its proxy when
   * there are proxies. `first` is listed first (a worker's first connect takes the first URL),
   * the others follow in node order.
   */
  replicatorUrls(first?: StanClusterNode): string;
  /** Direct URLs of the running nodes, for the tests' own clients (never through a proxy). */
  clientUrls(): string;
  /** The leader that finished its promotion; waits up to `timeoutMs` (default 30 s). */
  leader(timeoutMs?: number): Promise<StanClusterNode>;
  /** Running nodes other than `leader`. */
  others(node: StanClusterNode): StanClusterNode[];
  role(node: StanClusterNode): Promise<RaftRole | undefined>;
  /** Waits for a finished leader other than `old`; resolves with it and how long it took. */
  newLeader(
    old: StanClusterNode,
    timeoutMs?: number,
  ): Promise<{ leader: StanClusterNode; ms: number }>;
  /** kill -9. */
  kill(node: StanClusterNode): Promise<void>;
  /** SIGSTOP: the process hangs with every socket open. */
  pause(node: StanClusterNode): void;
  /** SIGCONT. */
  resume(node: StanClusterNode): void;
  /** Starts a stopped or killed node again; waits until it has a role and there is a leader. */
  restart(node: StanClusterNode): Promise<void>;
  /**
   * The node holding the newest NATS connection named `name` (undefined when none does). A
   * connection that died half-open (blackhole) stays listed on its node until the server's
   * own pings give up: the newest one is the client's current connection.
   */
  connectionNode(name: string): Promise<ConnectionInfo | undefined>;
  /** Waits until the connection named `name` is on `node`. */
  waitForConnectionOn(name: string, node: StanClusterNode, timeoutMs?: number): Promise<void>;
  /**
   * A durable's delivery state on the leader's /streaming/channelsz (undefined when the leader
   * does not answer or has no such durable): what it sent, what is still unacknowledged.
   */
  durableState(channel: string, durable: string): Promise<DurableState | undefined>;
  /** Kills every node (SIGCONT first for paused ones) and closes the proxies. */
  close(): Promise<void>;
}

export interface DurableState {
  /** The channel's last sequence. */
  lastSeq: number;
  /** The last sequence sent to the durable. */
  lastSent: number;
  /** Sent and not acknowledged. */
  pending: number;
}

interface Connz {
  cid: number;
  name?: string;
  /** RFC 3339 with nanoseconds. */
  start: string;
}

/** `/connz` of one node: its client connections. */
async function connectionsOf(node: StanClusterNode): Promise<Connz[]> {
  try {
    const res = await fetch(`${node.monitorUrl}/connz?limit=10000`, {
      signal: AbortSignal.timeout(1000),
    });
    if (!res.ok) return [];
    const body = (await res.json()) as { connections?: Connz[] };
    return body.connections ?? [];
  } catch {
    return [];
  }
}

export async function startFaultCluster(opts: FaultClusterOptions): Promise<FaultCluster> {
  const cluster = await startStanCluster({
    clusterId: opts.clusterId,
    raftTimeouts: opts.raftTimeouts ?? FAULT_RAFT_TIMEOUTS,
    readyTimeoutMs: opts.readyTimeoutMs,
  });
  const proxies = new Map<string, FaultProxy>();
  if (opts.proxies) {
    for (const node of cluster.nodes) {
      proxies.set(node.nodeId, await startFaultProxy({ port: node.port }));
    }
  }
  const paused = new Set<string>();
  const nodeById = (ref: StanClusterNode | string): StanClusterNode => {
    const id = typeof ref === "string" ? ref : ref.nodeId;
    const node = cluster.nodes.find((n) => n.nodeId === id);
    if (!node) throw new Error(`${opts.clusterId}: no node ${id}`);
    return node;
  };

  const fc: FaultCluster = {
    clusterId: opts.clusterId,
    cluster,
    nodes: cluster.nodes,
    proxies: [...proxies.values()],
    proxy(ref) {
      const proxy = proxies.get(nodeById(ref).nodeId);
      if (!proxy) throw new Error(`${opts.clusterId}: started without proxies`);
      return proxy;
    },
    replicatorUrls(first) {
      const ordered = first
        ? [first, ...cluster.nodes.filter((n) => n.nodeId !== first.nodeId)]
        : [...cluster.nodes];
      return ordered.map((n) => proxies.get(n.nodeId)?.url ?? n.url).join(",");
    },
    clientUrls() {
      const running = cluster.nodes.filter((n) => n.running && !paused.has(n.nodeId));
      return running.map((n) => n.url).join(",");
    },
    leader(timeoutMs = 30_000) {
      return cluster.leader(timeoutMs);
    },
    others(node) {
      return cluster.nodes.filter((n) => n.nodeId !== node.nodeId && n.running);
    },
    role(node) {
      return cluster.role(node);
    },
    async newLeader(old, timeoutMs = 30_000) {
      const started = Date.now();
      for (;;) {
        const leader = await cluster.leader(Math.max(1, timeoutMs - (Date.now() - started)));
        if (leader.nodeId !== old.nodeId) return { leader, ms: Date.now() - started };
        if (Date.now() - started > timeoutMs) {
          throw new Error(
            `${opts.clusterId}: ${old.nodeId} is still the leader after ${timeoutMs} ms`,
          );
        }
        await delay(100);
      }
    },
    kill(node) {
      return cluster.kill(node);
    },
    pause(node) {
      process.kill(node.pid, "SIGSTOP");
      paused.add(node.nodeId);
    },
    resume(node) {
      if (!paused.delete(node.nodeId)) return;
      process.kill(node.pid, "SIGCONT");
    },
    restart(node) {
      return cluster.restart(node);
    },
    async connectionNode(name) {
      let newest: ConnectionInfo | undefined;
      for (const node of cluster.nodes) {
        if (!node.running || paused.has(node.nodeId)) continue;
        for (const c of await connectionsOf(node)) {
          if (c.name !== name) continue;
          const startedMs = Date.parse(c.start);
          if (!newest || startedMs > newest.startedMs) newest = { node, cid: c.cid, startedMs };
        }
      }
      return newest;
    },
    async waitForConnectionOn(name, node, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = await fc.connectionNode(name);
        if (found?.node.nodeId === node.nodeId) return;
        if (Date.now() > deadline) {
          throw new Error(
            `${opts.clusterId}: connection ${name} is on ${found?.node.nodeId ?? "no node"}, not ${node.nodeId}`,
          );
        }
        await delay(100);
      }
    },
    async durableState(channel, durable) {
      try {
        const leader = await cluster.leader(5000);
        const url = `${leader.monitorUrl}/streaming/channelsz?channel=${encodeURIComponent(channel)}&subs=1`;
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        if (!res.ok) return undefined;
        const body = (await res.json()) as {
          last_seq: number;
          subscriptions?: { durable_name?: string; last_sent: number; pending_count: number }[];
        };
        const sub = body.subscriptions?.find((s) => s.durable_name === durable);
        if (!sub) return undefined;
        return { lastSeq: body.last_seq, lastSent: sub.last_sent, pending: sub.pending_count };
      } catch {
        return undefined;
      }
    },
    async close() {
      for (const id of paused) {
        try {
          process.kill(nodeById(id).pid, "SIGCONT");
        } catch {
          // already gone
        }
      }
      paused.clear();
      await Promise.all(cluster.nodes.map((n) => n.kill()));
      await Promise.all([...proxies.values()].map((p) => p.close()));
    },
  };
  return fc;
}

export interface Topology {
  /** Source cluster `dc1`. */
  source: FaultCluster;
  /** Target cluster `dc2`. */
  target: FaultCluster;
  close(): Promise<void>;
}

/** Source `dc1` and target `dc2`, 3 nodes each, started together; proxies on both sides. */
export async function startTopology(
  opts: { proxies?: boolean; raftTimeouts?: RaftTimeouts } = {},
): Promise<Topology> {
  const [source, target] = await Promise.all([
    startFaultCluster({ clusterId: "dc1", ...opts }),
    startFaultCluster({ clusterId: "dc2", ...opts }),
  ]);
  return {
    source,
    target,
    async close() {
      await Promise.all([source.close(), target.close()]);
    },
  };
}

export type ProbeAnswer = "reply" | "no responders" | "nothing";

export interface LeaderSubjectProbe {
  /**
   * A request to `_STAN.discover.<cluster id>` (subscribed by the leader only, like
   * `_STAN.pub.>`) on this node's NATS server: "reply" when the leader answered, "no
   * responders" when the server knows nobody subscribes (status 503), "nothing" otherwise.
   */
  probe(timeoutMs?: number): Promise<ProbeAnswer>;
  close(): void;
}

/**
 * A raw NATS connection to one node with headers and no_responders on (what a client needs to
 * be told "nobody subscribes" instead of silence), for showing what the server does with
 * messages to the leader's subjects during an election.
 */
export async function leaderSubjectProbe(
  node: StanClusterNode,
  clusterId: string,
): Promise<LeaderSubjectProbe> {
  const socket = net.connect({ host: "127.0.0.1", port: node.port });
  let buffer = "";
  const answers = new Map<string, ProbeAnswer>();
  socket.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("latin1");
    // Control lines only; payloads of discover answers and 503 headers are skipped by size.
    for (;;) {
      const end = buffer.indexOf("\r\n");
      if (end < 0) return;
      const line = buffer.slice(0, end);
      const parts = line.split(" ");
      if (parts[0] === "MSG" || parts[0] === "HMSG") {
        const total = Number(parts[parts.length - 1]);
        if (buffer.length < end + 2 + total + 2) return;
        const body = buffer.slice(end + 2, end + 2 + total);
        const subject = parts[1] ?? "";
        answers.set(
          subject,
          parts[0] === "HMSG" && /^NATS\/1\.0 503/.test(body) ? "no responders" : "reply",
        );
        buffer = buffer.slice(end + 2 + total + 2);
        continue;
      }
      if (line === "PING") socket.write("PONG\r\n");
      buffer = buffer.slice(end + 2);
    }
  });
  socket.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.write(
    `CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1}\r\n` +
      "SUB _INBOX.probe.> 1\r\n",
  );
  let n = 0;
  return {
    async probe(timeoutMs = 300) {
      const inbox = `_INBOX.probe.${++n}`;
      socket.write(`PUB _STAN.discover.${clusterId} ${inbox} 0\r\n\r\n`);
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const answer = answers.get(inbox);
        if (answer) return answer;
        await delay(5);
      }
      return answers.get(inbox) ?? "nothing";
    },
    close() {
      socket.destroy();
    },
  };
}
