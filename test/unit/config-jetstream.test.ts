// A JetStream target: `target: jetstream` with its `jetstream` block, its defaults, and one clear
// line for every key that belongs to the other kind of target.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadConfig } from "../../src/config";
import type { TopicConfig } from "../../src/config";
import { ConfigError } from "../../src/errors";

const dir = mkdtempSync(path.join(tmpdir(), "sr-config-js-"));
let n = 0;

function file(topicLines: string): string {
  const f = path.join(dir, `sr${++n}.yaml`);
  writeFileSync(
    f,
    `topics:\n  cmdb:\n    topic: acme.cmdb\n    source_cluster_id: dc1\n    target_url: nats://js1:4222\n${topicLines}`,
  );
  return f;
}

function topic(lines: string): TopicConfig {
  const [t] = loadConfig({ file: file(lines), env: {} }).topics;
  assert.ok(t);
  return t;
}

function error(lines: string): { line: string; key?: string } {
  const f = file(lines);
  try {
    loadConfig({ file: f, env: {} });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return { line: err.message.slice(`config ${f}: `.length), key: err.key };
  }
  assert.fail("loaded");
}

test("config jetstream - target: jetstream with a stream loads, with its defaults", () => {
  const t = topic("    target: jetstream\n    jetstream:\n      stream: CMDB\n");
  assert.equal(t.target, "jetstream");
  assert.equal(t.targetClusterId, "");
  assert.deepEqual(t.jetstream, {
    stream: "CMDB",
    subject: "acme.cmdb",
    alignSequences: false,
    onlyWriter: true,
  });
});

test("config jetstream - the subject defaults to target_topic when it is set", () => {
  const t = topic(
    "    target: jetstream\n    target_topic: central.cmdb\n    jetstream:\n      stream: CMDB\n",
  );
  assert.equal(t.jetstream?.subject, "central.cmdb");
});

test("config jetstream - create with limits; the duplicate window covers the redelivery horizon", () => {
  const t = topic(
    "    target: jetstream\n    ack_wait: 2m\n    jetstream:\n      stream: CMDB\n      subject: js.cmdb\n" +
      "      create: true\n      replicas: 3\n      max_age: 720h\n      max_bytes: 1000000\n      max_msgs: 500\n",
  );
  assert.deepEqual(t.jetstream?.create, {
    replicas: 3,
    maxAgeMs: 720 * 3_600_000,
    maxBytes: 1_000_000,
    maxMsgs: 500,
    duplicateWindowMs: 2 * (120_000 + 10_000) + 15_000,
  });
  assert.equal(t.jetstream?.subject, "js.cmdb");
  const short = topic(
    "    target: jetstream\n    jetstream:\n      stream: S\n      create: true\n",
  );
  assert.equal(short.jetstream?.create?.duplicateWindowMs, 120_000, "at least 2m");
});

test("config jetstream - a jetstream block on a NATS Streaming target is one line", () => {
  assert.deepEqual(error("    target_cluster_id: dc2\n    jetstream:\n      stream: CMDB\n"), {
    line: "topics.cmdb.jetstream: needs target: jetstream",
    key: "jetstream",
  });
});

test("config jetstream - target_cluster_id on a JetStream target is one line", () => {
  assert.deepEqual(
    error(
      "    target: jetstream\n    target_cluster_id: dc2\n    jetstream:\n      stream: CMDB\n",
    ),
    {
      line: "topics.cmdb.target_cluster_id: is for a NATS Streaming target; a JetStream target has none (remove it)",
      key: "target_cluster_id",
    },
  );
});

test("config jetstream - target: jetstream without the block, and a STAN target without its cluster id", () => {
  assert.equal(
    error("    target: jetstream\n").line,
    "topics.cmdb.jetstream: is required with target: jetstream (the stream)",
  );
  assert.equal(error("").line, "topics.cmdb.target_cluster_id: is required");
});

test("config jetstream - stream limits without create, align_sequences with inspect, a misspelt key", () => {
  assert.equal(
    error("    target: jetstream\n    jetstream:\n      stream: S\n      max_age: 1h\n").line,
    "topics.cmdb.jetstream.max_age: needs jetstream.create: true",
  );
  assert.equal(
    error(
      "    target: jetstream\n    inspect: host\n    age: 1h\n    jetstream:\n      stream: S\n      align_sequences: true\n",
    ).line,
    "topics.cmdb.jetstream.align_sequences: cannot hold with inspect (skipped messages leave gaps in the channel sequences)",
  );
  assert.equal(
    error(
      "    target: jetstream\n    workers: 2\n    jetstream:\n      stream: S\n      align_sequences: true\n",
    ).line,
    "topics.cmdb.jetstream.align_sequences: needs ordered mode (one worker, not queued)",
  );
  assert.equal(
    error("    target: jetstream\n    jetstream:\n      stream: S\n      replica: 3\n").line,
    "topics.cmdb.jetstream.replica: is not a known setting (did you mean replicas?)",
  );
  assert.equal(
    error("    target: jetstream\n    jetstream:\n      subject: x\n").line,
    "topics.cmdb.jetstream.stream: is required",
  );
  assert.equal(error("    target: kafka\n").line.startsWith('topics.cmdb.target: "kafka"'), true);
});
