// End-to-end replication: real nats-streaming-server processes (FILE store) as source and
// target, the real CLI as a child process, faults injected by killing servers and the
// replicator. Every test asserts counts and order on what the target stores.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, test } from "node:test";
import { startStan, stopAll } from "../support/servers";
import type { StanServer } from "../support/servers";
import { numberedPayloads, publishAll, readAll, waitFor } from "../support/stan-client";
import {
  firstArrivals,
  startReplicator,
  topicConfig,
  waitForHealth,
} from "../support/replicator-process";
import type { ReplicatorProcess } from "../support/replicator-process";
import {
  assertReplicatedInOrder,
  assertSameOrder,
  copiedCount,
  metricSum,
  readUntilComplete,
  startLivePublisher,
  waitForCopied,
} from "../support/replication-helpers";

const TEST_TIMEOUT = { timeout: 120_000 };
const MiB = 1024 * 1024;

/** Replicators and live publishers still running; a failed test leaves them to `after`. */
const cleanups = new Set<() => Promise<unknown>>();

after(async () => {
  await Promise.all([...cleanups].map((cleanup) => cleanup().catch(() => undefined)));
  await stopAll();
});

/** Runs `cleanup` at the end of the file unless it was run (and removed) before. */
function onCleanup(cleanup: () => Promise<unknown>): () => Promise<unknown> {
  cleanups.add(cleanup);
  return cleanup;
}

let pairCount = 0;

/** A fresh source and target FILE store server. */
async function startPair(
  opts: { maxPayload?: number; targetMaxPayload?: number } = {},
): Promise<{ source: StanServer; target: StanServer }> {
  pairCount++;
  const [source, target] = await Promise.all([
    startStan({ clusterId: `src${pairCount}`, store: "FILE", maxPayload: opts.maxPayload }),
    startStan({
      clusterId: `tgt${pairCount}`,
      store: "FILE",
      maxPayload: opts.targetMaxPayload ?? opts.maxPayload,
    }),
  ]);
  return { source, target };
}

/** Topic key and durable name for a channel (a dot in a topic key is not accepted). */
function keyOf(channel: string): string {
  return channel.replace(/[^a-zA-Z0-9_]/g, "_");
}

/** Starts the CLI with one topic copying `channel` from source to target (durable `keyOf`). */
function replicate(
  source: StanServer,
  target: StanServer,
  channel: string,
  extra: Record<string, unknown> = {},
): Promise<ReplicatorProcess> {
  return track(
    startReplicator({
      config: {
        log_level: "info",
        topics: {
          [keyOf(channel)]: topicConfig(source, target, channel, {
            name: keyOf(channel),
            ...extra,
          }),
        },
      },
    }),
  );
}

/** Kills the replicator at the end of the file if a failed test left it running. */
async function track(started: Promise<ReplicatorProcess>): Promise<ReplicatorProcess> {
  const proc = await started;
  onCleanup(() => proc.kill());
  return proc;
}

/** Waits for /healthz to answer `status`; the failure shows the replicator's latest output. */
async function healthy(proc: ReplicatorProcess, status = 200, timeoutMs = 30_000): Promise<void> {
  try {
    await waitForHealth(proc, status, timeoutMs);
  } catch (err) {
    const body = await proc.get("/healthz").then((r) => r.body, String);
    throw new Error(`${(err as Error).message}\n/healthz: ${body}\n${proc.output().slice(-4000)}`);
  }
}

test(
  "ordered - copies a backlog and live traffic, first arrivals in source order",
  TEST_TIMEOUT,
  async (t) => {
    const { source, target } = await startPair();
    const channel = "ordered.basic";
    const backlog = await publishAll(source.url, source.clusterId, channel, 2000);
    const proc = await replicate(source, target, channel);
    await healthy(proc);
    const live = startLivePublisher(source, channel, { ratePerSec: 500 });
    const stopLive = onCleanup(() => live.abort());
    await live.waitForAcked(1000, 20_000);
    cleanups.delete(stopLive);
    const liveAcked = await live.stop();

    const check = await assertReplicatedInOrder(source, target, channel, [
      ...backlog,
      ...liveAcked,
    ]);
    t.diagnostic(`copied ${check.sourceUnique}, duplicates ${check.duplicates}`);
    assert.equal(check.sourceUnique, backlog.length + liveAcked.length);
    assert.equal(check.duplicates, 0, "no fault, no repeats");
    assert.equal(await proc.stop(), 0);
  },
);

