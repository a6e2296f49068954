/**
 * Picks a topic's adapters: the connectors of its source and target clusters. Every topic reads
 * NATS Streaming; its target is NATS Streaming, or a JetStream stream (`target: jetstream`).
 */
import type { TopicConfig } from "./config/types";
import type { PublisherConnector, SourceConnector, TargetConnector } from "./replicator/ports";
import { createJetStreamConnector } from "./jetstream/connector";
import { createStanConnector, stanClientId } from "./stan/connector";
import type { DialWire } from "./stan/wire";

/** The connectors of one topic's two clusters. */
export interface TopicConnectors {
  source: SourceConnector & PublisherConnector;
  target: TargetConnector & PublisherConnector;
  /** A worker's client id, shown in status and logs. */
  clientId(worker: number): string;
  /**
   * Checks at start what the target needs (a JetStream stream). Throws a StartupError for what
   * an operator must fix; returns a warning when it could not check yet.
   */
  prepare?(): Promise<string | undefined>;
}

export type ConnectorsFor = (topic: TopicConfig) => TopicConnectors;

/** The product's adapters. `dial`: the NATS connection under STAN sessions (benchmark A/B). */
export function productConnectors(dial?: DialWire): ConnectorsFor {
  return (topic) => {
    const source = createStanConnector(topic, "source", dial);
    const clientId = (worker: number): string => stanClientId(topic, worker);
    if (topic.target === "jetstream") {
      const target = createJetStreamConnector(topic);
      return { source, target, clientId, prepare: () => target.prepare() };
    }
    return { source, target: createStanConnector(topic, "target", dial), clientId };
  };
}
