/** Connection and topic state: the one thing /healthz reads. */
import type { SideName } from "./ports";

export type { SideName };

export type ConnectionState =
  | { kind: "connecting"; since: number; attempt: number; lastError?: string }
  | { kind: "up"; since: number }
  | { kind: "reconnecting"; since: number; attempt: number; lastError?: string }
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

/** Healthy when every worker of every topic is up on both sides, subscribed and no topic is stalled. */
export function isTopicHealthy(t: TopicStatus): boolean {
  return (
    t.stalled === undefined &&
    t.workers.every((w) => w.subscribed && w.source.kind === "up" && w.target.kind === "up")
  );
}