/**
 * The common shape of the fault tests: a backlog on the source, the replicator started, a
 * live publisher running; once `copiedBefore` messages were copied, `fault` runs (it kills
 * and restarts something); the live publisher runs on for a while, then everything must be on
 * the target in source order.
 */
async function faultScenario(
  t: { diagnostic(message: string): void },
  channel: string,
  fault: (ctx: {
    source: StanServer;
    target: StanServer;
    proc: ReplicatorProcess;
    live: ReturnType<typeof startLivePublisher>;
  }) => Promise<void>,
  opts: { backlog?: number; copiedBefore?: number } = {},
): Promise<void> {
  const { source, target } = await startPair();
  const backlog = await publishAll(source.url, source.clusterId, channel, opts.backlog ?? 20_000);
  const proc = await replicate(source, target, channel);
  const live = startLivePublisher(source, channel, { ratePerSec: 400 });
  const stopLive = onCleanup(() => live.abort());
  const copied = await waitForCopied(proc, keyOf(channel), opts.copiedBefore ?? 2000);
  t.diagnostic(`fault injected after ${copied} copied, ${live.ackedCount()} live acked`);
  await fault({ source, target, proc, live });
  await healthy(proc);
  await live.waitForAcked(live.ackedCount() + 400, 20_000);
  cleanups.delete(stopLive);
  const liveAcked = await live.stop();
  const started = Date.now();
  const check = await assertReplicatedInOrder(source, target, channel, [...backlog, ...liveAcked]);
  const { body } = await proc.get("/metrics");
  t.diagnostic(
    `complete ${Date.now() - started} ms after the publisher stopped: ${check.sourceUnique} ` +
      `distinct (${backlog.length} backlog + ${liveAcked.length} live, ${live.retries()} ` +
      `publisher retries), target ${check.targetTotal}, duplicates ${check.duplicates} ` +
      `(metric duplicate_publishes_total ${metricSum(body, "stream_replicator_duplicate_publishes_total")})`,
  );
  assert.equal(check.sourceUnique, backlog.length + liveAcked.length);
  assert.equal(await proc.stop(), 0, "clean exit on SIGTERM");
}

test(
  "ordered - keeps every message and the order across a kill -9 and restart of the target",
  TEST_TIMEOUT,
  async (t) => {
    await faultScenario(t, "ordered.target.crash", async ({ target, proc, live }) => {
      await target.kill();
      await healthy(proc, 503, 10_000);
      // The outage lasts while the live publisher adds a few hundred messages.
      await live.waitForAcked(live.ackedCount() + 300, 10_000);
      await target.restart();
    });
  },
);

test(
  "ordered - a frozen target (SIGSTOP: socket open, no answers) fails publishes by timeout; after SIGCONT nothing is lost or reordered",
  TEST_TIMEOUT,
  async (t) => {
    const { source, target } = await startPair();
    const channel = "ordered.target.frozen";
    const backlog = await publishAll(source.url, source.clusterId, channel, 20_000);
    const proc = await replicate(source, target, channel, { publish_timeout: "2s" });
    await waitForCopied(proc, keyOf(channel), 2000);
    process.kill(target.pid, "SIGSTOP");
    const resume = onCleanup(async () => process.kill(target.pid, "SIGCONT"));
    try {
      // No socket error comes: only the publish timeout can notice.
      await healthy(proc, 503, 15_000);
      const { body } = await proc.get("/metrics");
      const timeouts = metricSum(body, "stream_replicator_publish_errors_total", {
        reason: "timeout",
      });
      t.diagnostic(`publish timeouts while frozen: ${timeouts}`);
      assert.ok(timeouts > 0, "publishes failed as timeouts");
    } finally {
      cleanups.delete(resume);
      process.kill(target.pid, "SIGCONT");
    }
    await healthy(proc, 200, 60_000);
    const check = await assertReplicatedInOrder(source, target, channel, backlog);
    t.diagnostic(`target ${check.targetTotal}, duplicates ${check.duplicates}`);
    assert.equal(check.sourceUnique, backlog.length);
    assert.equal(await proc.stop(), 0);
  },
);

