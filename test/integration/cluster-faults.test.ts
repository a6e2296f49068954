// Ordered replication between production topologies under faults (issue 14): 3-node clustered
// STAN with FILE stores on both sides (source dc1, target dc2, short raft timeouts), the
// replicator given every node of each side through a TCP fault proxy per node, live publishing
// to the source during the fault at a low (100 msg/s) and a high (2,000 msg/s) rate.
//
// Each test (test/support/cluster-scenario.ts) asserts: every source message reaches the
// target, the target's first arrivals are in source order, every extra copy is counted by the
// replicator's metrics, /healthz is 200 after the fault, the source durable ends with nothing
// unacknowledged, and the process is alive and exits 0 on SIGTERM. Blackhole tests also assert
// /healthz leaves 200 during the blackhole. FAULT_TEST_LOG_DIR=dir keeps every scenario's
// replicator and server logs.
//
// Silent-loss cases covered, from nats-streaming-server v0.25.6's code (server/server.go):
// - no leader: only the leader subscribes to `_STAN.pub.>` (initInternalSubs, called from
//   leadershipAcquired once promotion work is done; unsubscribed in leadershipLost), so a
//   publish reaching a follower's NATS server during an election has no subscriber and is
//   dropped without an answer (leader kill -9, node restart);
// - a hung leader (SIGSTOP) keeps its subscription interest on the other nodes' routes: a
//   publish is routed to it and nothing answers, no "no responders" either, while a new leader
//   elected meanwhile stores later ones (the "testbed" test below shows both answers);
// - acks to the source during an election go to an ack subscription nobody holds (startAckSub
//   runs in leadershipAcquired): the messages stay pending on the new leader and come back
//   after ack_wait (from their publish time, performRedeliveryOnStartup): duplicates only,
//   never loss; every scenario ends with the source durable settled (all sent, none pending);
// - the session moved between nodes: a connection that died half-open is replaced by client id
//   (isDuplicateConnect pings the old heartbeat inbox for 500 ms).
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { stopAll } from "../support/servers";
import type { StanClusterNode } from "../support/servers";
import {
  readFigures,
  runScenario,
  scenarioCleanups,
  waitForUnhealthy,
} from "../support/cluster-scenario";
import type { ScenarioContext } from "../support/cluster-scenario";
import { leaderSubjectProbe, startFaultCluster } from "../support/stan-cluster-faults";
import type { LeaderSubjectProbe, ProbeAnswer } from "../support/stan-cluster-faults";
import { waitFor } from "../support/stan-client";
import { waitForHealth } from "../support/replicator-process";

/** The two publish rates of every scenario, msg/s. */
const RATES = [100, 2000] as const;
const TEST_TIMEOUT = { timeout: 150_000 };
/** A half-open connection (blackhole) must show in /healthz within this. */
const HALF_OPEN_DETECTION_MS = 20_000;
/** WAN test: backlog published before the replicator starts, its drain speed measured. */
const BACKLOG = 10_000;
/** How long a freeze lasts: longer than publish_timeout (5 s). */
const FREEZE_MS = 8_000;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

after(async () => {
  await Promise.all([...scenarioCleanups].map((cleanup) => cleanup().catch(() => undefined)));
  await stopAll();
});

/** Kills the leader of one side, waits for the new one, then brings the old node back. */
async function killLeader(ctx: ScenarioContext, side: "source" | "target"): Promise<void> {
  const cluster = ctx.topo[side];
  const leader = await cluster.leader();
  await cluster.kill(leader);
  ctx.note(`${side} leader ${leader.nodeId} killed (kill -9)`);
  const next = await cluster.newLeader(leader);
  ctx.note(`${side}: ${next.leader.nodeId} leader after ${next.ms} ms`);
  await delay(1000);
  await cluster.restart(leader);
  ctx.note(`${side}: ${leader.nodeId} restarted, role ${await cluster.role(leader)}`);
}

/** Blackholes the proxies of `nodes`, asserts /healthz leaves 200, restores after `hold`. */
async function blackhole(
  ctx: ScenarioContext,
  side: "source" | "target",
  nodes: readonly StanClusterNode[],
  hold: (ctx: ScenarioContext) => Promise<void> = () => delay(1000),
): Promise<void> {
  const proxies = nodes.map((n) => ctx.topo[side].proxy(n));
  for (const p of proxies) p.blackhole();
  ctx.note(`${side} ${nodes.map((n) => n.nodeId).join(",")} blackholed`);
  try {
    const ms = await waitForUnhealthy(ctx.proc, HALF_OPEN_DETECTION_MS).catch(() => undefined);
    if (ms === undefined) {
      // Restored all the same: what the replicator does with the data is checked too.
      ctx.problem(
        `/healthz stayed 200 for ${HALF_OPEN_DETECTION_MS} ms of a blackhole between the ` +
          `replicator and the ${side}: the half-open connection was not detected`,
      );
      return;
    }
    ctx.note(`/healthz not 200 after ${ms} ms`);
    await hold(ctx);
  } finally {
    for (const p of proxies) p.restore();
    ctx.note(`${side} restored`);
  }
}

