/** A topic's JetStream target block (`topics.<name>.jetstream`): its schema and raw values. */
import type { Schema } from "./setting";

export interface RawJetStream {
  stream: string;
  subject: string | null;
  create: boolean;
  replicas: number;
  max_age: string | null;
  max_bytes: number | null;
  max_msgs: number | null;
  duplicate_window: string | null;
  align_sequences: boolean;
  only_writer: boolean;
}

export const jetStreamSchema: Schema<RawJetStream> = {
  stream: {
    doc: "The JetStream stream the copies go to. It must capture `subject`.",
    format: "sr-text",
    default: null,
  },
  subject: {
    doc: "The subject the copies are published to.",
    format: "sr-text",
    default: null,
    nullable: true,
    defaultText: "target_topic, else topic",
  },
  create: {
    doc: "Create the stream when it is missing (file storage, the subject, the limits below). An existing stream's settings are never changed.",
    format: "sr-bool",
    default: false,
  },
  replicas: {
    doc: "With create: the stream's replicas (1 to 5).",
    format: "sr-int",
    default: 1,
    min: 1,
    max: 5,
  },
  max_age: {
    doc: "With create: the stream's message age limit.",
    format: "sr-duration",
    default: null,
    nullable: true,
    min: "1s",
    defaultText: "unlimited",
  },
  max_bytes: {
    doc: "With create: the stream's size limit in bytes.",
    format: "sr-int",
    default: null,
    nullable: true,
    min: 1,
    defaultText: "unlimited",
  },
  max_msgs: {
    doc: "With create: the stream's message count limit.",
    format: "sr-int",
    default: null,
    nullable: true,
    min: 1,
    defaultText: "unlimited",
  },
  duplicate_window: {
    doc: "With create: how long the stream remembers message ids to drop redeliveries.",
    format: "sr-duration",
    default: null,
    nullable: true,
    min: "1s",
    defaultText: "2 × (ack_wait + publish_timeout) + 15s, at least 2m",
  },
  align_sequences: {
    doc: "Start an empty stream at the first NATS Streaming sequence copied, so that stream sequence = channel sequence (true while the replicator is the only writer, nothing is skipped by inspect, and the stream was empty).",
    format: "sr-bool",
    default: false,
  },
  only_writer: {
    doc: "Ordered mode: the replicator is the stream's only writer, so each copy names the previous one (Nats-Expected-Last-Msg-Id) and a gap is refused by the server; also skips copies the stream already holds after the duplicate window. Set false when others publish to the stream.",
    format: "sr-bool",
    default: true,
  },
};