test(
  "ordered - keeps every message and the order across a kill -9 and restart of the source",
  TEST_TIMEOUT,
  async (t) => {
    await faultScenario(t, "ordered.source.crash", async ({ source, proc }) => {
      await source.kill();
      await healthy(proc, 503, 10_000);
      await source.restart();
    });
  },
);

test(
  "ordered - keeps every message and the order across a kill -9 and restart of the replicator",
  TEST_TIMEOUT,
  async (t) => {
    await faultScenario(t, "ordered.replicator.crash", async ({ proc, live }) => {
      await proc.kill();
      await live.waitForAcked(live.ackedCount() + 300, 10_000);
      await proc.restart();
    });
  },
);

test("queued - 10 workers copy the complete set, each message once", TEST_TIMEOUT, async (t) => {
  const { source, target } = await startPair();
  const channel = "queued.workers";
  const backlog = await publishAll(source.url, source.clusterId, channel, 5000);
  const proc = await replicate(source, target, channel, { workers: 10 });
  await healthy(proc);
  const live = await publishAll(
    source.url,
    source.clusterId,
    channel,
    numberedPayloads(2000, "live"),
  );
  const expected = [...backlog, ...live];

  const onTarget = await readUntilComplete(target, channel, expected, { timeoutMs: 30_000 });
  const { order, duplicates } = firstArrivals(onTarget.map((m) => m.data));
  assert.deepEqual([...order].sort(), expected.map(String).sort(), "the complete set");
  assert.equal(duplicates, 0, "no fault, no repeats");
  const { body } = await proc.get("/metrics");
  const perWorker = Array.from({ length: 10 }, (_, n) =>
    metricSum(body, "stream_replicator_copied_msgs", { worker: `${keyOf(channel)}_${n}` }),
  );
  t.diagnostic(`copied per worker: ${perWorker.join(", ")}`);
  assert.equal(
    perWorker.reduce((a, b) => a + b, 0),
    expected.length,
  );
  assert.ok(perWorker.filter((n) => n > 0).length > 1, "more than one worker copied");
  assert.equal(await proc.stop(), 0);
});

test(
  "queued - two replicator processes with the same queue group share the channel, each message once",
  TEST_TIMEOUT,
  async (t) => {
    const { source, target } = await startPair();
    const channel = "queued.processes";
    // The same topic configuration in both processes: a STAN durable queue group is identified
    // by durable name and queue group together, so both must use the same `name` to share it.
    const extra = { queued: true, queue_group: "shared_grp", max_in_flight: 64 };
    const [first, second] = await Promise.all([
      replicate(source, target, channel, extra),
      replicate(source, target, channel, extra),
    ]);
    await Promise.all([healthy(first, 200, 15_000), healthy(second, 200, 15_000)]);
    const payloads = await publishAll(source.url, source.clusterId, channel, 5000);

    const onTarget = await readUntilComplete(target, channel, payloads, { timeoutMs: 30_000 });
    const { order, duplicates } = firstArrivals(onTarget.map((m) => m.data));
    assert.deepEqual([...order].sort(), payloads.map(String).sort(), "the complete set");
    const copied = [
      await copiedCount(first, keyOf(channel)),
      await copiedCount(second, keyOf(channel)),
    ];
    t.diagnostic(`copied per process: ${copied.join(", ")}, duplicates ${duplicates}`);
    assert.ok(
      copied.every((n) => n > 0),
      "both processes copied some",
    );
    assert.equal(duplicates, 0, "no fault, no repeats");
    assert.equal(
      copied.reduce((a, b) => a + b, 0),
      payloads.length,
    );
    assert.equal(await first.stop(), 0);
    assert.equal(await second.stop(), 0);
  },
);

