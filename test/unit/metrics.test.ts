import { test } from "node:test";
import assert from "node:assert/strict";
import { promtoolUnexpected } from "../support/promtool";
import { Registry } from "prom-client";
import { createMetrics, initTopicMetrics } from "../../src/metrics/metrics";
import type { Metrics } from "../../src/metrics/metrics";
import { topicObserver } from "../../src/metrics/observer";
import type { ReplicationObserver } from "../../src/replicator/observer";
import type { PassReason } from "../../src/replicator/ports";

/** The Go original's metrics: name, type and labels must not change (dashboards use them). */
const ORIGINAL: [string, string, string[]][] = [
  ["stream_replicator_received_msgs", "counter", ["name", "worker"]],
  ["stream_replicator_received_bytes", "counter", ["name", "worker"]],
  ["stream_replicator_copied_msgs", "counter", ["name", "worker"]],
  ["stream_replicator_copied_bytes", "counter", ["name", "worker"]],
  ["stream_replicator_failed_msgs", "counter", ["name", "worker"]],
  ["stream_replicator_acks_failed", "counter", ["name", "worker"]],
  ["stream_replicator_processing_time", "histogram", ["name", "worker"]],
  ["stream_replicator_connection_reconnections", "counter", ["name", "worker"]],
  ["stream_replicator_connection_closed", "counter", ["name", "worker"]],
  ["stream_replicator_connection_errors", "counter", ["name", "worker"]],
  ["stream_replicator_current_sequence", "gauge", ["name", "worker"]],
  ["stream_replicator_limiter_memory_seen", "gauge", ["key", "name"]],
  ["stream_replicator_limiter_memory_skipped", "counter", ["key", "name"]],
  ["stream_replicator_limiter_memory_passed", "counter", ["key", "name"]],
  ["stream_replicator_limiter_memory_errors", "counter", ["key", "name"]],
  ["stream_replicator_advisories_timeout", "counter", ["name"]],
  ["stream_replicator_advisories_recover", "counter", ["name"]],
  ["stream_replicator_advisories_expire", "counter", ["name"]],
  ["stream_replicator_advisories_errors", "counter", ["name"]],
];

const NEW: [string, string, string[]][] = [
  ["stream_replicator_replication_lag_messages", "gauge", ["name"]],
  ["stream_replicator_lag_poll_errors_total", "counter", ["name"]],
  ["stream_replicator_inflight_messages", "gauge", ["name", "worker"]],
  ["stream_replicator_oldest_inflight_age_seconds", "gauge", ["name"]],
  ["stream_replicator_end_to_end_latency_seconds", "histogram", ["name"]],
  ["stream_replicator_redelivered_msgs_total", "counter", ["name", "worker"]],
  ["stream_replicator_duplicate_publishes_total", "counter", ["name", "worker"]],
  ["stream_replicator_publish_errors_total", "counter", ["name", "reason"]],
  ["stream_replicator_connection_up", "gauge", ["name", "side", "worker"]],
  ["stream_replicator_topic_stalled", "gauge", ["name"]],
  ["stream_replicator_limiter_tracked_values", "gauge", ["name"]],
  ["stream_replicator_limiter_not_json_msgs_total", "counter", ["name"]],
  ["stream_replicator_limiter_no_key_msgs_total", "counter", ["name"]],
  ["stream_replicator_state_save_seconds", "histogram", ["name"]],
  ["stream_replicator_build_info", "gauge", ["version"]],
];