/** Probes every 100 ms until it answers `stop` 3 times in a row; the answers as they changed. */
async function probeUntil(
  probe: LeaderSubjectProbe,
  stop: ProbeAnswer,
  timeoutMs: number,
): Promise<{ answer: ProbeAnswer; atMs: number }[]> {
  const started = Date.now();
  const changes: { answer: ProbeAnswer; atMs: number }[] = [];
  let streak = 0;
  while (streak < 3 && Date.now() - started < timeoutMs) {
    const answer = await probe.probe();
    if (changes[changes.length - 1]?.answer !== answer) {
      changes.push({ answer, atMs: Date.now() - started });
    }
    streak = answer === stop ? streak + 1 : 0;
    await delay(100);
  }
  return changes;
}

test(
  "testbed - during an election a follower answers requests for the leader's subjects with 503 no responders after a kill -9, and not at all while the old leader hangs (SIGSTOP)",
  TEST_TIMEOUT,
  async (t) => {
    const cluster = await startFaultCluster({ clusterId: "dc2" });
    try {
      const first = await cluster.leader();
      const follower = cluster.others(first)[0] as StanClusterNode;
      const probe = await leaderSubjectProbe(follower, cluster.clusterId);
      try {
        assert.equal(await probe.probe(), "reply", "a leader answers");
        await cluster.kill(first);
        const killed = await probeUntil(probe, "reply", 20_000);
        t.diagnostic(`kill -9: ${killed.map((c) => `${c.answer} at ${c.atMs} ms`).join(", ")}`);
        assert.deepEqual(
          killed.map((c) => c.answer),
          ["no responders", "reply"],
          "no leader: 503 until a new leader subscribes",
        );
      } finally {
        probe.close();
      }
      await cluster.restart(first);
      const second = await cluster.leader();
      const other = cluster.others(second)[0] as StanClusterNode;
      const probe2 = await leaderSubjectProbe(other, cluster.clusterId);
      try {
        assert.equal(await probe2.probe(), "reply");
        cluster.pause(second);
        const hung = await probeUntil(probe2, "reply", 20_000);
        t.diagnostic(`SIGSTOP: ${hung.map((c) => `${c.answer} at ${c.atMs} ms`).join(", ")}`);
        assert.deepEqual(
          hung.map((c) => c.answer),
          ["nothing", "reply"],
          "a hung leader keeps its interest: silence (no 503) until a new leader answers",
        );
      } finally {
        probe2.close();
        cluster.resume(second);
      }
    } finally {
      await cluster.close();
    }
  },
);

for (const rate of RATES) {
  test(
    `ordered - target leader kill -9 at ${rate} msg/s, replicator on a follower: nothing lost, first arrivals in order, duplicates counted`,
    TEST_TIMEOUT,
    async (t) => {
      await runScenario(t, {
        channel: `tgt.leader.kill.${rate}`,
        rate,
        targetOn: "follower",
        fault: (ctx) => killLeader(ctx, "target"),
      });
    },
  );
}

for (const rate of RATES) {
  test(
    `ordered - target leader hung (SIGSTOP 5 s) and a new one elected at ${rate} msg/s, replicator on a follower: nothing lost, first arrivals in order`,
    TEST_TIMEOUT,
    async (t) => {
      await runScenario(t, {
        channel: `tgt.leader.stop.${rate}`,
        rate,
        targetOn: "follower",
        fault: async (ctx) => {
          const cluster = ctx.topo.target;
          const leader = await cluster.leader();
          cluster.pause(leader);
          ctx.note(`target leader ${leader.nodeId} stopped (SIGSTOP)`);
          try {
            const next = await cluster.newLeader(leader);
            ctx.note(`target: ${next.leader.nodeId} leader after ${next.ms} ms`);
            await delay(Math.max(0, 5000 - next.ms));
          } finally {
            cluster.resume(leader);
          }
          await waitFor(async () => (await cluster.role(leader)) === "Follower", {
            timeoutMs: 20_000,
            message: `${leader.nodeId} back as a follower`,
          });
          ctx.note(`target: ${leader.nodeId} resumed (SIGCONT), follower`);
        },
      });
    },
  );
}

