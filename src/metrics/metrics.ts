/**
 * Every Prometheus metric of the replicator, in one typed object made for a given registry.
 *
 * Naming: the Go original's metrics keep their exact names, types (except processing_time,
 * now a histogram) and labels so existing dashboards keep working; prom-client writes counter
 * names as given in the Prometheus text format, so those stay without `_total`. New metrics use
 * Prometheus conventions (`_total`, `_seconds`, base units). docs/metrics.md has the table.
 *
 * Labels: `name` is the topic's configured name, `worker` the worker's client id
 * (`<name>_<n>`), `side` is source|target, `reason` a PublishFailureReason; the limiter's
 * original metrics also carry `key`, the configured inspect field. Never a sender, subject
 * or sequence.
 *
 * The metrics updated for every message are Fast* (fast-metrics.ts): topicObserver() updates
 * them through series handles that prom-client only sees when the registry is read.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { FastCounter, FastGauge, FastHistogram } from "./fast-metrics";
import type { PublishFailureReason } from "../errors";
import type { SideName } from "../replicator/status";

type TopicLabels = "name";
type WorkerLabels = "name" | "worker";
type LimiterLabels = "key" | "name";

/** The registry metrics live in; the HTTP server reads it for /metrics. */
export { Registry };

/** Seconds; from 1 ms (same-DC publish) to 60 s (a target that is down and retried). */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
/** Seconds for writing a limiter or advisor state file. */
export const STATE_SAVE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export const PUBLISH_FAILURE_REASONS: readonly PublishFailureReason[] = [
  "timeout",
  "connection_closed",
  "no_responders",
  "rejected",
  "error",
];
export const SIDES: readonly SideName[] = ["source", "target"];

export interface Metrics {
  // --- the original tool's metrics (names and labels unchanged) ---
  receivedMsgs: FastCounter<WorkerLabels>;
  receivedBytes: FastCounter<WorkerLabels>;
  copiedMsgs: FastCounter<WorkerLabels>;
  copiedBytes: FastCounter<WorkerLabels>;
  failedMsgs: Counter<WorkerLabels>;
  acksFailed: Counter<WorkerLabels>;
  /** Seconds from receiving a message to acknowledging it on the source. */
  processingTime: FastHistogram<WorkerLabels>;
  connectionReconnections: Counter<WorkerLabels>;
  connectionClosed: Counter<WorkerLabels>;
  connectionErrors: Counter<WorkerLabels>;
  currentSequence: FastGauge<WorkerLabels>;
  limiterMemorySeen: Gauge<LimiterLabels>;
  limiterMemorySkipped: FastCounter<LimiterLabels>;
  limiterMemoryPassed: FastCounter<LimiterLabels>;
  limiterMemoryErrors: FastCounter<LimiterLabels>;
  advisoriesTimeout: Counter<TopicLabels>;
  advisoriesRecover: Counter<TopicLabels>;
  advisoriesExpire: Counter<TopicLabels>;
  advisoriesErrors: Counter<TopicLabels>;

  // --- new metrics ---
  /** Channel last sequence minus the durable's last acknowledged one (source monitoring). */
  replicationLag: Gauge<TopicLabels>;
  lagPollErrors: Counter<TopicLabels>;
  inflightMessages: Gauge<WorkerLabels>;
  oldestInflightAgeSeconds: Gauge<TopicLabels>;
  endToEndLatencySeconds: FastHistogram<TopicLabels>;
  redeliveredMsgs: FastCounter<WorkerLabels>;
  duplicatePublishes: Counter<WorkerLabels>;
  duplicatesSuppressed: Counter<WorkerLabels>;
  publishPauses: Counter<WorkerLabels>;
  lateDeliveries: Counter<WorkerLabels>;
  publishErrors: Counter<"name" | "reason">;
  connectionUp: Gauge<"name" | "worker" | "side">;
  topicStalled: Gauge<TopicLabels>;
  standby: Gauge<TopicLabels>;
  limiterTrackedValues: Gauge<TopicLabels>;
  limiterNotJsonMsgs: FastCounter<TopicLabels>;
  limiterNoKeyMsgs: FastCounter<TopicLabels>;
  stateSaveSeconds: Histogram<TopicLabels>;
  buildInfo: Gauge<"version">;
  configReloads: Counter<"result">;
}

export interface MetricsOptions {
  /** Value of the `version` label of stream_replicator_build_info. Default "unknown". */
  version?: string;
  /** Register prom-client's process and Node.js metrics. Default true. */
  defaultMetrics?: boolean;
}

/**
 * Creates and registers every metric on `registry`. Call once per registry (names are unique
 * per registry). The registry must stay in the Prometheus text format: the OpenMetrics format
 * would add `_total` to the original counter names.
 */
