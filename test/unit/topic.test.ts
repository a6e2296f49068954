// A topic: its workers, its stall on a message the target rejects for good, its status, and
// its independence from other topics, with fake sessions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { nullObserver } from "../../src/replicator/observer";
import type { ReplicationObserver } from "../../src/replicator/observer";
import { Topic } from "../../src/replicator/topic";
import type { TopicDeps, TopicSettings } from "../../src/replicator/topic";
import { ConnectionError } from "../../src/errors";
import { redactUrl } from "../../src/util/redact";
import { FakeConnector, until } from "../support/fake-sessions";
import { createTestLogger } from "../support/test-logger";

function settings(overrides: Partial<TopicSettings> = {}): TopicSettings {
  return {
    name: "orders",
    topic: "shop.orders",
    targetTopic: "replica.orders",
    sourceUrls: ["nats://user:secret@source1:4222"],
    targetUrls: ["nats://target1:4222"],
    workers: 1,
    queued: false,
    queueGroup: "grp",
    maxInFlight: 64,
    ackWaitMs: 30_000,
    publishTimeoutMs: 10_000,
    publishPauseAfterMs: 500,
    startAt: { kind: "first" },
    ...overrides,
  };
}

function topicWith(
  overrides: Partial<TopicSettings> = {},
  deps: Partial<TopicDeps> = {},
): { topic: Topic; source: FakeConnector; target: FakeConnector } {
  const source = new FakeConnector();
  const target = new FakeConnector();
  const topic = new Topic(settings(overrides), {
    source,
    target,
    observer: nullObserver,
    log: createTestLogger(),
    now: Date.now,
    redactUrl,
    clientId: (n) => `orders_${n}`,
    ...deps,
  });
  return { topic, source, target };
}

test("topic - a payload above the target's limit stalls the topic: status, observer, nothing acked from it on", async () => {
  const stalls: boolean[] = [];
  const observer: ReplicationObserver = { ...nullObserver, stalled: (s) => void stalls.push(s) };
  const { topic, source, target } = topicWith({}, { observer });
  target.onOpen = (s) => void (s.maxPayload = 100);
  topic.start(1_000);
  await until(() => topic.status().workers[0]!.subscribed, "subscribed");
  const src = source.last("source");
  const tgt = target.last("target");
  src.deliver(1);
  tgt.published[0]!.resolve();
  await until(() => src.acks.length === 1, "1 acked");
  src.deliver(2, "x".repeat(101));
  src.deliver(3);
  await until(() => topic.status().stalled !== undefined, "stalled");
  const stalled = topic.status().stalled!;
  assert.equal(stalled.sequence, 2);
  assert.match(stalled.reason, /101 bytes exceeds the 100 bytes/);
  assert.deepEqual(stalls, [false, true]);
  assert.deepEqual(src.acks, [1]);
  assert.equal(tgt.published.length, 1, "neither 2 nor 3 is published");
  await topic.stop();
});

test("topic - status shows URLs without credentials and each worker's client id and state", async () => {
  const { topic } = topicWith({ workers: 2, queued: true });
  const s = topic.status();
  assert.deepEqual(s.sourceUrls, ["nats://source1:4222"]);
  assert.deepEqual(
    s.workers.map((w) => [w.worker, w.clientId, w.source.kind]),
    [
      [0, "orders_0", "connecting"],
      [1, "orders_1", "connecting"],
    ],
  );
  topic.start(1_000);
  await until(() => topic.status().workers.every((w) => w.subscribed), "both subscribed");
  await topic.stop();
  assert.ok(topic.status().workers.every((w) => w.source.kind === "closed"));
});

test("topic - queued workers subscribe with the queue group, ordered ones without", async () => {
  const queued = topicWith({ workers: 2, queued: true });
  const ordered = topicWith();
  queued.topic.start(1_000);
  ordered.topic.start(1_000);
  await until(() => queued.source.sessions("source").length === 2, "queued subscribed");
  await until(() => ordered.topic.status().workers[0]!.subscribed, "ordered subscribed");
  await until(() => queued.topic.status().workers.every((w) => w.subscribed), "queued subscribed");
  assert.ok(queued.source.sessions("source").every((s) => s.subscription?.queueGroup === "grp"));
  assert.equal(ordered.source.last("source").subscription?.queueGroup, undefined);
  await Promise.all([queued.topic.stop(), ordered.topic.stop()]);
});

test("topic - a topic whose source is down does not hold up another topic", async () => {
  const down = topicWith({ name: "down" });
  for (let i = 0; i < 50; i++) {
    down.source.failNext("source", new ConnectionError("connect ECONNREFUSED"));
  }
  const up = topicWith({ name: "up" });
  up.target.autoAck = true;
  down.topic.start(1_000);
  up.topic.start(1_000);
  await until(() => up.topic.status().workers[0]!.subscribed, "the healthy topic subscribed");
  const src = up.source.last("source");
  for (let seq = 1; seq <= 20; seq++) src.deliver(seq);
  await until(() => src.acks.length === 20, "the healthy topic copied everything");
  assert.equal(down.topic.status().workers[0]!.source.kind, "connecting");
  await Promise.all([down.topic.stop(), up.topic.stop()]);
});