for (const rate of RATES) {
  test(
    `ordered - source leader kill -9 at ${rate} msg/s, replicator on a follower, target 80 ms away (acks in flight lost in the election): redelivered and acknowledged, nothing lost, first arrivals in order`,
    TEST_TIMEOUT,
    async (t) => {
      await runScenario(t, {
        channel: `src.leader.kill.${rate}`,
        rate,
        sourceOn: "follower",
        // A WAN to the target keeps acks in flight (rate x 80 ms) when the source leader dies;
        // ack_wait 10 s (default 30 s) brings their messages back within the test.
        targetLatency: { toUpstreamMs: 40, toClientMs: 40 },
        topic: { ack_wait: "10s" },
        fault: async (ctx) => {
          await killLeader(ctx, "source");
          const d = await ctx.topo.source.durableState(ctx.channel, ctx.name);
          ctx.note(`durable on the new leader: last_sent ${d?.lastSent}, pending ${d?.pending}`);
        },
      });
    },
  );
}

for (const rate of RATES) {
  test(
    `ordered - source leader kill -9 at ${rate} msg/s, replicator on the leader (its subscription resumed on the new one): nothing lost, first arrivals in order`,
    TEST_TIMEOUT,
    async (t) => {
      await runScenario(t, {
        channel: `src.leader.kill.on.${rate}`,
        rate,
        sourceOn: "leader",
        fault: (ctx) => killLeader(ctx, "source"),
      });
    },
  );
}

for (const rate of RATES) {
  test(
    `ordered - restart of the target node the replicator is on (the leader) at ${rate} msg/s: nothing lost, first arrivals in order`,
    TEST_TIMEOUT,
    async (t) => {
      await runScenario(t, {
        channel: `tgt.node.restart.${rate}`,
        rate,
        targetOn: "leader",
        fault: async (ctx) => {
          const cluster = ctx.topo.target;
          const node = await cluster.leader();
          const started = Date.now();
          await cluster.restart(node);
          const leader = await cluster.leader();
          ctx.note(
            `target ${node.nodeId} restarted (SIGTERM, start) in ${Date.now() - started} ms, ` +
              `now ${await cluster.role(node)}; leader ${leader.nodeId}`,
          );
        },
      });
    },
  );
}

for (const rate of RATES) {
  test(
    `ordered - rolling restart of the target cluster (SIGTERM and start, one node at a time, the replicator's node last) at ${rate} msg/s, replicator on a follower: nothing lost, first arrivals in order`,
    TEST_TIMEOUT,
    async (t) => {
      await runScenario(t, {
        channel: `tgt.rolling.restart.${rate}`,
        rate,
        targetOn: "follower",
        fault: async (ctx) => {
          const cluster = ctx.topo.target;
          const leader = await cluster.leader();
          const on = await cluster.connectionNode(ctx.worker);
          if (!on) throw new Error("the replicator's target connection not found");
          const other = cluster.others(leader).find((n) => n !== on.node);
          // The leader restarts while the replicator publishes through a follower.
          for (const node of [other, leader, on.node]) {
            if (!node) continue;
            const started = Date.now();
            await cluster.restart(node);
            const now = await cluster.leader();
            ctx.note(
              `target ${node.nodeId} restarted in ${Date.now() - started} ms, leader ${now.nodeId}`,
            );
            await delay(1000); // as an operator would: let it settle before the next one
          }
        },
      });
    },
  );
}

for (const rate of RATES) {
  test(
    `ordered - every connection to both clusters reset (RST), twice, at ${rate} msg/s: the session moves to the next node, nothing lost, first arrivals in order`,
    TEST_TIMEOUT,
    async (t) => {
      await runScenario(t, {
        channel: `reset.all.${rate}`,
        rate,
        fault: async (ctx) => {
          const proxies = [...ctx.topo.source.proxies, ...ctx.topo.target.proxies];
          const target = ctx.topo.target;
          for (const round of [1, 2]) {
            const before = await target.connectionNode(ctx.worker);
            for (const p of proxies) p.resetAll();
            ctx.note(`reset ${round}: every connection of both sides reset`);
            // A new target connection (another node, or another connection id), then healthy.
            const now = await waitFor(
              async () => {
                const on = await target.connectionNode(ctx.worker);
                const moved = on && (on.node !== before?.node || on.cid !== before?.cid);
                return moved ? on : undefined;
              },
              { timeoutMs: 30_000, intervalMs: 100, message: "a new target connection" },
            );
            await waitForHealth(ctx.proc, 200, 30_000);
            ctx.note(`healthy again, target connection on ${now.node.nodeId}`);
          }
        },
      });
    },
  );
}