export function createMetrics(registry: Registry, options: MetricsOptions = {}): Metrics {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Counter<L>({ name, help, labelNames, registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Gauge<L>({ name, help, labelNames, registers });
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    buckets: number[],
  ) => new Histogram<L>({ name, help, labelNames, buckets, registers });
  const fastCounter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new FastCounter<L>({ name, help, labelNames, registers });
  const fastGauge = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new FastGauge<L>({ name, help, labelNames, registers });
  const fastHistogram = <L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    buckets: number[],
  ) => new FastHistogram<L>({ name, help, labelNames, buckets, registers });

  const W: WorkerLabels[] = ["name", "worker"];
  const T: TopicLabels[] = ["name"];
  const L: LimiterLabels[] = ["key", "name"];
  const p = "stream_replicator_";

  const metrics: Metrics = {
    receivedMsgs: fastCounter(`${p}received_msgs`, "How many messages were received", W),
    receivedBytes: fastCounter(`${p}received_bytes`, "Size of messages that were received", W),
    copiedMsgs: fastCounter(`${p}copied_msgs`, "How many messages were copied", W),
    copiedBytes: fastCounter(`${p}copied_bytes`, "Size of messages that were copied", W),
    failedMsgs: counter(`${p}failed_msgs`, "How many messages failed to copy to the target", W),
    acksFailed: counter(`${p}acks_failed`, "How many times acknowledging a message failed", W),
    processingTime: fastHistogram(
      `${p}processing_time`,
      "Seconds to process a message, from receipt to the acknowledgement on the source",
      W,
      LATENCY_BUCKETS,
    ),
    connectionReconnections: counter(
      `${p}connection_reconnections`,
      "Number of times a connection reconnected to its cluster",
      W,
    ),
    connectionClosed: counter(
      `${p}connection_closed`,
      "Number of times a connection was closed",
      W,
    ),
    connectionErrors: counter(
      `${p}connection_errors`,
      "Number of times a connection encountered an error",
      W,
    ),
    currentSequence: fastGauge(
      `${p}current_sequence`,
      "The source sequence of the last message received by the worker",
      W,
    ),
    limiterMemorySeen: gauge(
      `${p}limiter_memory_seen`,
      "How many unique values of the inspect key the memory limiter tracks",
      L,
    ),
    limiterMemorySkipped: fastCounter(
      `${p}limiter_memory_skipped`,
      "How many times the limiter skipped a message that would have been published",
      L,
    ),
    limiterMemoryPassed: fastCounter(
      `${p}limiter_memory_passed`,
      "How many times the limiter passed a message for processing",
      L,
    ),
    limiterMemoryErrors: fastCounter(
      `${p}limiter_memory_errors`,
      "How many errors were encountered while processing limited messages",
      L,
    ),
    advisoriesTimeout: counter(
      `${p}advisories_timeout`,
      "Number of advisories sent for nodes that stopped sending data",
      T,
    ),
    advisoriesRecover: counter(
      `${p}advisories_recover`,
      "Number of advisories sent for nodes that recovered before their expiry deadline",
      T,
    ),
    advisoriesExpire: counter(
      `${p}advisories_expire`,
      "Number of advisories sent for nodes that did not recover before their expiry deadline",
      T,
    ),
    advisoriesErrors: counter(
      `${p}advisories_errors`,
      "Number of times publishing an advisory failed",
      T,
    ),

    replicationLag: gauge(
      `${p}replication_lag_messages`,
      "Messages in the source channel after the durable's last acknowledged one",
      T,
    ),
    lagPollErrors: counter(
      `${p}lag_poll_errors_total`,
      "Failed polls of the source monitoring endpoint for the replication lag",
      T,
    ),
    inflightMessages: gauge(
      `${p}inflight_messages`,
      "Messages received from the source and not yet acknowledged",
      W,
    ),
    oldestInflightAgeSeconds: gauge(
      `${p}oldest_inflight_age_seconds`,
      "Age of the oldest message received and not yet acknowledged, 0 when none",
      T,
    ),
    endToEndLatencySeconds: fastHistogram(
      `${p}end_to_end_latency_seconds`,
      "Seconds from the source publish timestamp to the target acknowledgement",
      T,
      LATENCY_BUCKETS,
    ),
    redeliveredMsgs: fastCounter(
      `${p}redelivered_msgs_total`,
      "Messages the source delivered again because they were not acknowledged in time",
      W,
    ),
    duplicatePublishes: counter(
      `${p}duplicate_publishes_total`,
      "Messages published to the target again after a failure such as an ack timeout",
      W,
    ),
    duplicatesSuppressed: counter(
      `${p}duplicates_suppressed_total`,
      "Copies the target recognised by their message id and did not store again (JetStream)",
      W,
    ),
    publishPauses: counter(
      `${p}publish_pauses_total`,
      "Ordered mode: times publishing paused because the oldest publish was not acknowledged within publish_pause_after",
      W,
    ),
    lateDeliveries: counter(
      `${p}late_deliveries_total`,
      "Ordered mode: messages the source delivered after a later one (copied out of order, not lost)",
      W,
    ),
    publishErrors: counter(
      `${p}publish_errors_total`,
      "Failed publishes to the target by reason (timeout, connection_closed, no_responders, rejected, error)",
      ["name", "reason"],
    ),
    connectionUp: gauge(
      `${p}connection_up`,
      "1 when the worker's connection to the side's cluster is up, else 0",
      ["name", "worker", "side"],
    ),
    standby: gauge(
      `${p}standby`,
      "1 while the topic is a hot standby: another process holds its ordered worker's client id",
      T,
    ),
    topicStalled: gauge(
      `${p}topic_stalled`,
      "1 when the topic stopped on a message the target rejects for good, else 0",
      T,
    ),
    limiterTrackedValues: gauge(
      `${p}limiter_tracked_values`,
      "Distinct inspect key values the limiter currently tracks",
      T,
    ),
    limiterNotJsonMsgs: fastCounter(
      `${p}limiter_not_json_msgs_total`,
      "Messages passed unlimited because their body is not JSON",
      T,
    ),
    limiterNoKeyMsgs: fastCounter(
      `${p}limiter_no_key_msgs_total`,
      "Messages passed unlimited because they lack the inspect key",
      T,
    ),
    stateSaveSeconds: histogram(
      `${p}state_save_seconds`,
      "Seconds to write the topic's limiter and advisor state to disk",
      T,
      STATE_SAVE_BUCKETS,
    ),
    configReloads: counter(
      `${p}config_reloads_total`,
      "Configuration reloads (SIGHUP) by result: applied, or rejected (the previous one kept)",
      ["result"],
    ),
    buildInfo: gauge(`${p}build_info`, "Always 1; the version label is the running version", [
      "version",
    ]),
  };

  metrics.buildInfo.set({ version: options.version ?? "unknown" }, 1);
  for (const result of ["applied", "rejected"]) metrics.configReloads.inc({ result }, 0);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return metrics;
}