/** A registry with one topic of two workers and an observation in every metric. */
async function sampleText(): Promise<string> {
  const registry = new Registry();
  const m = createMetrics(registry, { version: "1.2.3" });
  initTopicMetrics(m, { name: "cmdb", workers: ["cmdb_0", "cmdb_1"], inspectKey: "sender" });
  const w = { name: "cmdb", worker: "cmdb_0" };
  m.receivedMsgs.inc(w);
  m.receivedBytes.inc(w, 120);
  m.processingTime.observe(w, 0.004);
  m.currentSequence.set(w, 42);
  m.limiterMemorySeen.set({ key: "sender", name: "cmdb" }, 3);
  m.replicationLag.set({ name: "cmdb" }, 17);
  m.endToEndLatencySeconds.observe({ name: "cmdb" }, 0.25);
  m.stateSaveSeconds.observe({ name: "cmdb" }, 0.002);
  m.connectionUp.set({ ...w, side: "source" }, 1);
  m.publishErrors.inc({ name: "cmdb", reason: "timeout" });
  return registry.metrics();
}

/** TYPE of every metric family in a text exposition. */
function types(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Sorted label names used on the family's sample lines (histograms: without `le`). */
async function labelNames(registry: Registry, name: string): Promise<string[]> {
  const all = await registry.getMetricsAsJSON();
  const metric = all.find((x) => x.name === name);
  assert.ok(metric, `${name} registered`);
  const names = new Set<string>();
  for (const v of metric.values) for (const k of Object.keys(v.labels)) names.add(k);
  names.delete("le");
  return [...names].sort();
}

test("original metrics keep their names, types and labels", async () => {
  const registry = new Registry();
  const m = createMetrics(registry, { defaultMetrics: false });
  initTopicMetrics(m, { name: "cmdb", workers: ["cmdb_0"], inspectKey: "sender" });
  m.processingTime.observe({ name: "cmdb", worker: "cmdb_0" }, 0.01);
  m.currentSequence.set({ name: "cmdb", worker: "cmdb_0" }, 1);
  const t = types(await registry.metrics());
  for (const [name, type, labels] of ORIGINAL) {
    assert.equal(t.get(name), type, name);
    assert.deepEqual(await labelNames(registry, name), labels, name);
  }
});

test("original counters are exposed without a _total suffix", async () => {
  const text = await sampleText();
  assert.match(text, /^stream_replicator_received_msgs\{name="cmdb",worker="cmdb_0"\} 1$/m);
  assert.doesNotMatch(text, /stream_replicator_received_msgs_total/);
  assert.match(
    text,
    /^stream_replicator_processing_time_bucket\{le="0\.005",name="cmdb",worker="cmdb_0"\} 1$/m,
  );
  assert.match(text, /^stream_replicator_processing_time_count\{name="cmdb",worker="cmdb_0"\} 1$/m);
});

test("new metrics follow Prometheus conventions", async () => {
  const registry = new Registry();
  const m = createMetrics(registry, { defaultMetrics: false });
  initTopicMetrics(m, { name: "cmdb", workers: ["cmdb_0"], inspectKey: "sender" });
  m.replicationLag.set({ name: "cmdb" }, 1);
  m.endToEndLatencySeconds.observe({ name: "cmdb" }, 1);
  m.stateSaveSeconds.observe({ name: "cmdb" }, 1);
  const t = types(await registry.metrics());
  for (const [name, type, labels] of NEW) {
    assert.equal(t.get(name), type, name);
    assert.deepEqual(await labelNames(registry, name), labels, name);
    if (type === "counter") assert.match(name, /_total$/, name);
    else assert.doesNotMatch(name, /_total$/, name);
  }
});

test("end-to-end latency buckets span 1 ms to 60 s", async () => {
  const text = await sampleText();
  const les = [
    ...text.matchAll(/^stream_replicator_end_to_end_latency_seconds_bucket\{le="([^"]+)"/gm),
  ].map((m) => m[1]);
  assert.equal(les[0], "0.001");
  assert.equal(les.at(-2), "60");
  assert.equal(les.at(-1), "+Inf");
});

test("initTopicMetrics - series exist at zero before the first event", async () => {
  const text = await sampleText();
  assert.match(text, /^stream_replicator_copied_msgs\{name="cmdb",worker="cmdb_1"\} 0$/m);
  for (const reason of ["timeout", "connection_closed", "rejected", "error"]) {
    assert.match(
      text,
      new RegExp(
        `^stream_replicator_publish_errors_total\\{name="cmdb",reason="${reason}"\\} \\d$`,
        "m",
      ),
    );
  }
  assert.match(
    text,
    /^stream_replicator_connection_up\{name="cmdb",worker="cmdb_1",side="target"\} 0$/m,
  );
  assert.match(text, /^stream_replicator_topic_stalled\{name="cmdb"\} 0$/m);
  assert.match(text, /^stream_replicator_limiter_memory_passed\{key="sender",name="cmdb"\} 0$/m);
});

test("build info and default process metrics are registered", async () => {
  const text = await sampleText();
  assert.match(text, /^stream_replicator_build_info\{version="1\.2\.3"\} 1$/m);
  assert.match(text, /^process_cpu_user_seconds_total /m);
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);
});

