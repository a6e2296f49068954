// NATS Streaming -> JetStream with real servers: every message once, in source order, with the
// stan2js headers, byte-exact; the stream checked at start; exactly once across faults.
import { test, after } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { startStan, stopAll } from "../support/servers";
import type { StanServer } from "../support/servers";
import { DiscardPolicy, jetstream } from "@nats-io/jetstream";
import { startJetStreamCluster, startNatsServer } from "../support/nats-server";
import type { NatsServer } from "../support/nats-server";
import { numberedPayloads, publishAll } from "../support/stan-client";
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

/** Drains `count` messages through a fault: `fault` runs once a third of them is stored. */
async function drainThrough(
  channel: string,
  stream: string,
  count: number,
  fault: (ctx: { source: StanServer; js: NatsServer; proc: ReplicatorProcess }) => Promise<void>,
): Promise<{ proc: ReplicatorProcess; payloads: Buffer[]; js: NatsServer }> {
  const source = await startStan({ clusterId: "dc1", store: "FILE" });
  const js = await startNatsServer();
  const payloads = await publishAll(source.url, "dc1", channel, count);
  const proc = await startReplicator({
    config: {
      topics: {
        t: jsTopic(source, js, channel, { stream, create: true }, { publish_timeout: "2s" }),
      },
    },
  });
  await waitForStreamCount(js.url, stream, Math.floor(count / 3), 60_000);
  await fault({ source, js, proc });
  await waitForStreamCount(js.url, stream, count, 90_000);
  await new Promise((r) => setTimeout(r, 500));
  assertExactCopy(await readStream(js.url, stream), payloads, channel, "dc1");
  return { proc, payloads, js };
}

/** kill -9, a second down, then a restart on the same store. */
async function killAndRestart(server: Pick<StanServer, "kill" | "restart">): Promise<void> {
  await server.kill();
  await new Promise((r) => setTimeout(r, 1000));
  await server.restart();
}

/** The source's redeliveries after a fault: asserted, printed and returned. */
async function assertRedelivered(proc: ReplicatorProcess, t: TestContext): Promise<number> {
  const redelivered = await metric(proc, "stream_replicator_redelivered_msgs_total");
  assert.ok(redelivered > 0, `the source redelivered the in-flight window (${redelivered})`);
  t.diagnostic(`redelivered ${redelivered}`);
  return redelivered;
}

test("jetstream - kill -9 of the JetStream server mid-stream and a restart: each message exactly once, in order", async (t) => {
  const { proc } = await drainThrough("js.crash", "JSCRASH", 20_000, ({ js }) =>
    killAndRestart(js),
  );
  // The in-flight window comes again from the source: each copy is either found in the stream
  // (suppressed) or stored now; the stream holds every message once either way (checked above).
  await assertRedelivered(proc, t);
  const suppressed = await metric(proc, "stream_replicator_duplicates_suppressed_total");
  t.diagnostic(`of which already in the stream ${suppressed}`);
  assert.equal(await proc.stop(), 0);
});

test("jetstream - kill -9 of the NATS Streaming source mid-stream and a restart: each message exactly once, in order", async (t) => {
  const { proc } = await drainThrough("stan.kill", "STANKILL", 20_000, ({ source }) =>
    killAndRestart(source),
  );
  // Copies in flight at the kill come again and are dropped by the stream (counted as
  // suppressed); copies acknowledged before it are acknowledged again. How many of each depends
  // on where the kill lands, so only the redelivery itself is asserted.
  await assertRedelivered(proc, t);
  assert.equal(await proc.stop(), 0);
});

test("jetstream - NATS Streaming source hung (SIGSTOP), killed mid-stream and restarted: each message exactly once, in order; the redelivered window is acknowledged again without a publish", async (t) => {
  const { proc } = await drainThrough("stan.crash", "STANCRASH", 20_000, async ({ source }) => {
    // Hung first, so the acks of the window copied meanwhile are never read: after the restart
    // the source redelivers messages the stream holds and the replicator knows it acknowledged.
    process.kill(source.pid, "SIGSTOP");
    await new Promise((r) => setTimeout(r, 1000));
    await killAndRestart(source);
  });
  await assertRedelivered(proc, t);
  assert.equal(await metric(proc, "stream_replicator_duplicate_publishes_total"), 0);
  assert.equal(await metric(proc, "stream_replicator_duplicates_suppressed_total"), 0);
  assert.equal(await proc.stop(), 0);
});