test(
  "topics - one topic replicates everything while another topic's source is down, which catches up after",
  TEST_TIMEOUT,
  async () => {
    const { source, target } = await startPair();
    const brokenSource = await startStan({ clusterId: "src-broken", store: "FILE" });
    const okChannel = "two.ok";
    const brokenChannel = "two.broken";
    const brokenBacklog = await publishAll(
      brokenSource.url,
      brokenSource.clusterId,
      brokenChannel,
      1000,
    );
    await brokenSource.kill();

    const proc = await track(
      startReplicator({
        config: {
          log_level: "info",
          topics: {
            [keyOf(okChannel)]: topicConfig(source, target, okChannel, { name: keyOf(okChannel) }),
            [keyOf(brokenChannel)]: topicConfig(brokenSource, target, brokenChannel, {
              name: keyOf(brokenChannel),
            }),
          },
        },
      }),
    );
    const okBacklog = await publishAll(source.url, source.clusterId, okChannel, 2000);
    const okMore = await publishAll(
      source.url,
      source.clusterId,
      okChannel,
      numberedPayloads(1000, "more"),
    );
    const okCheck = await assertReplicatedInOrder(source, target, okChannel, [
      ...okBacklog,
      ...okMore,
    ]);
    assert.equal(okCheck.sourceUnique, 3000);
    assert.equal(okCheck.duplicates, 0);

    const health = await proc.get("/healthz");
    assert.equal(health.status, 503);
    const report = JSON.parse(health.body) as {
      status: string;
      topics: { name: string; healthy: boolean; problems: string[] }[];
    };
    const byName = new Map(report.topics.map((topic) => [topic.name, topic]));
    assert.equal(byName.get(keyOf(okChannel))?.healthy, true, health.body);
    const broken = byName.get(keyOf(brokenChannel));
    assert.equal(broken?.healthy, false, health.body);
    assert.match(broken.problems.join("\n"), /source/, health.body);
    assert.equal(await copiedCount(proc, keyOf(brokenChannel)), 0);

    await brokenSource.restart();
    const brokenMore = await publishAll(
      brokenSource.url,
      brokenSource.clusterId,
      brokenChannel,
      numberedPayloads(500, "more"),
    );
    const brokenCheck = await assertReplicatedInOrder(brokenSource, target, brokenChannel, [
      ...brokenBacklog,
      ...brokenMore,
    ]);
    assert.equal(brokenCheck.sourceUnique, 1500);
    assert.equal(brokenCheck.duplicates, 0);
    await healthy(proc);
    assert.equal(await proc.stop(), 0);
  },
);

test(
  "ordered - copies empty, all-byte-values and 1 MiB payloads byte-exact and in order",
  TEST_TIMEOUT,
  async () => {
    const { source, target } = await startPair({ maxPayload: 2 * MiB });
    const channel = "bytes.exact";
    const payloads = [
      Buffer.alloc(0),
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      randomBytes(MiB),
      Buffer.from("last"),
    ];
    await publishAll(source.url, source.clusterId, channel, payloads);
    const proc = await replicate(source, target, channel);

    const onTarget = await readAll(target.url, target.clusterId, channel, {
      expect: payloads.length,
      timeoutMs: 30_000,
      settleMs: 500,
    });
    assert.equal(onTarget.length, payloads.length, "message count");
    onTarget.forEach((msg, i) => {
      const expected = payloads[i] as Buffer;
      assert.equal(msg.data.length, expected.length, `length of message #${i}`);
      assert.ok(msg.data.equals(expected), `bytes of message #${i}`);
    });
    assert.equal(await proc.stop(), 0);
  },
);

