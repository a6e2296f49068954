/** Builds STAN sessions for a topic's workers from its configuration. */
import { readFileSync } from "node:fs";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import type { TlsConfig, TopicConfig } from "../config/types";
import type { Connector, SourceSession, TargetSession } from "../replicator/transport";
import type { SideName } from "../replicator/status";
import { StanSession } from "./session";
import type { SessionOptions } from "./session";

/** Connection tuning. Pings: 10 × 5 s lets a server restart or leader election pass. */
export const SESSION_DEFAULTS = {
  connectTimeoutMs: 5_000,
  pingIntervalMs: 5_000,
  pingMaxOut: 10,
};

export function clientId(name: string, worker: number): string {
  return `${name}_${worker}`;
}

export function createStanConnector(topic: TopicConfig): StanConnector {
  const tlsFor = (side: SideName): TlsConnectionOptions | undefined => {
    const disabled = side === "source" ? topic.disableSourceTls : topic.disableTargetTls;
    return disabled || !topic.tls ? undefined : loadTls(topic.tls);
  };
  // Each attempt takes the next server of the list, so a dead one is passed over.
  const attempts = new Map<string, number>();
  const nextUrl = (side: SideName, worker: number | "advisor"): string => {
    const urls = side === "source" ? topic.sourceUrls : topic.targetUrls;
    const key = `${side}/${worker}`;
    const n = attempts.get(key) ?? (typeof worker === "number" ? worker : 0);
    attempts.set(key, n + 1);
    return urls[n % urls.length] ?? urls[0] ?? "nats://localhost:4222";
  };
  const optionsFor = (side: SideName, worker: number | "advisor"): SessionOptions => ({
    clusterId: side === "source" ? topic.sourceClusterId : topic.targetClusterId,
    clientId: worker === "advisor" ? `${topic.name}_advisor` : clientId(topic.name, worker),
    url: nextUrl(side, worker),
    tls: tlsFor(side),
    publishTimeoutMs: topic.publishTimeoutMs,
    // Our own window (maxInFlight) stays well below the library's limit: past it the
    // library reports a failure but still sends the message.
    maxPubAcksInflight: topic.maxInFlight * 2 + 64,
    ...SESSION_DEFAULTS,
  });
  const open = (side: SideName, worker: number): Promise<SourceSession | TargetSession> =>
    StanSession.open(optionsFor(side, worker));
  /** The advisory publisher's own session on one cluster (client id `<name>_advisor`). */
  const openAdvisory = (side: SideName): Promise<TargetSession> =>
    StanSession.open(optionsFor(side, "advisor"));
  return { open, openAdvisory } as StanConnector;
}

export interface StanConnector extends Connector {
  openAdvisory(side: SideName): Promise<TargetSession>;
}

function loadTls(tls: TlsConfig): TlsConnectionOptions {
  return {
    ...(tls.ca ? { ca: readFileSync(tls.ca) } : {}),
    ...(tls.cert ? { cert: readFileSync(tls.cert) } : {}),
    ...(tls.key ? { key: readFileSync(tls.key) } : {}),
  };
}
