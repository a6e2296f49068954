// Hot standby for ordered mode: a second process with the same configuration waits while the
// first holds the worker's client id, answers /healthz 200 with "standby", and takes over when
// the first dies, resuming the durable: nothing lost, first arrivals in order.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startStan, stopAll } from "../support/servers";
import { startReplicator, topicConfig, waitForHealth } from "../support/replicator-process";
import type { ReplicatorProcess } from "../support/replicator-process";
import {
  assertReplicatedInOrder,
  metricSum,
  startLivePublisher,
} from "../support/replication-helpers";
import { waitFor } from "../support/stan-client";

after(stopAll);

async function standbyReport(proc: ReplicatorProcess): Promise<{ status: number; state: string }> {
  const h = await proc.get("/healthz");
  return { status: h.status, state: (JSON.parse(h.body) as { status: string }).status };
}

/** ms from `since` until `proc` has copied a message (it is the active one). */
async function takeoverMs(proc: ReplicatorProcess, name: string, since: number): Promise<number> {
  await waitFor(
    async () => {
      try {
        return (
          metricSum((await proc.get("/metrics")).body, "stream_replicator_copied_msgs", { name }) >
          0
        );
      } catch {
        return false;
      }
    },
    { timeoutMs: 30_000, intervalMs: 20, message: "the standby copying" },
  );
  return Date.now() - since;
}

for (const how of ["kill -9", "SIGTERM"] as const) {
  test(`standby - ${how} of the active process mid-stream: the standby takes over, nothing lost, first arrivals in order`, async (t) => {
    const source = await startStan({ clusterId: "dc1" });
    const target = await startStan({ clusterId: "dc2" });
    const channel = `standby.${how === "kill -9" ? "kill" : "term"}`;
    const config = { topics: { s: topicConfig(source, target, channel, { name: "pair" }) } };
    const active = await startReplicator({ config });
    await waitForHealth(active, 200);
    const standby = await startReplicator({ config });
    await waitFor(async () => (await standbyReport(standby)).state === "standby", {
      timeoutMs: 15_000,
      message: "the second process reports standby",
    });
    assert.deepEqual(await standbyReport(standby), { status: 200, state: "standby" });
    await waitFor(
      async () =>
        metricSum((await standby.get("/metrics")).body, "stream_replicator_standby") === 1,
      { timeoutMs: 5_000, message: "stream_replicator_standby 1 (refreshed every second)" },
    );

    const live = startLivePublisher(source, channel, { ratePerSec: 300 });
    t.after(() => live.abort());
    await live.waitForAcked(300, 15_000);
    const killedAt = Date.now();
    if (how === "kill -9") await active.kill();
    else assert.equal(await active.stop("SIGTERM"), 0);
    const ms = await takeoverMs(standby, "pair", killedAt);
    t.diagnostic(`takeover after ${how}: ${ms} ms (first copy by the standby)`);
    await live.waitForAcked(live.ackedCount() + 300, 20_000);
    const published = await live.stop();
    await assertReplicatedInOrder(source, target, channel, published);
    await waitFor(
      async () =>
        metricSum((await standby.get("/metrics")).body, "stream_replicator_standby") === 0,
      { timeoutMs: 5_000, message: "stream_replicator_standby 0 once active" },
    );
    assert.equal(await standby.stop(), 0);
  });
}