test(
  "shutdown - SIGTERM with messages in flight exits 0, and a restart copies the rest without loss",
  TEST_TIMEOUT,
  async (t) => {
    const { source, target } = await startPair();
    const channel = "sigterm.inflight";
    const backlog = await publishAll(source.url, source.clusterId, channel, 20_000);
    const proc = await replicate(source, target, channel);
    const name = keyOf(channel);
    await waitForCopied(proc, name, 2000);
    // Received and not yet copied: in flight right now.
    const { copied, inflight } = await waitFor(
      async () => {
        const { body } = await proc.get("/metrics");
        const copied = metricSum(body, "stream_replicator_copied_msgs", { name });
        const inflight = metricSum(body, "stream_replicator_received_msgs", { name }) - copied;
        return inflight > 0 ? { copied, inflight } : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 5, message: "messages in flight" },
    );
    assert.equal(await proc.stop("SIGTERM"), 0, "exit code after SIGTERM");
    t.diagnostic(`SIGTERM with ${inflight} in flight after ${copied} copied`);
    assert.ok(copied < backlog.length, "stopped mid-stream");
    assert.match(proc.output(), /stopped/);

    await proc.restart();
    const check = await assertReplicatedInOrder(source, target, channel, backlog);
    t.diagnostic(`target ${check.targetTotal}, duplicates ${check.duplicates}`);
    assert.equal(check.sourceUnique, backlog.length);
    assert.equal(await proc.stop(), 0);
  },
);

test(
  "ordered - stalls on a payload the target rejects: copies what came before, nothing after, stays up",
  TEST_TIMEOUT,
  async () => {
    // The source accepts 2 MiB payloads, the target only its default 1 MiB.
    const { source, target } = await startPair({ maxPayload: 2 * MiB, targetMaxPayload: MiB });
    const channel = "stall.big";
    const before = numberedPayloads(20, "before");
    const big = Buffer.alloc(1_500_000, 0x61);
    const afterBig = numberedPayloads(20, "after");
    await publishAll(source.url, source.clusterId, channel, [...before, big, ...afterBig]);
    const name = keyOf(channel);
    const proc = await replicate(source, target, channel);

    const report = await waitFor(
      async () => {
        const res = await proc.get("/healthz");
        return res.status === 503 && /stalled/.test(res.body) ? res.body : undefined;
      },
      { timeoutMs: 20_000, message: "/healthz reports the stall" },
    );
    const topic = (
      JSON.parse(report) as {
        topics: { name: string; stalled?: { sequence: number; reason: string } }[];
      }
    ).topics.find((t) => t.name === name);
    assert.equal(topic?.stalled?.sequence, before.length + 1, report);
    assert.match(topic.stalled.reason, /1500000 bytes/, report);
    await proc.waitForOutput(/topic stalled on a message the target rejects.*sequence=21/);

    const metrics = (await proc.get("/metrics")).body;
    assert.equal(metricSum(metrics, "stream_replicator_topic_stalled", { name }), 1);
    // Messages before the rejected one may still have been in flight when it stalled.
    await waitFor(async () => (await copiedCount(proc, name)) === before.length, {
      timeoutMs: 10_000,
      message: `${before.length} messages copied`,
    });

    const onTarget = await readAll(target.url, target.clusterId, channel, {
      timeoutMs: 10_000,
      idleMs: 1000,
    });
    assertSameOrder(
      onTarget.map((m) => m.data.toString()),
      before.map(String),
      "target holds exactly the messages before the rejected one",
    );
    assert.equal(await copiedCount(proc, name), before.length, "nothing copied after the stall");
    assert.equal(proc.exited(), false, "the replicator keeps running");
    assert.equal((await proc.get("/livez")).status, 200);
    assert.equal(await proc.stop(), 0);
  },
);

test(
  "start position - start_at new copies only messages published after the subscription",
  TEST_TIMEOUT,
  async () => {
    const { source, target } = await startPair();
    const channel = "start.new";
    await publishAll(source.url, source.clusterId, channel, numberedPayloads(500, "old"));
    const proc = await replicate(source, target, channel, {
      start_at: "new",
      name: "start_new_fresh_durable",
    });
    await healthy(proc);
    const fresh = await publishAll(
      source.url,
      source.clusterId,
      channel,
      numberedPayloads(500, "new"),
    );

    const onTarget = await readUntilComplete(target, channel, fresh, { timeoutMs: 30_000 });
    assertSameOrder(
      onTarget.map((m) => m.data.toString()),
      fresh.map(String),
      "target holds exactly the new messages",
    );
    assert.equal(await proc.stop(), 0);
  },
);
