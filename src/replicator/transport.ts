/**
 * What the replicator needs from a source and a target. src/stan implements these for NATS
 * Streaming; another transport could be added without touching the replicator.
 */
import type { InboundMessage, SessionEnd, SubscribeOptions } from "../stan/session-options";
import type { SideName } from "./status";

export type { InboundMessage, SessionEnd, SubscribeOptions };

export interface SessionLike {
  readonly ended: Promise<SessionEnd>;
  close(): Promise<void>;
}

export interface SourceSession extends SessionLike {
  subscribe(options: SubscribeOptions, onMessage: (msg: InboundMessage) => void): Promise<void>;
}

export interface TargetSession extends SessionLike {
  /** Settles exactly once: resolved when the target acknowledged. */
  publish(subject: string, data: Buffer): Promise<void>;
  /** Largest payload the target accepts on `subject`. */
  maxPayloadFor(subject: string): number;
}

/** Opens one session per call (one attempt); rejects with a ConnectionError. */
export interface Connector {
  open(side: "source", worker: number): Promise<SourceSession>;
  open(side: "target", worker: number): Promise<TargetSession>;
  open(side: SideName, worker: number): Promise<SourceSession | TargetSession>;
}
