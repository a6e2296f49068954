/**
 * What a STAN session is opened and subscribed with, and what it delivers: the types the
 * replicator sees (through src/replicator/transport.ts), and the SubscriptionRequest built
 * from a subscription's options.
 */
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import type { WireAuth } from "./nats-wire";
import { StartPosition } from "./protocol";
import type { SubscriptionRequest } from "./protocol";

/** Credentials (WireAuth) go to the NATS connection as they are. */
export interface SessionOptions extends WireAuth {
  clusterId: string;
  clientId: string;
  /** The server to try. The caller rotates through the configured list, one per attempt. */
  url: string;
  tls?: TlsConnectionOptions;
  connectTimeoutMs: number;
  /** How long the target has to acknowledge a publish. */
  publishTimeoutMs: number;
  /** STAN protocol pings: the session is declared lost after interval × maxOut without answer. */
  pingIntervalMs: number;
  pingMaxOut: number;
}

/** Why a session ended. `requested` is our own close(). */
export interface SessionEnd {
  reason: "requested" | "connection_lost" | "closed" | "error";
  error?: string;
}

export interface InboundMessage {
  sequence: number;
  /** Raw bytes, exactly as published on the source. */
  data: Buffer;
  /** Source publish time, milliseconds since the epoch. */
  timestampMs: number;
  redelivered: boolean;
  /** Sends the ack; false when it could not be sent (the server will redeliver). */
  ack(): boolean;
}

export type StartSpec =
  | { kind: "first" }
  | { kind: "new" }
  | { kind: "last" }
  | { kind: "sequence"; sequence: number }
  | { kind: "time"; time: Date }
  | { kind: "delta"; ms: number };

export interface SubscribeOptions {
  subject: string;
  durableName: string;
  queueGroup?: string;
  maxInFlight: number;
  ackWaitMs: number;
  start: StartSpec;
}

export function subscriptionRequest(
  clientId: string,
  inbox: string,
  o: SubscribeOptions,
): SubscriptionRequest {
  const base = {
    clientId,
    subject: o.subject,
    queueGroup: o.queueGroup,
    inbox,
    maxInFlight: o.maxInFlight,
    ackWaitSeconds: Math.max(1, Math.round(o.ackWaitMs / 1000)),
    durableName: o.durableName,
  };
  const start = o.start;
  switch (start.kind) {
    case "first":
      return { ...base, startPosition: StartPosition.First };
    case "new":
      return { ...base, startPosition: StartPosition.NewOnly };
    case "last":
      return { ...base, startPosition: StartPosition.LastReceived };
    case "sequence":
      return { ...base, startPosition: StartPosition.SequenceStart, startSequence: start.sequence };
    case "time":
      return deltaStart(base, Date.now() - start.time.getTime());
    case "delta":
      return deltaStart(base, start.ms);
  }
}

function deltaStart(
  base: Omit<SubscriptionRequest, "startPosition">,
  ms: number,
): SubscriptionRequest {
  return {
    ...base,
    startPosition: StartPosition.TimeDeltaStart,
    startTimeDeltaNs: Math.max(0, ms) * 1e6,
  };
}
