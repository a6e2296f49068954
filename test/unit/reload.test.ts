// The reload plan: what SIGHUP does to each topic, and which settings need a restart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { planReload } from "../../src/reload";
import type { AppConfig, TopicConfig } from "../../src/config/types";

function topic(key: string, extra: Partial<TopicConfig> = {}): TopicConfig {
  return {
    key,
    topic: key,
    targetTopic: key,
    sourceUrls: ["nats://a:4222"],
    sourceClusterId: "dc1",
    targetUrls: ["nats://b:4222"],
    target: "stan",
    targetClusterId: "dc2",
    workers: 1,
    queued: false,
    queueGroup: "g",
    name: key,
    disableSourceTls: false,
    disableTargetTls: false,
    startAt: { kind: "first" },
    maxInFlight: 1024,
    ackWaitMs: 30_000,
    publishTimeoutMs: 10_000,
    publishPauseAfterMs: 500,
    ...extra,
  };
}

function config(topics: TopicConfig[], extra: Partial<AppConfig> = {}): AppConfig {
  return {
    file: "sr.yaml",
    logLevel: "info",
    logFormat: "text",
    stateSaveIntervalMs: 30_000,
    shutdownTimeoutMs: 10_000,
    http: { host: "0.0.0.0", port: 9180 },
    topics,
    ...extra,
  };
}

test("reload plan - unchanged, added, removed and changed topics", () => {
  const before = config([topic("a"), topic("b"), topic("c")]);
  const after = config([topic("a"), topic("c", { maxInFlight: 64 }), topic("d")]);
  assert.deepEqual(planReload(before, after), {
    unchanged: ["a"],
    added: ["d"],
    removed: ["b"],
    changed: ["c"],
    needRestart: [],
  });
});

test("reload plan - process-level settings and monitor ports are named as needing a restart", () => {
  const before = config([topic("a")]);
  const after = config([topic("a", { monitor: 9999 })], {
    http: { host: "0.0.0.0", port: 9181 },
    logLevel: "debug",
  });
  const plan = planReload(before, after);
  assert.deepEqual(plan.needRestart, ["logLevel", "http", "monitor ports"]);
  assert.deepEqual(plan.changed, ["a"]);
});
