/**
 * The ports of the replicator: what it needs from a source and a target, and every type they
 * carry. Adapters (src/stan, src/jetstream) implement them; nothing here knows a broker.
 */

export type SideName = "source" | "target";

/** Where a new durable starts. Applies only when the durable does not exist yet on the source. */
export type StartPosition =
  | { kind: "first" } // everything available (the original tool's behaviour, default)
  | { kind: "new" } // only messages published after the subscription is made
  | { kind: "last" } // the last message stored, then new ones
  | { kind: "sequence"; sequence: number }
  | { kind: "time"; time: Date }
  | { kind: "delta"; ms: number };

export interface SubscribeOptions {
  /** Source channel. */
  subject: string;
  durableName: string;
  queueGroup?: string;
  maxInFlight: number;
  ackWaitMs: number;
  start: StartPosition;
}

/** Why a session ended. `requested` is our own close(). */
export interface SessionEnd {
  reason: "requested" | "connection_lost" | "closed" | "error";
  error?: string;
}

/** Where a copy came from: a target that can deduplicate derives its message id from it. */
export interface MessageOrigin {
  /** Source sequence of the message. */
  readonly sequence: number;
  /** Source publish time, milliseconds since the epoch. */
  readonly timestampMs: number;
}

export interface InboundMessage extends MessageOrigin {
  /** Raw bytes, exactly as published on the source. */
  readonly data: Buffer;
  readonly redelivered: boolean;
  /** Sends the ack; false when it could not be sent (the source will redeliver). */
  ack(): boolean;
}

/**
 * A publish the target confirmed: `stored`, or `duplicate` when the target recognised the
 * message id and kept its earlier copy (only targets that deduplicate say so).
 */
export type PublishOutcome = "stored" | "duplicate";

export interface Session {
  /** Resolves exactly once, when the session is over for any reason. */
  readonly ended: Promise<SessionEnd>;
  close(): Promise<void>;
}

export interface SourceSession extends Session {
  /** Resolves once the subscription is confirmed; messages may arrive from then on. */
  subscribe(options: SubscribeOptions, onMessage: (msg: InboundMessage) => void): Promise<void>;
}

export interface TargetSession extends Session {
  /**
   * Settles exactly once: resolved when the target acknowledged, rejected with a PublishError.
   * `origin` is the source message a copy stands for (absent for advisories).
   */
  publish(subject: string, data: Buffer, origin?: MessageOrigin): Promise<PublishOutcome>;
  /** Largest payload the target accepts on `subject`. */
  maxPayloadFor(subject: string): number;
}

/** What a connector may know about one attempt to open a session. */
export interface OpenAttempt {
  /**
   * A session of this side was lost moments ago (a leader election?): a cluster that stays
   * silent is more likely leaderless than slow, so give up on it sooner and try again.
   */
  failover: boolean;
}

/** Opens a worker's source session; one attempt per call, rejects with a ConnectionError. */
export interface SourceConnector {
  openSource(worker: number, attempt?: OpenAttempt): Promise<SourceSession>;
}

/** Opens a worker's target session; one attempt per call, rejects with a ConnectionError. */
export interface TargetConnector {
  openTarget(worker: number, attempt?: OpenAttempt): Promise<TargetSession>;
}

/** Opens the advisory publisher's session on one cluster (a connection of its own). */
export interface PublisherConnector {
  openPublisher(): Promise<TargetSession>;
}

/** Why the sampling limiter let a message through. */
export type PassReason = "passed" | "update_flag" | "not_json" | "no_key";

/**
 * The sampling limiter as the copy step sees it. A message to copy may carry `confirm` (its
 * copy is on the target) and `release` (its publish failed: the value may pass again).
 */
export interface Sampler {
  decide(data: Buffer): SampleDecision;
}
export type SampleDecision =
  { copy: true; reason: PassReason; confirm?: () => void; release?: () => void } | { copy: false };
