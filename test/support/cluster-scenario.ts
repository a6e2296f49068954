/**
 * The common shape of the cluster fault tests (test/integration/cluster-faults.test.ts):
 *
 * 1. a fresh topology, source `dc1` and target `dc2` (3 raft nodes each, short raft timeouts),
 *    a fault proxy in front of every node; the replicator (the real CLI, one ordered topic) is
 *    given every node of each side through the proxies, the chosen node first, so its first
 *    connection lands where the scenario wants it (checked on the servers' /connz);
 * 2. a paced publisher (./paced-publisher.ts) publishing to the source at the scenario's rate
 *    from start to end, directly (not through the proxies);
 * 3. once the replicator copied a warm-up amount, the fault runs; afterwards `/healthz` must be
 *    200 again and publishing goes on for another second;
 * 4. the publisher stops (every payload acknowledged by the source), and the source and target
 *    channels are read back: every source message must be on the target, the target's first
 *    arrivals must be the source's order, every extra copy on the target must be counted by
 *    the replicator (`duplicate_publishes_total` + `redelivered_msgs_total`), the process must
 *    be alive (/livez) and exit 0 on SIGTERM.
 *
 * Every figure (election times, health transitions, metrics, the first disorder with its
 * neighbourhood) goes to the test's diagnostics before the assertions, so a failing run says
 * what happened.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startPacedPublisher } from "./paced-publisher";
import type { PacedPublisher } from "./paced-publisher";
import { metricSum, payloadKey, readUntilComplete } from "./replication-helpers";
import { startReplicator, waitForHealth } from "./replicator-process";
import type { ReplicatorProcess } from "./replicator-process";
import { startTopology } from "./stan-cluster-faults";
import type { FaultCluster, Topology } from "./stan-cluster-faults";
import type { StanClusterNode } from "./servers";
import { publishAll, waitFor } from "./stan-client";
import type { ReadMessage } from "./stan-client";

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Replicator settings as an operator of these clusters would write them. publish_timeout: 5 s,
 * longer than an election here (1-3 s) so an election alone does not fail publishes by
 * timeout, shorter than the default 10 s. Everything else (max_in_flight 1024, ack_wait 30 s)
 * keeps its default.
 */
export const OPERATOR_TOPIC_SETTINGS = { publish_timeout: "5s" };
/** After a fault, /healthz must be 200 again within this (the reconnect backoff reaches 15 s). */
export const RECOVERY_DEADLINE_MS = 30_000;
/** Reading back: the target must hold everything within this after the publisher stopped. It
 * covers one source ack_wait (30 s): a message whose ack the source lost comes back by then. */
export const READ_BACK_DEADLINE_MS = 45_000;
/** At the end the source must have sent everything to the durable and hold no unacknowledged
 * message: within one ack_wait (30 s default) and a margin, a message whose ack was lost is
 * redelivered and acknowledged. */
export const SOURCE_SETTLED_DEADLINE_MS = 45_000;

export type Placement = "leader" | "follower";

export interface ScenarioContext {
  topo: Topology;
  proc: ReplicatorProcess;
  publisher: PacedPublisher;
  /** The channel, on both sides. */
  channel: string;
  /** The topic's name: its durable on the source and the `name` label of its metrics. */
  name: string;
  /** The replicator's worker client id, also its NATS connection name on both sides. */
  worker: string;
  /** A diagnostic line, prefixed with the seconds since the fault started. */
  note(message: string): void;
  /** Health transitions seen so far (sampled every 100 ms from the start). */
  health: HealthSampler;
  /**
   * Records a failed expectation about the fault (e.g. a blackhole not detected in time): the
   * scenario goes on, so the data is still checked, and the test fails at the end with it.
   */
  problem(message: string): void;
}

