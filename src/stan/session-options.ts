/**
 * What a STAN session is opened with, and the SubscriptionRequest built from the replicator's
 * subscription options.
 */
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import type { SubscribeOptions } from "../replicator/ports";
import type { ConnectAuth } from "../nats/connection";
import { StartPositionCode } from "./protocol";
import type { SubscriptionRequest } from "./protocol";

/** Credentials (ConnectAuth) go to the NATS connection as they are. */
export interface SessionOptions extends ConnectAuth {
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
  /** NATS-level pings to the server we are connected to (a half-open socket). */
  natsPingIntervalMs?: number;
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
      return { ...base, startPosition: StartPositionCode.First };
    case "new":
      return { ...base, startPosition: StartPositionCode.NewOnly };
    case "last":
      return { ...base, startPosition: StartPositionCode.LastReceived };
    case "sequence":
      return {
        ...base,
        startPosition: StartPositionCode.SequenceStart,
        startSequence: start.sequence,
      };
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
    startPosition: StartPositionCode.TimeDeltaStart,
    startTimeDeltaNs: Math.max(0, ms) * 1e6,
  };
}
