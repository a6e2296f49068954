/**
 * Picks a topic's adapters: the connectors of its source and target clusters. Every topic reads
 * NATS Streaming; its target is NATS Streaming too.
 */
import type { TopicConfig } from "./config/types";
import type { PublisherConnector, SourceConnector, TargetConnector } from "./replicator/ports";
import { createStanConnector, stanClientId } from "./stan/connector";
import type { DialWire } from "./stan/wire";

/** The connectors of one topic's two clusters. */
export interface TopicConnectors {
  source: SourceConnector & PublisherConnector;
  target: TargetConnector & PublisherConnector;
  /** A worker's client id, shown in status and logs. */
  clientId(worker: number): string;
}

export type ConnectorsFor = (topic: TopicConfig) => TopicConnectors;

/** The product's adapters. `dial`: the NATS connection under STAN sessions (benchmark A/B). */
export function productConnectors(dial?: DialWire): ConnectorsFor {
  return (topic) => ({
    source: createStanConnector(topic, "source", dial),
    target: createStanConnector(topic, "target", dial),
    clientId: (worker) => stanClientId(topic, worker),
  });
}