export interface TopicMetricLabels {
  /** The topic's configured name (the `name` label). */
  name: string;
  /** Client ids of the topic's workers (the `worker` label values). */
  workers: readonly string[];
  /** Configured inspect key, when the topic has a limiter (the limiter's `key` label). */
  inspectKey?: string;
}

/**
 * Creates the topic's series at zero so that they exist before the first event: `rate()`
 * sees the first increment and dashboards show 0 instead of nothing. Connections start down.
 */
export function initTopicMetrics(m: Metrics, topic: TopicMetricLabels): void {
  const { name } = topic;
  for (const worker of topic.workers) {
    const w = { name, worker };
    for (const c of [
      m.receivedMsgs,
      m.receivedBytes,
      m.copiedMsgs,
      m.copiedBytes,
      m.failedMsgs,
      m.acksFailed,
      m.connectionReconnections,
      m.connectionClosed,
      m.connectionErrors,
      m.redeliveredMsgs,
      m.duplicatePublishes,
      m.duplicatesSuppressed,
      m.publishPauses,
      m.lateDeliveries,
    ]) {
      c.inc(w, 0);
    }
    m.inflightMessages.set(w, 0);
    for (const side of SIDES) m.connectionUp.set({ ...w, side }, 0);
  }
  for (const reason of PUBLISH_FAILURE_REASONS) m.publishErrors.inc({ name, reason }, 0);
  for (const c of [
    m.advisoriesTimeout,
    m.advisoriesRecover,
    m.advisoriesExpire,
    m.advisoriesErrors,
    m.lagPollErrors,
  ]) {
    c.inc({ name }, 0);
  }
  m.topicStalled.set({ name }, 0);
  m.standby.set({ name }, 0);
  m.oldestInflightAgeSeconds.set({ name }, 0);
  if (topic.inspectKey !== undefined) {
    const l = { key: topic.inspectKey, name };
    for (const c of [m.limiterMemorySkipped, m.limiterMemoryPassed, m.limiterMemoryErrors]) {
      c.inc(l, 0);
    }
    m.limiterMemorySeen.set(l, 0);
    m.limiterTrackedValues.set({ name }, 0);
    m.limiterNotJsonMsgs.inc({ name }, 0);
    m.limiterNoKeyMsgs.inc({ name }, 0);
  }
}