export interface ScenarioOptions {
  /** Channel on both sides; also the topic's name and durable (dots become _). */
  channel: string;
  /** Publish rate to the source, msg/s. */
  rate: number;
  /** Where the replicator's first target / source connection goes. Default: follower. */
  targetOn?: Placement;
  sourceOn?: Placement;
  /** Extra topic settings (on top of OPERATOR_TOPIC_SETTINGS). */
  topic?: Record<string, unknown>;
  /** The replicator reaches the nodes through fault proxies. Default true; false gives it the
   * nodes' own URLs (to show a failure is not the proxies' doing). */
  proxies?: boolean;
  /** Set on every target proxy before the replicator starts (a WAN). */
  targetLatency?: { toUpstreamMs: number; toClientMs: number };
  /** Messages copied before the fault. Default: one second of publishing. */
  warmup?: number;
  /** Runs after the warm-up; returns when the fault is over (nodes back, proxies restored). */
  fault(ctx: ScenarioContext): Promise<void>;
  /** Published to the source before the replicator starts; its drain speed is measured. */
  backlog?: number;
}

export interface ScenarioResult {
  published: number;
  sourceTotal: number;
  sourceDistinct: number;
  targetTotal: number;
  missing: string[];
  /** Target copies beyond the source's count of the same payload. */
  extraCopies: number;
  disorder?: Disorder;
  metrics: ReplicatorFigures;
  healthLog: string;
  /** Messages per second the backlog was copied at (with `backlog`). */
  drainRate?: number;
}

export interface ReplicatorFigures {
  copied: number;
  duplicatePublishes: number;
  redelivered: number;
  failed: number;
  publishErrors: Record<string, number>;
}

// ---------------------------------------------------------------------------------------------
// Health sampling

export interface HealthSampler {
  /** Status codes seen since `since` (ms epoch); "down" when /healthz did not answer. */
  seenSince(since: number): Set<string>;
  /** "200 → 503 at +1.2 s → 200 at +6.0 s" relative to `origin`. */
  describe(origin: number): string;
  stop(): void;
}

