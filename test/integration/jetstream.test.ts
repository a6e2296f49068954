// NATS Streaming -> JetStream with real servers: every message once, in source order, with the
// stan2js headers, byte-exact; the stream checked at start; exactly once across faults.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startStan, stopAll } from "../support/servers";
import type { StanServer } from "../support/servers";
import { startNatsServer } from "../support/nats-server";
import type { NatsServer } from "../support/nats-server";
import { publishAll } from "../support/stan-client";
import { startReplicator, waitForHealth } from "../support/replicator-process";
import type { ReplicatorProcess } from "../support/replicator-process";
import { metricSum, startLivePublisher } from "../support/replication-helpers";
import { readStream, waitForStreamCount, withManager } from "../support/jetstream-client";
import type { StreamMessage } from "../support/jetstream-client";

after(stopAll);

function jsTopic(
  source: StanServer,
  js: NatsServer,
  channel: string,
  jetstream: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    topic: channel,
    source_url: source.url,
    source_cluster_id: source.clusterId,
    target: "jetstream",
    target_url: js.url,
    jetstream,
    ...extra,
  };
}

/** Every stream message once, in source order, byte-exact, with the copy headers. */
function assertExactCopy(
  messages: StreamMessage[],
  payloads: Buffer[],
  channel: string,
  clusterId: string,
): void {
  assert.equal(messages.length, payloads.length, "each message exactly once in the stream");
  messages.forEach((m, i) => {
    assert.equal(m.data.toString("base64"), payloads[i]?.toString("base64"), `payload ${i}`);
    assert.equal(m.headers["Nats-Streaming-Sequence"], String(i + 1), `sequence of ${i}`);
    assert.equal(m.headers["Nats-Msg-Id"], `${clusterId}:${channel}:${i + 1}`);
    assert.equal(m.headers["Nats-Streaming-Channel"], channel);
    assert.equal(m.headers["Nats-Streaming-Cluster"], clusterId);
    assert.ok(!Number.isNaN(Date.parse(m.headers["Nats-Streaming-Timestamp"] ?? "")));
  });
}

async function metric(proc: ReplicatorProcess, name: string): Promise<number> {
  return metricSum((await proc.get("/metrics")).body, name);
}

test("jetstream - ordered: backlog and live traffic land once each, in source order, byte-exact, with the stan2js headers", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const js = await startNatsServer();
  const channel = "acme.cmdb";
  const backlog = await publishAll(source.url, "dc1", channel, 2000);
  const proc = await startReplicator({
    config: {
      topics: { cmdb: jsTopic(source, js, channel, { stream: "CMDB", create: true }) },
    },
  });
  await waitForHealth(proc, 200);
  const live = startLivePublisher(source, channel, { ratePerSec: 400 });
  await live.waitForAcked(500, 20_000);
  const livePayloads = await live.stop();
  const all = [...backlog, ...livePayloads];
  await waitForStreamCount(js.url, "CMDB", all.length);
  await new Promise((r) => setTimeout(r, 300)); // nothing more should arrive
  assertExactCopy(await readStream(js.url, "CMDB"), all, channel, "dc1");
  const messages = await readStream(js.url, "CMDB");
  assert.equal(messages[0]?.headers["Stream-Replicator"], "cmdb_acme_cmdb_stream_replicator");
  assert.equal(await metric(proc, "stream_replicator_duplicates_suppressed_total"), 0);
  assert.equal(await proc.stop(), 0);
});

test("jetstream - a missing stream (without create) stops the start with one line naming topic, stream and subject", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const js = await startNatsServer();
  const proc = await startReplicator({
    config: { topics: { cmdb: jsTopic(source, js, "acme.cmdb", { stream: "NOPE" }) } },
  });
  const code = await proc.stop("SIGCONT", 20_000);
  assert.equal(code, 2);
  const lines = proc.output().trim().split("\n");
  assert.equal(
    lines.at(-1),
    `topic cmdb: stream NOPE does not exist on ${js.url} (create it with subject acme.cmdb, or set jetstream.create: true)`,
  );
});

test("jetstream - a stream that does not capture the subject stops the start with one line", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const js = await startNatsServer();
  await withManager(js.url, (jsm) => jsm.streams.add({ name: "OTHER", subjects: ["other.>"] }));
  const proc = await startReplicator({
    config: { topics: { cmdb: jsTopic(source, js, "acme.cmdb", { stream: "OTHER" }) } },
  });
  assert.equal(await proc.stop("SIGCONT", 20_000), 2);
  assert.match(
    proc.output(),
    /topic cmdb: stream OTHER does not capture subject acme\.cmdb \(its subjects: other\.>\)\n$/,
  );
});

test("jetstream - kill -9 of the replicator mid-stream: each message exactly once, in order; the rest confirmed as already stored", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const js = await startNatsServer();
  const channel = "crash.me";
  const payloads = await publishAll(source.url, "dc1", channel, 20_000);
  const proc = await startReplicator({
    config: {
      topics: { crash: jsTopic(source, js, channel, { stream: "CRASH", create: true }) },
    },
  });
  await waitForStreamCount(js.url, "CRASH", 3000, 30_000);
  await proc.kill();
  const before = (await readStream(js.url, "CRASH")).length;
  await proc.restart();
  await waitForStreamCount(js.url, "CRASH", payloads.length, 60_000);
  await new Promise((r) => setTimeout(r, 500));
  assertExactCopy(await readStream(js.url, "CRASH"), payloads, channel, "dc1");
  assert.ok(before < payloads.length, `killed mid-stream (${before} stored)`);
  assert.equal(await proc.stop(), 0);
});
