/** Connection and topic state: the one thing /healthz reads. */
import type { SideName } from "./ports";

export type { SideName };

export type ConnectionState =
  | { kind: "connecting"; since: number; attempt: number; lastError?: string }
  | { kind: "up"; since: number }
  | { kind: "reconnecting"; since: number; attempt: number; lastError?: string }
  /** Ordered: another process holds the client id (the active copy); this one waits. */
  | { kind: "standby"; since: number }
  | { kind: "closed"; since: number };

export interface WorkerStatus {
  worker: number;
  clientId: string;
  source: ConnectionState;
  target: ConnectionState;
  subscribed: boolean;
}

export interface StalledInfo {
  since: number;
  sequence: number;
  reason: string;
}

export interface TopicStatus {
  name: string;
  topic: string;
  targetTopic: string;
  /** URLs with credentials removed. */
  sourceUrls: string[];
  targetUrls: string[];
  workers: WorkerStatus[];
  /** Set when a message was rejected for good and the topic stopped moving. */
  stalled?: StalledInfo;
}

/**
 * Healthy when no topic is stalled and every worker is up on both sides and subscribed, or is a
 * hot standby waiting for the active copy to go away.
 */
export function isTopicHealthy(t: TopicStatus): boolean {
  return (
    t.stalled === undefined &&
    t.workers.every(
      (w) => isStandby(w) || (w.subscribed && w.source.kind === "up" && w.target.kind === "up"),
    )
  );
}

export function isStandby(w: WorkerStatus): boolean {
  return w.source.kind === "standby";
}