function sampleHealth(proc: ReplicatorProcess): HealthSampler {
  const changes: { at: number; status: string }[] = [];
  let stopped = false;
  void (async () => {
    while (!stopped) {
      let status: string;
      try {
        status = String((await proc.get("/healthz")).status);
      } catch {
        status = "down";
      }
      const last = changes[changes.length - 1];
      if (last?.status !== status) changes.push({ at: Date.now(), status });
      await delay(100);
    }
  })();
  return {
    seenSince(since) {
      const seen = new Set<string>();
      for (let i = 0; i < changes.length; i++) {
        const change = changes[i] as { at: number; status: string };
        const next = changes[i + 1];
        if (next === undefined || next.at >= since) seen.add(change.status);
      }
      return seen;
    },
    describe(origin) {
      return changes
        .map((c) => `${c.status} at ${((c.at - origin) / 1000).toFixed(1)} s`)
        .join(" → ");
    },
    stop() {
      stopped = true;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Order and completeness

export interface Disorder {
  /** Target first arrivals that came after a message later in source order. */
  lateArrivals: number;
  /** Position (in target first arrivals) of the first one. */
  firstAt: number;
  /** Payloads around it, as they arrived: "… live-2998, live-2999, live-2010 …". */
  around: string;
}

/**
 * Compares the target's first arrivals with the source order. Both are payload lists; only
 * payloads present on both count for order (missing ones are reported apart).
 */
export function findDisorder(targetFirst: string[], sourceFirst: string[]): Disorder | undefined {
  const rank = new Map(sourceFirst.map((p, i) => [p, i]));
  let highest = -1;
  let late = 0;
  let firstAt = -1;
  targetFirst.forEach((p, i) => {
    const r = rank.get(p);
    if (r === undefined) return;
    if (r < highest) {
      late++;
      if (firstAt < 0) firstAt = i;
    } else {
      highest = r;
    }
  });
  if (late === 0) return undefined;
  const around = targetFirst.slice(Math.max(0, firstAt - 3), firstAt + 4).join(", ");
  return { lateArrivals: late, firstAt, around: `… ${around} …` };
}

function firstArrivalOrder(messages: ReadMessage[]): string[] {
  const seen = new Set<string>();
  const order: string[] = [];
  for (const m of messages) {
    const key = payloadKey(m.data);
    if (seen.has(key)) continue;
    seen.add(key);
    order.push(m.data.toString());
  }
  return order;
}

function counts(messages: ReadMessage[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const m of messages) {
    const key = m.data.toString();
    map.set(key, (map.get(key) ?? 0) + 1);
  }
  return map;
}

export async function readFigures(
  proc: ReplicatorProcess,
  name: string,
): Promise<ReplicatorFigures> {
  const { body } = await proc.get("/metrics");
  const publishErrors: Record<string, number> = {};
  for (const reason of ["timeout", "connection_closed", "rejected", "error"]) {
    const n = metricSum(body, "stream_replicator_publish_errors_total", { name, reason });
    if (n > 0) publishErrors[reason] = n;
  }
  return {
    copied: metricSum(body, "stream_replicator_copied_msgs", { name }),
    duplicatePublishes: metricSum(body, "stream_replicator_duplicate_publishes_total", { name }),
    redelivered: metricSum(body, "stream_replicator_redelivered_msgs_total", { name }),
    failed: metricSum(body, "stream_replicator_failed_msgs", { name }),
    publishErrors,
  };
}

// ---------------------------------------------------------------------------------------------
// The scenario

/** Topic key and durable name for a channel. */
export function keyOf(channel: string): string {
  return channel.replace(/[^a-zA-Z0-9_]/g, "_");
}

async function pick(cluster: FaultCluster, placement: Placement): Promise<StanClusterNode> {
  const leader = await cluster.leader();
  if (placement === "leader") return leader;
  const follower = cluster.others(leader)[0];
  if (!follower) throw new Error(`${cluster.clusterId}: no follower`);
  return follower;
}

/** Things a failed test leaves running, cleaned up by the test file's `after`. */
export const scenarioCleanups = new Set<() => Promise<unknown>>();

export async function runScenario(
  t: { diagnostic(message: string): void },
  opts: ScenarioOptions,
): Promise<ScenarioResult> {
  const name = keyOf(opts.channel);
  const worker = `${name}_0`;
  const topo = await startTopology({ proxies: opts.proxies ?? true });
  const closeTopo = (): Promise<void> => topo.close();
  scenarioCleanups.add(closeTopo);
  let origin = Date.now();
  const note = (message: string): void =>
    t.diagnostic(`[+${((Date.now() - origin) / 1000).toFixed(1)} s] ${message}`);
  try {
    const targetFirst = await pick(topo.target, opts.targetOn ?? "follower");
    const sourceFirst = await pick(topo.source, opts.sourceOn ?? "follower");
    if (opts.targetLatency) for (const p of topo.target.proxies) p.setLatency(opts.targetLatency);
    const backlog = opts.backlog
      ? await publishAll(
          topo.source.clientUrls(),
          topo.source.clusterId,
          opts.channel,
          opts.backlog,
        )
      : [];
    const proc = await startReplicator({
      config: {
        log_level: "info",
        topics: {
          [name]: {
            topic: opts.channel,
            name,
            source_url: topo.source.replicatorUrls(sourceFirst),
            source_cluster_id: topo.source.clusterId,
            target_url: topo.target.replicatorUrls(targetFirst),
            target_cluster_id: topo.target.clusterId,
            ...OPERATOR_TOPIC_SETTINGS,
            ...opts.topic,
          },
        },
      },
    });
    const killProc = (): Promise<void> => proc.kill();
    scenarioCleanups.add(killProc);
    const health = sampleHealth(proc);
    let abortPublisher: (() => Promise<void>) | undefined;
    try {
      const drainRate =
        backlog.length > 0 ? await measureDrain(proc, name, backlog.length) : undefined;
      if (drainRate !== undefined)
        note(`backlog of ${backlog.length} drained at ${drainRate} msg/s`);
      await waitForHealth(proc, 200, 30_000);
      await topo.target.waitForConnectionOn(worker, targetFirst);
      await topo.source.waitForConnectionOn(worker, sourceFirst);
      const problems: string[] = [];
      const problem = (message: string): void => {
        problems.push(message);
        note(`problem: ${message}`);
      };
      const base = { topo, proc, channel: opts.channel, name, worker, note, health, problem };

      const publisher = startPacedPublisher(
        () => topo.source.clientUrls(),
        topo.source.clusterId,
        opts.channel,
        { ratePerSec: opts.rate },
      );
      abortPublisher = (): Promise<void> => publisher.abort();
      scenarioCleanups.add(abortPublisher);
      const warmup = opts.warmup ?? opts.rate;
      await waitFor(async () => (await readFigures(proc, name)).copied >= warmup, {
        timeoutMs: 30_000,
        intervalMs: 50,
        message: `${warmup} messages copied before the fault`,
      });
      origin = Date.now();
      note(
        `fault starts: ${publisher.ackedCount()} published; replicator on target ${targetFirst.nodeId}` +
          ` (${opts.targetOn ?? "follower"}), source ${sourceFirst.nodeId} (${opts.sourceOn ?? "follower"})`,
      );
      await opts.fault({ ...base, publisher });
      note("fault over");
      await waitForHealth(proc, 200, RECOVERY_DEADLINE_MS);
      note("/healthz 200 again");
      await publisher.waitForAcked(publisher.ackedCount() + opts.rate, 30_000);
      scenarioCleanups.delete(abortPublisher);
      const acked = [...backlog, ...(await publisher.stop())];
      note(
        `publisher stopped: ${acked.length} published, ${publisher.retries()} retried, ` +
          `${publisher.reconnects()} reconnects`,
      );

      const result = await readBack(topo, opts.channel, acked, proc, name);
      const settledIn = Date.now();
      const settled = await waitFor(
        async () => {
          const d = await topo.source.durableState(opts.channel, name);
          return d && d.pending === 0 && d.lastSent === d.lastSeq ? d : undefined;
        },
        { timeoutMs: SOURCE_SETTLED_DEADLINE_MS, intervalMs: 200 },
      ).catch(() => undefined);
      if (settled) {
        note(`source durable settled ${Date.now() - settledIn} ms after the read-back`);
      } else {
        const d = await topo.source.durableState(opts.channel, name);
        problem(
          `the source durable did not settle within ${SOURCE_SETTLED_DEADLINE_MS} ms: ` +
            (d
              ? `last_seq ${d.lastSeq}, last_sent ${d.lastSent}, pending ${d.pending}`
              : "unknown"),
        );
      }
      result.drainRate = drainRate;
      health.stop();
      result.healthLog = health.describe(origin);
      const m = result.metrics;
      note(
        `source ${result.sourceTotal} (${result.sourceDistinct} distinct), target ${result.targetTotal}, ` +
          `missing ${result.missing.length}, extra copies ${result.extraCopies}; ` +
          `duplicate_publishes_total ${m.duplicatePublishes}, redelivered_msgs_total ${m.redelivered}, ` +
          `failed_msgs ${m.failed}, publish_errors_total ${JSON.stringify(m.publishErrors)}`,
      );
      if (result.disorder) {
        note(
          `first arrivals out of source order: ${result.disorder.lateArrivals} late, the first at ` +
            `target position ${result.disorder.firstAt}: ${result.disorder.around}`,
        );
      }
      note(`/healthz: ${result.healthLog}`);

      assert.deepEqual(
        result.missing.slice(0, 10),
        [],
        `nothing lost: ${result.missing.length} source messages never reached the target`,
      );
      assert.equal(
        result.disorder,
        undefined,
        `first arrivals in source order: ${result.disorder?.lateArrivals} arrived after a later one, ` +
          `first at position ${result.disorder?.firstAt}: ${result.disorder?.around}`,
      );
      assert.ok(
        result.extraCopies <= m.duplicatePublishes + m.redelivered,
        `duplicates counted: ${result.extraCopies} extra copies on the target, the replicator ` +
          `counted ${m.duplicatePublishes} duplicate publishes + ${m.redelivered} redeliveries`,
      );
      assert.equal(proc.exited(), false, "the replicator is alive");
      assert.equal((await proc.get("/livez")).status, 200);
      assert.deepEqual(problems, [], "what the fault must cause, and nothing else");
      scenarioCleanups.delete(killProc);
      assert.equal(await proc.stop(), 0, "clean exit on SIGTERM");
      return result;
    } finally {
      health.stop();
      // A failed test stops its publisher here, not at the end of the file.
      if (abortPublisher && scenarioCleanups.delete(abortPublisher)) await abortPublisher();
      if (!proc.exited()) await proc.kill();
      keepLogs(name, proc, topo);
    }
  } finally {
    scenarioCleanups.delete(closeTopo);
    await topo.close();
  }
}

/**
 * With FAULT_TEST_LOG_DIR set, the replicator's output and every server's log of the scenario
 * go to `<dir>/<name>/` (the test bed removes its own directories at the end).
 */
function keepLogs(name: string, proc: ReplicatorProcess, topo: Topology): void {
  const root = process.env.FAULT_TEST_LOG_DIR;
  if (!root) return;
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "replicator.log"), proc.output());
  for (const cluster of [topo.source, topo.target]) {
    for (const node of cluster.nodes) {
      writeFileSync(path.join(dir, `${cluster.clusterId}-${node.nodeId}.log`), node.logs());
    }
  }
}

/** Reads the source, then the target until it holds every source payload (or the deadline). */
async function readBack(
  topo: Topology,
  channel: string,
  acked: Buffer[],
  proc: ReplicatorProcess,
  name: string,
): Promise<ScenarioResult> {
  const source = { url: topo.source.clientUrls(), clusterId: topo.source.clusterId };
  const target = { url: topo.target.clientUrls(), clusterId: topo.target.clusterId };
  const onSource = await readUntilComplete(source, channel, acked, {
    timeoutMs: 30_000,
    settleMs: 300,
  });
  const sourceCounts = counts(onSource);
  const notOnSource = acked.filter((p) => !sourceCounts.has(p.toString()));
  // A test-bed failure, not the replicator's: the source lost what it acknowledged.
  assert.equal(notOnSource.length, 0, `the source holds every payload it acknowledged`);
  const sourceOrder = firstArrivalOrder(onSource);
  const onTarget = await readUntilComplete(
    target,
    channel,
    onSource.map((m) => m.data),
    { timeoutMs: READ_BACK_DEADLINE_MS, settleMs: 500 },
  );
  const targetCounts = counts(onTarget);
  const missing = sourceOrder.filter((p) => !targetCounts.has(p));
  let extraCopies = 0;
  for (const [key, n] of targetCounts) extraCopies += Math.max(0, n - (sourceCounts.get(key) ?? 0));
  return {
    published: acked.length,
    sourceTotal: onSource.length,
    sourceDistinct: sourceOrder.length,
    targetTotal: onTarget.length,
    missing,
    extraCopies,
    disorder: findDisorder(firstArrivalOrder(onTarget), sourceOrder),
    metrics: await readFigures(proc, name),
    healthLog: "",
  };
}

/** Polls /healthz until it is not 200; resolves with the ms it took. */
export async function waitForUnhealthy(
  proc: ReplicatorProcess,
  timeoutMs: number,
): Promise<number> {
  const started = Date.now();
  await waitFor(
    async () => {
      try {
        return (await proc.get("/healthz")).status !== 200;
      } catch {
        return false;
      }
    },
    { timeoutMs, intervalMs: 100, message: `/healthz not 200 (the fault noticed)` },
  );
  return Date.now() - started;
}

/**
 * Polls the topic's copied count from the replicator's start until it reaches `count`; the
 * rate is taken from the first copied message on (the process start is not in it).
 */
export async function measureDrain(
  proc: ReplicatorProcess,
  name: string,
  count: number,
  timeoutMs = 60_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let first: { at: number; copied: number } | undefined;
  for (;;) {
    let copied = 0;
    try {
      copied = (await readFigures(proc, name)).copied;
    } catch {
      // not listening yet
    }
    const now = Date.now();
    if (copied > 0 && first === undefined) first = { at: now, copied };
    if (copied >= count && first !== undefined) {
      const seconds = Math.max(0.001, (now - first.at) / 1000);
      return Math.round((copied - first.copied) / seconds);
    }
    if (now > deadline) {
      throw new Error(`backlog: ${copied}/${count} copied within ${timeoutMs} ms`);
    }
    await delay(20);
  }
}
