/** The settings of one topic (`topics.<name>`): their schema and their raw values. */
import type { Schema } from "./setting";

export const START_AT = ["first", "new", "last"] as const;

export interface RawTopic {
  topic: string;
  target_topic: string | null;
  source_url: string;
  source_cluster_id: string;
  target_url: string;
  target_cluster_id: string | null;
  target: "stan" | "jetstream";
  jetstream: Record<string, unknown> | null;
  workers: number;
  queued: boolean | null;
  queue_group: string | null;
  name: string | null;
  inspect: string | null;
  update_flag: string | null;
  age: string | null;
  monitor: number | null;
  advisory: Record<string, unknown> | null;
  tls: Record<string, unknown> | null;
  source_auth: Record<string, unknown> | null;
  target_auth: Record<string, unknown> | null;
  disable_source_tls: boolean;
  disable_target_tls: boolean;
  start_at: (typeof START_AT)[number];
  start_sequence: number | null;
  start_time: string | null;
  start_delta: string | null;
  max_in_flight: number;
  ack_wait: string;
  publish_timeout: string;
  publish_pause_after: string;
  source_monitor_url: string | null;
}

export const topicSchema: Schema<RawTopic> = {
  topic: {
    doc: "Channel to replicate from the source.",
    format: "sr-text",
    default: null,
  },
  target_topic: {
    doc: "Channel name on the target, when it differs from topic.",
    format: "sr-text",
    default: null,
    nullable: true,
    defaultText: "same as topic",
  },
  source_url: {
    doc: "Source NATS server URLs, comma-separated (nats:// or tls://; host:port gets nats://).",
    format: "sr-nats-urls",
    default: "nats://localhost:4222",
  },
  source_cluster_id: {
    doc: "Cluster ID of the source NATS Streaming cluster.",
    format: "sr-text",
    default: null,
  },
  target_url: {
    doc: "Target NATS server URLs, comma-separated (nats:// or tls://; host:port gets nats://).",
    format: "sr-nats-urls",
    default: null,
  },
  target_cluster_id: {
    doc: "Cluster ID of the target NATS Streaming cluster (not with target: jetstream).",
    format: "sr-text",
    default: null,
    nullable: true,
    defaultText: "required with target: stan",
  },
  target: {
    doc: "What the target is: a NATS Streaming cluster, or a JetStream stream (the jetstream block).",
    format: "sr-enum",
    values: ["stan", "jetstream"],
    default: "stan",
  },
  jetstream: {
    doc: "With target: jetstream, the stream and how copies go to it (see below).",
    format: Object,
    default: null,
    nullable: true,
  },
  workers: {
    doc: "Number of workers (source subscriptions). More than one means a queue group and no ordering.",
    format: "sr-int",
    default: 1,
    min: 1,
    max: 128,
  },
  queued: {
    doc: "Subscribe as a queue group. Always true when workers > 1 (false with workers > 1 is an error).",
    format: "sr-bool",
    default: null,
    nullable: true,
    defaultText: "true when workers > 1, else false",
  },
  queue_group: {
    doc: "Queue group name.",
    format: "sr-text",
    default: null,
    nullable: true,
    defaultText: "`<topic, . as _>_stream_replicator_grp`",
  },
  name: {
    doc: "Durable name, also the prefix of client IDs `<name>_<worker>`: letters, digits, _ and - only.",
    format: "sr-text",
    default: null,
    nullable: true,
    defaultText: "`<topic name>_<topic>_stream_replicator`, other characters as _",
  },
  inspect: {
    doc: "JSON field identifying the sender (e.g. host); with age, a sender is copied at most once per age. Needs age.",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  update_flag: {
    doc: "JSON field that, when true, forces a message through the inspect limiter. Needs inspect.",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  age: {
    doc: "With inspect: how long a sender is suppressed after one of its messages is copied.",
    format: "sr-duration",
    default: null,
    nullable: true,
    min: "1s",
  },
  monitor: {
    doc: "Extra HTTP port serving /metrics for this topic (the original tool's setting); 0 disables it.",
    format: "sr-port",
    default: null,
    nullable: true,
  },
  advisory: {
    doc: "Publish advisories about senders seen by inspect (see the advisory table). Needs inspect and age.",
    format: Object,
    default: null,
    nullable: true,
  },
  tls: {
    doc: "TLS settings for this topic (see the tls table); replaces the top-level tls block as a whole.",
    format: Object,
    default: null,
    nullable: true,
    defaultText: "top-level tls",
  },
  source_auth: {
    doc: "Authentication to the source cluster (see the auth table); replaces the top-level source_auth as a whole. Credentials in a source_url win for that server.",
    format: Object,
    default: null,
    nullable: true,
    sensitive: true,
    defaultText: "top-level source_auth",
  },
  target_auth: {
    doc: "Authentication to the target cluster (see the auth table); replaces the top-level target_auth as a whole. Credentials in a target_url win for that server.",
    format: Object,
    default: null,
    nullable: true,
    sensitive: true,
    defaultText: "top-level target_auth",
  },
  disable_source_tls: {
    doc: "Connect to the source without TLS even when tls is set.",
    format: "sr-bool",
    default: false,
  },
  disable_target_tls: {
    doc: "Connect to the target without TLS even when tls is set.",
    format: "sr-bool",
    default: false,
  },
  start_at: {
    doc: "Where a new durable starts: first (all stored messages), new (only new ones), last (last stored, then new). Only one of start_at, start_sequence, start_time, start_delta.",
    format: "sr-enum",
    values: START_AT,
    default: "first",
  },
  start_sequence: {
    doc: "Start a new durable at this source sequence.",
    format: "sr-int",
    default: null,
    nullable: true,
    min: 1,
  },
  start_time: {
    doc: "Start a new durable at the first message stored at or after this time (RFC 3339).",
    format: "sr-timestamp",
    default: null,
    nullable: true,
  },
  start_delta: {
    doc: "Start a new durable with messages stored within this duration before the start.",
    format: "sr-duration",
    default: null,
    nullable: true,
    min: "1ms",
  },
  max_in_flight: {
    doc: "Messages in flight per worker: the source max in flight and the publish window.",
    format: "sr-int",
    default: 1024,
    min: 1,
    max: 16384,
  },
  ack_wait: {
    doc: "Source ack wait: a message not acknowledged within this time is delivered again.",
    format: "sr-duration",
    default: "30s",
    min: "1s",
    max: "24h",
  },
  publish_timeout: {
    doc: "How long to wait for the target to acknowledge a publish.",
    format: "sr-duration",
    default: "10s",
    min: "1ms",
    max: "24h",
  },
  publish_pause_after: {
    doc: "Ordered mode: no new publish while the oldest unacknowledged one is older than this (a clustered target drops publishes while it elects a leader). Keep it below the target cluster's leader election time and above its round trip. While messages are held back and nothing is acknowledged for twice this long, the publishes in flight are presumed lost and retried in order.",
    format: "sr-duration",
    default: "500ms",
    min: "1ms",
    max: "1h",
  },
  source_monitor_url: {
    doc: "Base URL of the source server's HTTP monitoring port (e.g. http://source1:8222), for the lag metric.",
    format: "sr-http-url",
    default: null,
    nullable: true,
  },
};
