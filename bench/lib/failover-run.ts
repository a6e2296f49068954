/**
 * One failover measurement (bench/failover.ts runs many): a fresh 3-node target cluster `dc2`
 * (FILE stores, the fault test bed's short raft timeouts), the replicator ordered with every
 * setting at its default (publish_timeout 10 s) and its target connection on a follower, live
 * traffic to the single-node source `dc1` at a fixed rate; then the target leader is killed
 * (kill -9) or hung (SIGSTOP for 5 s), and the harness watches the survivors:
 * /streaming/serverz every 10 ms until one is leader (the election), then that leader's
 * /streaming/channelsz every 10 ms. Afterwards both channels are read back: the stall from the
 * servers' own store times, order and loss as the fault test bed checks them
 * (failover-analysis.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { startPacedPublisher } from "../../test/support/paced-publisher";
import { readUntilComplete } from "../../test/support/replication-helpers";
import type { StanClusterNode } from "../../test/support/servers";
import { startFaultCluster } from "../../test/support/stan-cluster-faults";
import type { FaultCluster } from "../../test/support/stan-cluster-faults";
import { waitFor } from "../../test/support/stan-client";
import type { ReadMessage } from "../../test/support/stan-client";
import { analyseFailover } from "./failover-analysis";
import type { FailoverFigures, PollSample, StoredMessage } from "./failover-analysis";
import { figures, startReplicator, waitHealthy } from "./failover-replicator";
import type { Replicator } from "./failover-replicator";
import type { LoadWait } from "./load-wait";
import { channelInfo, sourceProgress } from "./monitor";
import { processState } from "./proc";
import type { Child } from "./proc";
import { sleep } from "../../src/replicator/backoff";

export type FailoverScenario = "kill" | "stop";

export const SCENARIO_LABELS: Record<FailoverScenario, string> = {
  kill: "leader kill -9",
  stop: "leader SIGSTOP 5 s",
};

/** How long the old leader stays hung in the SIGSTOP scenario. */
const HANG_MS = 5_000;
const POLL_MS = 10;
/** The watch ends once the new leader stored this many seconds of traffic beyond the fault,
 * or after WATCH_MAX_MS. */
const WATCH_SECONDS_OF_TRAFFIC = 1;
const WATCH_MAX_MS = 40_000;
const HEALTHY_DEADLINE_MS = 40_000;
/** Covers one source ack_wait (30 s) for a message whose ack was lost. */
const SETTLE_DEADLINE_MS = 45_000;

export interface SourceServer {
  url: string;
  clusterId: string;
  monitorUrl: string;
}

export interface FailoverRunOptions {
  scenario: FailoverScenario;
  rate: number;
  replicator: Replicator;
  source: SourceServer;
  /** Unique per run. */
  channel: string;
  /** Keep the replicator's output here, as <channel>.log. */
  logDir?: string;
  log(line: string): void;
}

export interface FailoverRun extends Partial<FailoverFigures> {
  scenario: FailoverScenario;
  rate: number;
  version: string;
  dir: string;
  channel: string;
  run?: number;
  load?: LoadWait;
  oldLeader?: string;
  newLeader?: string;
  /** The node holding the replicator's target connection at the fault (a follower). */
  replicatorOn?: string;
  /** Fault → a survivor reports role Leader on /streaming/serverz. */
  electionMs?: number;
  inOrder?: boolean;
  published?: number;
  /** The replicator's own counters at the end. */
  metrics?: Record<string, number>;
  exitCode?: number | null;
  ok: boolean;
  failures: string[];
  /** The replicator's output (the last 4,000 characters) when the run failed. */
  outputTail?: string;
}

export async function runFailover(o: FailoverRunOptions): Promise<FailoverRun> {
  const r: FailoverRun = {
    scenario: o.scenario,
    rate: o.rate,
    version: o.replicator.version,
    dir: o.replicator.dir,
    channel: o.channel,
    ok: false,
    failures: [],
  };
  const target = await startFaultCluster({ clusterId: "dc2" });
  const started: { child?: Child } = {};
  try {
    await measure(o, target, r, started);
  } catch (err) {
    r.failures.push(err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err));
  } finally {
    const { child } = started;
    if (child && !child.exited()) r.exitCode = await child.stop("SIGTERM");
    if (r.exitCode !== undefined && r.exitCode !== 0)
      r.failures.push(`replicator exited with ${r.exitCode ?? child?.exitSignal() ?? "?"}`);
    if (r.failures.length > 0 && child) r.outputTail = child.output().slice(-4000);
    if (o.logDir && child) {
      mkdirSync(o.logDir, { recursive: true });
      writeFileSync(path.join(o.logDir, `${o.channel}.log`), child.output());
    }
    await target.close();
  }
  r.ok = r.failures.length === 0;
  return r;
}

