/**
 * The rules across the keys of one topic, and the names and positions derived from its keys.
 *
 * Convict checks every key on its own. A rule that involves more than one key (X needs Y, X
 * cannot be combined with Y, a key that means nothing with another key's value) is checked
 * here, after the block passed convict, as one line naming the key that breaks it. Per-topic
 * keys that only apply to one kind of target belong here too, each with its rule.
 */
import type { RawJetStream } from "./schema/jetstream";
import { durationMs } from "./duration";
import type { RawTopic } from "./schema/topic";
import type { StartPosition } from "./types";
import type { Fail, Mapping } from "./validate";

const START_KEYS = ["start_at", "start_sequence", "start_time", "start_delta"] as const;

/**
 * Fails on the first rule the topic breaks. `given` is the block as written, for keys whose
 * default cannot be told apart from an explicit value.
 */
export function checkTopicRules(t: RawTopic, given: Mapping, fail: Fail): void {
  checkTargetKind(t, fail);
  if (t.queued === false && t.workers > 1) {
    fail(
      "queued",
      `false conflicts with workers: ${t.workers} (more than one worker needs a queue group)`,
    );
  }
  if (t.inspect !== null && t.age === null) fail("inspect", "needs age (e.g. age: 1h)");
  if (t.update_flag !== null && t.inspect === null) fail("update_flag", "needs inspect");
  if (t.advisory !== null && (t.inspect === null || t.age === null)) {
    fail("advisory", "needs inspect and age");
  }
  const starts = START_KEYS.filter((key) => given[key] !== null && given[key] !== undefined);
  if (starts.length > 1) {
    fail(
      starts[1] ?? "",
      `cannot be combined with ${starts[0]} (give at most one of ${START_KEYS.join(", ")})`,
    );
  }
}

/** Keys of one kind of target set on the other kind. */
function checkTargetKind(t: RawTopic, fail: Fail): void {
  if (t.target === "stan") {
    if (t.jetstream !== null) fail("jetstream", "needs target: jetstream");
    if (t.target_cluster_id === null) fail("target_cluster_id", "is required");
  } else {
    if (t.target_cluster_id !== null) {
      fail(
        "target_cluster_id",
        "is for a NATS Streaming target; a JetStream target has none (remove it)",
      );
    }
    if (t.jetstream === null) fail("jetstream", "is required with target: jetstream (the stream)");
  }
}

/** The duplicate window a created stream gets: longer than the longest redelivery delay. */
export function defaultDuplicateWindowMs(t: RawTopic): number {
  const horizon = 2 * (durationMs(t.ack_wait) + durationMs(t.publish_timeout)) + 15_000;
  return Math.max(120_000, horizon);
}

/** Rules of the jetstream block against the topic's other keys. */
export function checkJetStreamRules(t: RawTopic, js: RawJetStream, fail: Fail): void {
  if (!js.create) {
    for (const key of ["max_age", "max_bytes", "max_msgs", "duplicate_window"] as const) {
      if (js[key] !== null) fail(`jetstream.${key}`, "needs jetstream.create: true");
    }
    if (js.replicas !== 1) fail("jetstream.replicas", "needs jetstream.create: true");
  }
  if (js.align_sequences && isQueued(t)) {
    fail("jetstream.align_sequences", "needs ordered mode (one worker, not queued)");
  }
  if (js.align_sequences && t.inspect !== null) {
    fail(
      "jetstream.align_sequences",
      "cannot hold with inspect (skipped messages leave gaps in the channel sequences)",
    );
  }
}

/**
 * The durable name, also the prefix of client ids `<name>_<n>`; STAN accepts only
 * [A-Za-z0-9_-] in a client id. `key` is the topic's name under `topics:`.
 */
export function durableName(key: string, t: RawTopic, fail: Fail): string {
  const durable =
    t.name ?? `${key.replace(/[^A-Za-z0-9_-]/g, "_")}_${underscored(t)}_stream_replicator`;
  if (!/^[A-Za-z0-9_-]+$/.test(durable)) {
    fail(
      "name",
      `"${durable}" may only hold letters, digits, _ and - (it prefixes STAN client ids)`,
    );
  }
  return durable;
}

export function queueGroup(t: RawTopic): string {
  return t.queue_group ?? `${underscored(t)}_stream_replicator_grp`;
}

/** Subscribing as a queue group: always with more than one worker (checkTopicRules). */
export function isQueued(t: RawTopic): boolean {
  return t.queued ?? t.workers > 1;
}

/** Where a new durable starts; checkTopicRules let at most one of the keys through. */
export function startPosition(t: RawTopic): StartPosition {
  if (t.start_sequence !== null) return { kind: "sequence", sequence: t.start_sequence };
  if (t.start_time !== null) return { kind: "time", time: new Date(t.start_time) };
  if (t.start_delta !== null) return { kind: "delta", ms: durationMs(t.start_delta) };
  return { kind: t.start_at };
}

/** The source channel with dots as underscores, as the default names use it. */
function underscored(t: RawTopic): string {
  return t.topic.replace(/\./g, "_");
}