for (const rate of RATES) {
  test(
    `ordered - the target frozen for 8 s (traffic held, sockets open) at ${rate} msg/s: nothing lost, first arrivals in order`,
    TEST_TIMEOUT,
    async (t) => {
      await runScenario(t, {
        channel: `tgt.freeze.${rate}`,
        rate,
        fault: async (ctx) => {
          const started = Date.now();
          for (const p of ctx.topo.target.proxies) p.freeze();
          ctx.note(`target frozen (all ${ctx.topo.target.proxies.length} proxies)`);
          try {
            await delay(FREEZE_MS);
          } finally {
            for (const p of ctx.topo.target.proxies) p.thaw();
          }
          const seen = [...ctx.health.seenSince(started)].join(",");
          ctx.note(`target thawed; /healthz during the freeze: ${seen}`);
        },
      });
    },
  );
}

for (const rate of RATES) {
  test(
    `ordered - target blackholed (no FIN, no RST) at ${rate} msg/s: /healthz not 200 during it, 200 after, nothing lost, first arrivals in order`,
    TEST_TIMEOUT,
    async (t) => {
      await runScenario(t, {
        channel: `tgt.blackhole.${rate}`,
        rate,
        fault: (ctx) => blackhole(ctx, "target", ctx.topo.target.nodes),
      });
    },
  );
}

for (const rate of RATES) {
  test(
    `ordered - source blackholed (no FIN, no RST) at ${rate} msg/s: /healthz not 200 during it, 200 after, nothing lost, first arrivals in order`,
    TEST_TIMEOUT,
    async (t) => {
      await runScenario(t, {
        channel: `src.blackhole.${rate}`,
        rate,
        fault: (ctx) => blackhole(ctx, "source", ctx.topo.source.nodes),
      });
    },
  );
}

for (const rate of RATES) {
  test(
    `ordered - the target node the replicator is on blackholed at ${rate} msg/s: the session moves to another node while the old connection is half-open, nothing lost, first arrivals in order`,
    TEST_TIMEOUT,
    async (t) => {
      await runScenario(t, {
        channel: `session.moved.${rate}`,
        rate,
        fault: async (ctx) => {
          const target = ctx.topo.target;
          const on = await target.connectionNode(ctx.worker);
          if (!on) throw new Error("the replicator's target connection not found");
          await blackhole(ctx, "target", [on.node], async () => {
            // Healthy again through another node while the old one is still blackholed.
            const moved = await waitFor(
              async () => {
                const now = await target.connectionNode(ctx.worker);
                return now && now.node !== on.node ? now : undefined;
              },
              { timeoutMs: 30_000, intervalMs: 100, message: "the target session on another node" },
            );
            await waitForHealth(ctx.proc, 200, 30_000);
            ctx.note(`healthy again, target connection moved to ${moved.node.nodeId}`);
            await ctx.publisher.waitForAcked(ctx.publisher.ackedCount() + rate, 10_000);
          });
        },
      });
    },
  );
}

for (const rate of RATES) {
  test(
    `ordered - 80 ms round trip to the target (a WAN) at ${rate} msg/s: a 10,000 backlog drains at 2,000 msg/s or more, live traffic keeps up, first arrivals in order`,
    TEST_TIMEOUT,
    async (t) => {
      const result = await runScenario(t, {
        channel: `wan.${rate}`,
        rate,
        backlog: BACKLOG,
        targetLatency: { toUpstreamMs: 40, toClientMs: 40 },
        fault: async (ctx) => {
          await ctx.publisher.waitForAcked(ctx.publisher.ackedCount() + rate * 3, 20_000);
          const published = BACKLOG + ctx.publisher.ackedCount();
          const { copied } = await readFigures(ctx.proc, ctx.name);
          ctx.note(`3 s of live traffic over the WAN: ${published} published, ${copied} copied`);
          // Keeping up: at most a second of traffic (or one max_in_flight window) behind.
          if (published - copied > Math.max(rate, 1024)) {
            ctx.problem(`live traffic fell ${published - copied} messages behind over the WAN`);
          }
        },
      });
      const drained = result.drainRate ?? 0;
      if (drained < 2000) {
        throw new Error(`the backlog drained at ${drained} msg/s over an 80 ms round trip`);
      }
    },
  );
}
