/**
 * What the demo prints about each topic: its mode and target from the configuration the
 * replicator runs (read with the replicator's own loader), and its counts from /metrics.
 */
import { loadConfig } from "../../src/config";
import type { AppConfig, TopicConfig } from "../../src/config";

/** One topic's counters, summed over its workers. */
export interface TopicCounts {
  received: number;
  /** Of those received, deliveries of a message the source had delivered before. */
  redelivered: number;
  copied: number;
  skipped: number;
  /** JetStream: copies the stream dropped by their message id. */
  duplicatesSuppressed: number;
}

export interface DemoTopic {
  key: string;
  /** The `name` label of its metrics (the durable name). */
  name: string;
  config: TopicConfig;
  mode: string;
  /** "every message", or what the limiter lets through. */
  copies: string;
  /** Where the copies go, e.g. "dc2 demo.cmdb" or "JetStream stream DEMO_CMDB (demo.cmdb)". */
  target: string;
}

export function loadTopics(file: string): { config: AppConfig; topics: DemoTopic[] } {
  const config = loadConfig({ file, env: {} });
  return { config, topics: config.topics.map(describe) };
}

function describe(t: TopicConfig): DemoTopic {
  const mode = t.queued ? `queued x${t.workers}` : "ordered";
  const limited = t.inspect !== undefined && t.ageMs !== undefined;
  const copies = limited
    ? `each ${t.inspect} at most once per ${duration(t.ageMs ?? 0)}` +
      (t.updateFlag ? ` (sooner when "${t.updateFlag}" is true)` : "")
    : "every message";
  return {
    key: t.key,
    name: t.name,
    config: t,
    mode: limited ? `${mode}, sampled` : mode,
    copies,
    target: targetOf(t),
  };
}

export function targetOf(t: TopicConfig): string {
  if (t.target === "jetstream" && t.jetstream) {
    return `JetStream stream ${t.jetstream.stream} (${t.jetstream.subject})`;
  }
  return `${t.targetClusterId} ${t.targetTopic}`;
}

function duration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

const METRICS: Record<string, keyof TopicCounts> = {
  stream_replicator_received_msgs: "received",
  stream_replicator_redelivered_msgs_total: "redelivered",
  stream_replicator_copied_msgs: "copied",
  stream_replicator_limiter_memory_skipped: "skipped",
  stream_replicator_duplicates_suppressed_total: "duplicatesSuppressed",
};

export function zeroCounts(): TopicCounts {
  return {
    received: 0,
    redelivered: 0,
    copied: 0,
    skipped: 0,
    duplicatesSuppressed: 0,
  };
}

/** Per `name` label, the counters above from a Prometheus text exposition. */
export function countsByName(text: string): Map<string, TopicCounts> {
  const out = new Map<string, TopicCounts>();
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    const field = m ? METRICS[m[1] ?? ""] : undefined;
    if (!m || field === undefined) continue;
    const name = /(?:^|,)name="([^"]*)"/.exec(m[2] ?? "")?.[1];
    if (name === undefined) continue;
    const counts = out.get(name) ?? zeroCounts();
    counts[field] += Number(m[3]) || 0;
    out.set(name, counts);
  }
  return out;
}

export async function fetchCounts(metricsUrl: string): Promise<Map<string, TopicCounts>> {
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`${metricsUrl}: HTTP ${res.status}`);
  return countsByName(await res.text());
}

/** Lines naming each topic, its mode and what it copies where, under one heading. */
export function legend(topics: DemoTopic[], source: string): string[] {
  const width = Math.max(...topics.map((t) => t.key.length));
  const shared =
    topics.length > 1 && topics.every((t) => t.config.topic === topics[0]?.config.topic);
  const head = shared
    ? `${topics.length} topics read the same channel ${source}, so each receives every message:`
    : "topics:";
  return [
    head,
    ...topics.map(
      (t) => `  ${t.key.padEnd(width)}  ${t.mode}: ${t.copies} -> ${t.target}${advisory(t)}`,
    ),
  ];
}

function advisory(t: DemoTopic): string {
  const a = t.config.advisory;
  if (!a) return "";
  const c = t.config;
  const where =
    a.cluster === "source"
      ? c.sourceClusterId
      : c.target === "jetstream"
        ? "the JetStream server"
        : c.targetClusterId;
  return `; advisories to ${where} ${a.target}`;
}

/** One line per topic: rates over the last interval (when `last` is given), then totals. */
export function progressLines(
  topics: DemoTopic[],
  now: Map<string, TopicCounts>,
  last?: { counts: Map<string, TopicCounts>; seconds: number },
): string[] {
  const keyWidth = Math.max(...topics.map((t) => t.key.length));
  const modeWidth = Math.max(...topics.map((t) => t.mode.length));
  return topics.map((t) => {
    const n = now.get(t.name) ?? zeroCounts();
    const l = last?.counts.get(t.name) ?? zeroCounts();
    const rate = (field: "received" | "copied" | "skipped"): string =>
      `${field} ${String(Math.round((n[field] - l[field]) / (last?.seconds ?? 1))).padStart(4)}/s`;
    const rates = last ? `${rate("received")}  ${rate("copied")}  ${rate("skipped")}  | ` : "";
    const again = n.redelivered > 0 ? ` (${n.redelivered} redelivered)` : "";
    return (
      `  ${t.key.padEnd(keyWidth)}  ${t.mode.padEnd(modeWidth)}  ${rates}` +
      `total received ${n.received}${again} copied ${n.copied} skipped ${n.skipped}`
    );
  });
}