test("each registry is independent", async () => {
  const a = new Registry();
  const b = new Registry();
  const ma = createMetrics(a, { defaultMetrics: false });
  createMetrics(b, { defaultMetrics: false });
  ma.copiedMsgs.inc({ name: "x", worker: "x_0" });
  assert.match(await a.metrics(), /stream_replicator_copied_msgs\{name="x",worker="x_0"\} 1/);
  assert.doesNotMatch(await b.metrics(), /name="x"/);
});

test("promtool check metrics - only the documented legacy names are flagged", async (t) => {
  const counters = ORIGINAL.filter(([, type]) => type === "counter").map(([name]) => name);
  const result = promtoolUnexpected(await sampleText(), counters);
  if (result.kind === "missing") return t.skip("promtool not installed");
  assert.deepEqual(result.unexpected, []);
});

/** The per-message updates as the observer made them before fast-metrics.ts: prom-client's own. */
function promClientObserver(m: Metrics, name: string, key: string) {
  const w = (worker: number) => ({ name, worker: `${name}_${worker}` });
  return {
    received(worker: number, bytes: number, sequence: number, redelivered: boolean) {
      m.receivedMsgs.inc(w(worker));
      m.receivedBytes.inc(w(worker), bytes);
      m.currentSequence.set(w(worker), sequence);
      if (redelivered) m.redeliveredMsgs.inc(w(worker));
    },
    copied(worker: number, bytes: number, latencyMs: number, processingMs: number) {
      m.copiedMsgs.inc(w(worker));
      m.copiedBytes.inc(w(worker), bytes);
      m.processingTime.observe(w(worker), processingMs / 1000);
      m.endToEndLatencySeconds.observe({ name }, Math.max(0, latencyMs) / 1000);
    },
    skipped() {
      m.limiterMemorySkipped.inc({ name, key });
    },
    passed(_worker: number, reason: PassReason) {
      if (reason === "not_json" || reason === "no_key") {
        m.limiterMemoryErrors.inc({ name, key });
        (reason === "not_json" ? m.limiterNotJsonMsgs : m.limiterNoKeyMsgs).inc({ name });
      }
      m.limiterMemoryPassed.inc({ name, key });
    },
  };
}

/**
 * 3000 messages over two workers: every 6th copied (500), the rest skipped (2500); latencies
 * and processing times spread over every bucket, some negative (clock skew), some above 60 s.
 */
function replay(o: Pick<ReplicationObserver, "received" | "copied" | "skipped" | "passed">) {
  for (let seq = 1; seq <= 3000; seq++) {
    const worker = seq % 2;
    o.received(worker, 100 + (seq % 7), seq, seq % 97 === 0);
    if (seq % 6 !== 0) {
      o.skipped(worker);
      continue;
    }
    o.passed(worker, seq % 60 === 0 ? "not_json" : seq % 90 === 0 ? "no_key" : "passed");
    o.copied(worker, 100 + (seq % 7), ((seq * 37) % 70_000) - 500, (seq * 1373.3) % 65_000);
  }
}