test("jetstream - queued, 4 workers: each message exactly once (message ids, no chain)", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const js = await startNatsServer();
  const channel = "queued.js";
  const payloads = await publishAll(source.url, "dc1", channel, 5000);
  const proc = await startReplicator({
    config: {
      topics: {
        q: jsTopic(source, js, channel, { stream: "QUEUED", create: true }, { workers: 4 }),
      },
    },
  });
  await waitForStreamCount(js.url, "QUEUED", payloads.length);
  await new Promise((r) => setTimeout(r, 500));
  const messages = await readStream(js.url, "QUEUED");
  assert.equal(messages.length, payloads.length);
  const sequences = messages.map((m) => Number(m.headers["Nats-Streaming-Sequence"]));
  assert.deepEqual(
    [...sequences].sort((a, b) => a - b),
    payloads.map((_, i) => i + 1),
    "every sequence once",
  );
  assert.equal(await proc.stop(), 0);
});

test("jetstream - align_sequences: stream sequence = channel sequence, from a durable that starts mid-channel", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const js = await startNatsServer();
  const channel = "aligned";
  const payloads = await publishAll(source.url, "dc1", channel, 300);
  const proc = await startReplicator({
    config: {
      topics: {
        a: jsTopic(
          source,
          js,
          channel,
          { stream: "ALIGNED", create: true, align_sequences: true },
          { start_sequence: 101 },
        ),
      },
    },
  });
  await waitForStreamCount(js.url, "ALIGNED", 200);
  const messages = await readStream(js.url, "ALIGNED");
  assert.equal(messages.length, 200);
  for (const m of messages) assert.equal(String(m.seq), m.headers["Nats-Streaming-Sequence"]);
  assert.equal(messages[0]?.data.toString(), payloads[100]?.toString());
  assert.equal(await proc.stop(), 0);
});

test("jetstream - R3 stream in a 3-node JetStream cluster, its leader killed mid-stream: nothing lost, nothing doubled", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const cluster = await startJetStreamCluster();
  const channel = "r3.copy";
  const payloads = await publishAll(source.url, "dc1", channel, 10_000);
  const proc = await startReplicator({
    config: {
      topics: {
        r3: {
          ...jsTopic(source, cluster.nodes[0]!, channel, {
            stream: "R3",
            create: true,
            replicas: 3,
          }),
          target_url: cluster.urls,
          publish_timeout: "2s",
        },
      },
    },
  });
  const anyUrl = (): string => cluster.nodes.find((n) => n.running)!.url;
  await waitForStreamCount(anyUrl(), "R3", 2000, 60_000);
  const leaderName = await withManager(anyUrl(), async (jsm) => {
    return (await jsm.streams.info("R3")).cluster?.leader ?? "";
  });
  const leader = cluster.node(leaderName);
  await leader.kill();
  await waitForStreamCount(anyUrl(), "R3", payloads.length, 90_000);
  await new Promise((r) => setTimeout(r, 500));
  assertExactCopy(await readStream(anyUrl(), "R3"), payloads, channel, "dc1");
  assert.equal(await proc.stop(), 0);
});

test("jetstream - a plain NATS server (no JetStream): /healthz says why, the process stays up, nothing is acknowledged", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const plain = await startNatsServer({ jetstream: false });
  const channel = "plain.nats";
  const payloads = await publishAll(source.url, "dc1", channel, 100);
  const topic = jsTopic(source, plain, channel, { stream: "PLAIN" }, { name: "plain" });
  const proc = await startReplicator({ config: { topics: { p: topic } } });
  await waitForHealthBody(proc, 503, /JetStream is not enabled/);
  assert.equal(proc.exited(), false);
  assert.equal(await proc.stop(), 0);
  // The same durable against a JetStream server: every message is still there to copy.
  const js = await startNatsServer();
  const again = await startReplicator({
    config: {
      topics: { p: { ...topic, target_url: js.url, jetstream: { stream: "P", create: true } } },
    },
  });
  await waitForStreamCount(js.url, "P", payloads.length);
  assertExactCopy(await readStream(js.url, "P"), payloads, channel, "dc1");
  assert.equal(await again.stop(), 0);
});

test("jetstream - a payload above the server's max_payload stalls the topic visibly; what came before is stored", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const js = await startNatsServer({ maxPayload: 4096 });
  const channel = "too.big";
  const small = Buffer.alloc(100, 0x61);
  const big = Buffer.alloc(8000, 0x62);
  await publishAll(source.url, "dc1", channel, [small, small, big, small]);
  const proc = await startReplicator({
    config: { topics: { b: jsTopic(source, js, channel, { stream: "BIG", create: true }) } },
  });
  await waitForHealthBody(proc, 503, /"stalled"/);
  const health = JSON.parse((await proc.get("/healthz")).body) as {
    topics: Array<{ stalled?: { sequence: number; reason: string } }>;
  };
  assert.equal(health.topics[0]?.stalled?.sequence, 3);
  assert.equal((await readStream(js.url, "BIG")).length, 2);
  assert.equal(await metric(proc, "stream_replicator_topic_stalled"), 1);
  assert.equal(await proc.stop(), 0);
});

