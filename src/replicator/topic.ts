/**
 * One configured topic: its workers, its durable, its stall state. Workers of a topic share
 * the sampling limiter and the record of copied-but-unacknowledged sequences.
 */
import type { Logger } from "../logging/logger";
import type { ReplicationObserver } from "./observer";
import type {
  Sampler,
  SourceConnector,
  StartPosition,
  SubscribeOptions,
  TargetConnector,
} from "./ports";
import type { StalledInfo, TopicStatus } from "./status";
import { Worker } from "./worker";

/** What a topic needs of its configuration (src/config's TopicConfig has all of it). */
export interface TopicSettings {
  /** Durable name, and the prefix of worker names `<name>_<n>`. */
  name: string;
  /** Source channel. */
  topic: string;
  targetTopic: string;
  sourceUrls: readonly string[];
  targetUrls: readonly string[];
  workers: number;
  queued: boolean;
  queueGroup: string;
  maxInFlight: number;
  ackWaitMs: number;
  publishTimeoutMs: number;
  /** Ordered: pause publishing while the oldest publish is unacknowledged for longer. */
  publishPauseAfterMs: number;
  startAt: StartPosition;
}

export interface TopicDeps {
  source: SourceConnector;
  target: TargetConnector;
  observer: ReplicationObserver;
  sampler?: Sampler;
  log: Logger;
  now(): number;
  /** Shown in status: URLs with credentials removed. */
  redactUrl(url: string): string;
  /** A worker's client id, shown in status and logs. */
  clientId(worker: number): string;
}

/** `<name>_<n>`: a worker's name in logs and metric labels, stable across restarts. */
export function workerName(topicName: string, worker: number): string {
  return `${topicName}_${worker}`;
}

export class Topic {
  private readonly workers: Worker[];
  private stalled?: StalledInfo;
  private readonly abort = new AbortController();
  private running?: Promise<void>;

  constructor(
    readonly config: TopicSettings,
    private readonly deps: TopicDeps,
  ) {
    const copiedUnacked = new Set<number>();
    const subscription: SubscribeOptions = {
      subject: config.topic,
      durableName: config.name,
      queueGroup: config.queued ? config.queueGroup : undefined,
      maxInFlight: config.maxInFlight,
      ackWaitMs: config.ackWaitMs,
      start: config.startAt,
    };
    this.workers = Array.from({ length: config.workers }, (_, id) => {
      const clientId = deps.clientId(id);
      return new Worker({
        id,
        clientId,
        ordered: !config.queued,
        subscription,
        targetSubject: config.targetTopic,
        source: deps.source,
        target: deps.target,
        observer: deps.observer,
        sampler: deps.sampler,
        log: deps.log.child({ worker: id, clientId }),
        copiedUnacked,
        isStalled: () => this.stalled !== undefined,
        onRejected: (sequence, reason) => this.stall(sequence, reason),
        settleTimeoutMs: config.publishTimeoutMs + 1_000,
        pauseAfterMs: config.publishPauseAfterMs,
        now: deps.now,
      });
    });
  }

  get name(): string {
    return this.config.name;
  }

  start(shutdownTimeoutMs: number): void {
    if (this.running) return;
    this.deps.observer.stalled(false);
    this.running = Promise.all(
      this.workers.map((w) => w.run(this.abort.signal, shutdownTimeoutMs)),
    ).then(() => undefined);
  }

  /** Stops taking messages, waits (bounded by the workers) for in-flight ones, closes. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  status(): TopicStatus {
    const c = this.config;
    return {
      name: c.name,
      topic: c.topic,
      targetTopic: c.targetTopic,
      sourceUrls: c.sourceUrls.map(this.deps.redactUrl),
      targetUrls: c.targetUrls.map(this.deps.redactUrl),
      workers: this.workers.map((w) => w.status()),
      ...(this.stalled ? { stalled: this.stalled } : {}),
    };
  }

  /** Messages in flight per worker id. */
  inflightByWorker(): Array<{ worker: number; count: number }> {
    return this.workers.map((w, worker) => ({ worker, count: w.inflight().count }));
  }

  /** Messages in flight over all workers, and the start time of the oldest. */
  inflight(): { count: number; oldestStartedMs?: number } {
    let count = 0;
    let oldest: number | undefined;
    for (const w of this.workers) {
      const f = w.inflight();
      count += f.count;
      if (f.oldestStartedMs !== undefined && (oldest === undefined || f.oldestStartedMs < oldest)) {
        oldest = f.oldestStartedMs;
      }
    }
    return { count, oldestStartedMs: oldest };
  }

  /**
   * A message the target rejects for good. The topic stops moving (nothing is acknowledged
   * past it) until an operator fixes the cause and restarts; see README "Stalled topics".
   */
  private stall(sequence: number, reason: string): void {
    if (this.stalled) return;
    this.stalled = { since: this.deps.now(), sequence, reason };
    this.deps.observer.stalled(true);
    this.deps.log.error("topic stalled on a message the target rejects", { sequence, reason });
  }
}