async function measure(
  o: FailoverRunOptions,
  target: FaultCluster,
  r: FailoverRun,
  started: { child?: Child },
): Promise<void> {
  const name = o.channel.replace(/[^a-zA-Z0-9_]/g, "_");
  const worker = `${name}_0`;
  const leader = await target.leader();
  const follower = target.others(leader)[0];
  if (!follower) throw new Error("dc2: no follower");
  const { child, port } = await startReplicator(
    o.replicator,
    o.source,
    o.channel,
    name,
    target.replicatorUrls(follower),
  );
  started.child = child;
  const metricsText = async (): Promise<string> =>
    (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
  await waitHealthy(port, child, HEALTHY_DEADLINE_MS);
  await target.waitForConnectionOn(worker, follower);

  const publisher = startPacedPublisher(() => o.source.url, o.source.clusterId, o.channel, {
    ratePerSec: o.rate,
  });
  try {
    await waitFor(
      async () => (await channelInfo(leader.monitorUrl, o.channel)).msgs >= 2 * o.rate,
      { timeoutMs: 30_000, message: "2 s of traffic on the target before the fault" },
    );
    r.replicatorOn = (await target.connectionNode(worker))?.node.nodeId;
    r.oldLeader = leader.nodeId;
    const baseline = (await channelInfo(leader.monitorUrl, o.channel)).last_seq;
    o.log(`${o.scenario} ${leader.nodeId} (replicator on ${r.replicatorOn ?? "?"})`);

    const faultAt = Date.now();
    let resumed: Promise<void> = Promise.resolve();
    if (o.scenario === "kill") {
      await target.kill(leader);
    } else {
      target.pause(leader);
      await waitFor(async () => processState(leader.pid) === "T", {
        timeoutMs: 2000,
        message: "the leader stopped",
      });
      resumed = sleep(HANG_MS - (Date.now() - faultAt)).then(() => target.resume(leader));
    }
    const deadAt = Date.now();
    const seen = await watch(
      target,
      leader,
      o.channel,
      baseline + WATCH_SECONDS_OF_TRAFFIC * o.rate,
    );
    r.newLeader = seen.leader.nodeId;
    r.electionMs = seen.electedAt - faultAt;
    await resumed;
    if (o.scenario === "stop") {
      await waitFor(async () => (await target.role(leader)) === "Follower", {
        timeoutMs: 20_000,
        message: `${leader.nodeId} back as a follower`,
      });
    }

    await waitHealthy(port, child, HEALTHY_DEADLINE_MS);
    await publisher.waitForAcked(publisher.ackedCount() + o.rate, 30_000);
    const acked = await publisher.stop();
    r.published = acked.length;
    await waitSettled(o.source, o.channel);
    const read = async (
      url: string,
      clusterId: string,
      expected: Buffer[],
    ): Promise<StoredMessage[]> =>
      (await readUntilComplete({ url, clusterId }, o.channel, expected, { timeoutMs: 45_000 })).map(
        stored,
      );
    const source = await read(o.source.url, o.source.clusterId, acked);
    const copies = await read(
      target.clientUrls(),
      target.clusterId,
      source.map((m) => Buffer.from(m.key)),
    );
    Object.assign(r, analyseFailover(source, copies, { faultAt, deadAt }, seen.polls));
    r.inOrder = r.disorder === undefined;
    if (r.lost) r.failures.push(`${r.lost} messages lost`);
    r.metrics = figures(await metricsText(), name);
  } finally {
    await publisher.abort();
  }
}

/**
 * Polls the survivors' roles until one is leader, then that leader's last_seq, every 10 ms,
 * until it reaches `enough` or WATCH_MAX_MS passed.
 */
async function watch(
  target: FaultCluster,
  old: StanClusterNode,
  channel: string,
  enough: number,
): Promise<{ leader: StanClusterNode; electedAt: number; polls: PollSample[] }> {
  const survivors = target.nodes.filter((n) => n.nodeId !== old.nodeId);
  const started = Date.now();
  const polls: PollSample[] = [];
  let elected: { leader: StanClusterNode; electedAt: number } | undefined;
  while (Date.now() - started < WATCH_MAX_MS) {
    const tick = Date.now();
    if (!elected) {
      const roles = await Promise.all(survivors.map((n) => target.role(n)));
      const leader = survivors[roles.indexOf("Leader")];
      if (leader) elected = { leader, electedAt: Date.now() };
    }
    if (elected) {
      const info = await channelInfo(elected.leader.monitorUrl, channel).catch(() => undefined);
      if (info) polls.push({ at: Date.now(), lastSeq: info.last_seq });
      if (info && info.last_seq >= enough) break;
    }
    await sleep(Math.max(0, POLL_MS - (Date.now() - tick)));
  }
  if (!elected) throw new Error(`no new leader within ${WATCH_MAX_MS} ms`);
  return { ...elected, polls };
}

/** The source durable sent everything and has nothing unacknowledged. */
async function waitSettled(source: SourceServer, channel: string): Promise<void> {
  await waitFor(
    async () => {
      const info = await channelInfo(source.monitorUrl, channel, true);
      return sourceProgress(info, info.last_seq).done;
    },
    { timeoutMs: SETTLE_DEADLINE_MS, message: "the source durable acknowledged everything" },
  );
}

function stored(m: ReadMessage): StoredMessage {
  return { seq: m.seq, key: m.data.toString(), timestamp: m.timestamp };
}