test("jetstream - a stream out of room (max_msgs, discard new): /healthz says why, the stream holds exactly what fits, in order", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const js = await startNatsServer();
  await withManager(js.url, (jsm) =>
    jsm.streams.add({
      name: "FULL",
      subjects: ["full.up"],
      max_msgs: 50,
      discard: DiscardPolicy.New,
    }),
  );
  const payloads = await publishAll(source.url, "dc1", "full.up", 200);
  const proc = await startReplicator({
    config: { topics: { f: jsTopic(source, js, "full.up", { stream: "FULL" }) } },
  });
  await waitForHealthBody(proc, 503, /maximum messages exceeded/);
  assertExactCopy(await readStream(js.url, "FULL"), payloads.slice(0, 50), "full.up", "dc1");
  assert.equal(proc.exited(), false);
  assert.equal(await proc.stop(), 0);
});

test("jetstream - publish permission denied on the subject: /healthz says why, the process stays up", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const js = await startNatsServer({
    config: [
      "authorization {",
      "  users: [",
      '    { user: sr, password: s3cret, permissions: { publish: { deny: ["denied.>"] } } }',
      "  ]",
      "}",
    ],
  });
  await withManager(`nats://sr:s3cret@127.0.0.1:${js.port}`, (jsm) =>
    jsm.streams.add({ name: "DENIED", subjects: ["denied.>"] }),
  );
  await publishAll(source.url, "dc1", "denied.x", 10);
  const proc = await startReplicator({
    config: {
      topics: {
        d: jsTopic(
          source,
          js,
          "denied.x",
          { stream: "DENIED" },
          {
            target_auth: { user: "sr", password: "s3cret" },
          },
        ),
      },
    },
  });
  await waitForHealthBody(proc, 503, /Permissions Violation/i);
  assert.equal((await readStream(`nats://sr:s3cret@127.0.0.1:${js.port}`, "DENIED")).length, 0);
  assert.doesNotMatch(proc.output(), /s3cret/);
  assert.equal(await proc.stop(), 0);
});

/** Polls /healthz until it answers `status` with a body matching `pattern`. */
async function waitForHealthBody(
  proc: ReplicatorProcess,
  status: number,
  pattern: RegExp,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const h = await proc.get("/healthz");
      last = `${h.status} ${h.body}`;
      if (h.status === status && pattern.test(h.body)) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`/healthz never ${status} ${pattern}; last: ${last.slice(0, 2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

test("jetstream - another writer on the stream breaks the chain: the copy that would leave a gap is refused, nothing is skipped, /healthz says why", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const js = await startNatsServer();
  const channel = "chain.broken";
  await publishAll(source.url, "dc1", channel, 50);
  const proc = await startReplicator({
    config: {
      topics: { c: jsTopic(source, js, channel, { stream: "CHAIN", create: true }) },
    },
  });
  await waitForStreamCount(js.url, "CHAIN", 50);
  // Someone else writes to the stream, then the channel moves on.
  await withManager(js.url, async (_jsm, nc) => {
    await jetstream(nc).publish(channel, Buffer.from("intruder"), { msgID: "someone-else" });
  });
  await publishAll(source.url, "dc1", channel, numberedPayloads(10, "after"));
  await waitForHealthBody(proc, 503, /not a copy from this topic/);
  const messages = await readStream(js.url, "CHAIN");
  assert.equal(messages.length, 51, "50 copies and the intruder; nothing copied past the gap");
  assert.equal(messages.at(-1)?.data.toString(), "intruder");
  assert.equal(proc.exited(), false);
  assert.equal(await proc.stop(), 0);
});

test("jetstream - advisories with cluster: target go to a JetStream subject, stored by the stream that captures it", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const js = await startNatsServer();
  await withManager(js.url, (jsm) =>
    jsm.streams.add({ name: "ADVISORIES", subjects: ["sr.advisories.>"] }),
  );
  const channel = "adv.js";
  const proc = await startReplicator({
    config: {
      topics: {
        adv: jsTopic(
          source,
          js,
          channel,
          { stream: "COPIES", create: true },
          {
            name: "adv",
            inspect: "sender",
            age: "6s",
            advisory: {
              target: "sr.advisories.adv",
              cluster: "target",
              age: "1s",
              interval: "200ms",
            },
          },
        ),
      },
    },
  });
  await waitForHealth(proc, 200);
  await publishAll(source.url, "dc1", channel, [Buffer.from(JSON.stringify({ sender: "web1" }))]);
  await waitForStreamCount(js.url, "ADVISORIES", 1, 15_000);
  const [advisory] = await readStream(js.url, "ADVISORIES");
  const body = JSON.parse(advisory?.data.toString() ?? "{}") as Record<string, unknown>;
  assert.equal(advisory?.subject, "sr.advisories.adv");
  assert.equal(body.event, "timeout");
  assert.equal(body.value, "web1");
  assert.equal(body.replicator, "adv");
  assert.equal(await proc.stop(), 0);
});
