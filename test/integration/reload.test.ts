// SIGHUP reloads the configuration: unchanged topics keep running without a pause, added ones
// start, removed ones stop (state saved), changed ones restart with their durable (nothing lost,
// nothing reordered); an invalid file is one log line and the old configuration stays.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { stateFilePath } from "../../src/sampling/state-file";
import { stringify } from "yaml";
import { makeTempDir, startStan, stopAll } from "../support/servers";
import type { StanServer } from "../support/servers";
import { startReplicator, topicConfig, waitForHealth } from "../support/replicator-process";
import type { ReplicatorProcess } from "../support/replicator-process";
import {
  assertReplicatedInOrder,
  metricSum,
  startLivePublisher,
  waitForCopied,
} from "../support/replication-helpers";
import { publishAll, waitFor } from "../support/stan-client";

after(stopAll);

interface Health {
  status: string;
  topics: Array<{ name: string; workers: Array<{ source: { since: string } }> }>;
}

async function health(proc: ReplicatorProcess): Promise<Health> {
  return JSON.parse((await proc.get("/healthz")).body) as Health;
}

function rewrite(proc: ReplicatorProcess, topics: Record<string, unknown>, extra = {}): void {
  const config = { http_host: "127.0.0.1", http_port: proc.port, ...extra, topics };
  writeFileSync(proc.configFile, stringify(config));
}

async function reloaded(proc: ReplicatorProcess, result: "applied" | "rejected", count: number) {
  await waitFor(
    async () =>
      metricSum((await proc.get("/metrics")).body, "stream_replicator_config_reloads_total", {
        result,
      }) === count,
    { timeoutMs: 20_000, message: `config_reloads_total{result="${result}"} ${count}` },
  );
}

function pair(source: StanServer, target: StanServer, channel: string, extra = {}) {
  return topicConfig(source, target, channel, { name: channel.replace(/\./g, "_"), ...extra });
}

test("reload - SIGHUP: the unchanged topic runs on without a pause, a new one starts, a changed one restarts in order, a removed one stops and saves its state", async (t) => {
  const source = await startStan({ clusterId: "dc1" });
  const target = await startStan({ clusterId: "dc2" });
  const stateDir = makeTempDir("reload-state");
  const limiter = { inspect: "host", age: "1h" };
  const initial = {
    keep: pair(source, target, "keep.me"),
    change: pair(source, target, "change.me", { max_in_flight: 64 }),
    drop: pair(source, target, "drop.me", limiter),
  };
  const proc = await startReplicator({ config: { state_dir: stateDir, topics: initial } });
  await waitForHealth(proc, 200);
  await publishAll(source.url, "dc1", "drop.me", [Buffer.from(JSON.stringify({ host: "web1" }))]);
  await waitForCopied(proc, "drop_me", 1);
  const keptSince = (await health(proc)).topics.find((x) => x.name === "keep_me")?.workers[0]
    ?.source.since;

  const live = startLivePublisher(source, "change.me", { ratePerSec: 200 });
  t.after(() => live.abort());
  await live.waitForAcked(200, 15_000);
  rewrite(
    proc,
    {
      keep: initial.keep,
      change: pair(source, target, "change.me", { max_in_flight: 128 }),
      added: pair(source, target, "added.me"),
    },
    { state_dir: stateDir },
  );
  process.kill(proc.pid ?? 0, "SIGHUP");
  await reloaded(proc, "applied", 1);
  await proc.waitForOutput(
    /configuration reloaded unchanged=\["keep"\] added=\["added"\] removed=\["drop"\] changed=\["change"\]/,
  );

  const after = await health(proc);
  assert.deepEqual(after.topics.map((x) => x.name).sort(), ["added_me", "change_me", "keep_me"]);
  assert.equal(
    after.topics.find((x) => x.name === "keep_me")?.workers[0]?.source.since,
    keptSince,
    "not restarted",
  );
  assert.match(
    readFileSync(stateFilePath(stateDir, "drop_me"), "utf8"),
    /web1/,
    "the removed topic saved its state",
  );

  await waitForHealth(proc, 200);
  await publishAll(source.url, "dc1", "added.me", 50);
  await waitForCopied(proc, "added_me", 50);
  await live.waitForAcked(live.ackedCount() + 200, 15_000);
  const published = await live.stop();
  await assertReplicatedInOrder(source, target, "change.me", published);
  assert.equal(await proc.stop(), 0);
});

test("reload - an invalid file is one log line; the old configuration keeps running", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const target = await startStan({ clusterId: "dc2" });
  const topics = { keep: pair(source, target, "still.here") };
  const proc = await startReplicator({ config: { topics } });
  await waitForHealth(proc, 200);
  writeFileSync(proc.configFile, `${readFileSync(proc.configFile, "utf8")}\n  bogus: [unclosed\n`);
  process.kill(proc.pid ?? 0, "SIGHUP");
  await reloaded(proc, "rejected", 1);
  await proc.waitForOutput(/configuration not reloaded; running on the previous one.*invalid YAML/);
  await publishAll(source.url, "dc1", "still.here", 20);
  await waitForCopied(proc, "still_here", 20);
  assert.equal((await proc.get("/healthz")).status, 200);
  assert.equal(await proc.stop(), 0);
});