function observed(kind: "fast" | "prom-client", reads = 0) {
  const registry = new Registry();
  const m = createMetrics(registry, { defaultMetrics: false });
  initTopicMetrics(m, { name: "cmdb", workers: ["cmdb_0", "cmdb_1"], inspectKey: "sender" });
  if (kind === "prom-client") {
    replay(promClientObserver(m, "cmdb", "sender"));
    return registry;
  }
  const o = topicObserver(m, "cmdb", (n) => `cmdb_${n}`, "sender");
  let done = 0;
  replay({
    ...o,
    received(...args) {
      o.received(...args);
      // Reading flushes the pending updates (synchronously, in collect()).
      if (reads > 0 && ++done % Math.floor(3000 / reads) === 0) void registry.metrics();
    },
  });
  return registry;
}

test("topicObserver - /metrics is exactly what prom-client's own updates give", async () => {
  const expected = await observed("prom-client").metrics();
  for (const reads of [0, 7]) {
    const registry = observed("fast", reads);
    assert.equal(await registry.metrics(), expected, `${reads} reads during the replay`);
    assert.equal(await registry.metrics(), expected, `${reads} reads, read again`);
  }
});

test("topicObserver - counts, sequence and buckets of 3000 received, 500 copied", async () => {
  const text = await observed("fast", 3).metrics();
  const value = (series: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${series} `));
    assert.ok(line, series);
    return Number(line.slice(series.length + 1));
  };
  const w = (n: number) => `{name="cmdb",worker="cmdb_${n}"}`;
  const sum = (metric: string) => value(`${metric}${w(0)}`) + value(`${metric}${w(1)}`);
  const k = '{key="sender",name="cmdb"}';
  assert.equal(sum("stream_replicator_received_msgs"), 3000);
  assert.equal(sum("stream_replicator_copied_msgs"), 500);
  assert.equal(value(`stream_replicator_limiter_memory_skipped${k}`), 2500);
  assert.equal(value(`stream_replicator_limiter_memory_passed${k}`), 500);
  assert.equal(value(`stream_replicator_limiter_memory_errors${k}`), 50 + 17);
  assert.equal(value('stream_replicator_limiter_not_json_msgs_total{name="cmdb"}'), 50);
  assert.equal(value('stream_replicator_limiter_no_key_msgs_total{name="cmdb"}'), 17);
  assert.equal(sum("stream_replicator_redelivered_msgs_total"), 30);
  assert.equal(value(`stream_replicator_current_sequence${w(0)}`), 3000);
  assert.equal(value(`stream_replicator_current_sequence${w(1)}`), 2999);
  let bytes = 0;
  for (let seq = 1; seq <= 3000; seq++) bytes += 100 + (seq % 7);
  assert.equal(sum("stream_replicator_received_bytes"), bytes);

  // Processing times (seq * 1373.3 ms) % 65 s; every copy is worker 0's: seq = 6, 12, ..., 3000.
  const seconds: number[] = [];
  for (let seq = 6; seq <= 3000; seq += 6) seconds.push(((seq * 1373.3) % 65_000) / 1000);
  const h = (le: string) =>
    value(`stream_replicator_processing_time_bucket{le="${le}",name="cmdb",worker="cmdb_0"}`);
  for (const le of [0.1, 0.5, 1, 10, 60]) {
    assert.equal(h(String(le)), seconds.filter((s) => s <= le).length, `le ${le}`);
  }
  assert.equal(h("+Inf"), 500);
  assert.equal(value(`stream_replicator_processing_time_count${w(0)}`), 500);
  assert.ok(seconds.some((s) => s > 60) && seconds.some((s) => s <= 0.1), "spread");
  // Worker 1 copied nothing: like prom-client, no processing_time series for it.
  assert.doesNotMatch(text, /^stream_replicator_processing_time_count\{[^}]*cmdb_1/m);
});
