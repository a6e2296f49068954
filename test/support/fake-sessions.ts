/**
 * Sessions and connectors in memory, for unit tests of the core (Worker, Topic, createApp):
 * the test opens, fails, ends and settles them by hand.
 */
import type {
  InboundMessage,
  OpenAttempt,
  PublishOutcome,
  PublisherConnector,
  SessionEnd,
  SideName,
  SourceConnector,
  SourceSession,
  SubscribeOptions,
  TargetConnector,
  TargetSession,
} from "../../src/replicator/ports";

export interface FakePublish {
  subject: string;
  data: string;
  resolve(outcome?: PublishOutcome): void;
  reject(err: unknown): void;
}

export class FakeSession implements SourceSession, TargetSession {
  readonly ended: Promise<SessionEnd>;
  private endWith!: (end: SessionEnd) => void;
  closes = 0;
  subscription?: SubscribeOptions;
  private onMessage?: (msg: InboundMessage) => void;
  readonly published: FakePublish[] = [];
  /** Settle every publish at once with "stored". */
  autoAck = false;
  subscribeError?: Error;
  readonly acks: number[] = [];

  constructor(
    readonly side: SideName | "publisher",
    readonly worker: number,
  ) {
    this.ended = new Promise((resolve) => (this.endWith = resolve));
  }

  async subscribe(options: SubscribeOptions, onMessage: (m: InboundMessage) => void) {
    if (this.subscribeError) throw this.subscribeError;
    this.subscription = options;
    this.onMessage = onMessage;
  }

  /** The source delivers a message; its ack lands in `acks`. */
  deliver(sequence: number, data = `m${sequence}`): void {
    if (!this.onMessage) throw new Error("not subscribed");
    this.onMessage({
      sequence,
      data: Buffer.from(data),
      timestampMs: 0,
      redelivered: false,
      ack: () => this.acks.push(sequence) > 0,
    });
  }

  publish(subject: string, data: Buffer): Promise<PublishOutcome> {
    if (this.autoAck) return Promise.resolve("stored");
    return new Promise((resolve, reject) => {
      this.published.push({
        subject,
        data: data.toString(),
        resolve: (outcome = "stored") => resolve(outcome),
        reject,
      });
    });
  }

  maxPayload = 1024 * 1024;

  maxPayloadFor(): number {
    return this.maxPayload;
  }

  /** The session ends by itself (lost connection, server gone). */
  end(reason: SessionEnd["reason"] = "connection_lost", error?: string): void {
    this.endWith({ reason, ...(error ? { error } : {}) });
  }

  /** Set to make close() wait for ever (a cluster that answers no close request). */
  closeHangs = false;

  async close(): Promise<void> {
    this.closes++;
    this.end("requested");
    if (this.closeHangs) await new Promise<never>(() => undefined);
  }
}

/** Opens FakeSessions; `failNext` makes the next opens of a side reject. */
export class FakeConnector implements SourceConnector, TargetConnector, PublisherConnector {
  readonly opened: FakeSession[] = [];
  private readonly failures = new Map<string, Error[]>();
  /** Called with each new session before it is returned. */
  onOpen?: (session: FakeSession) => void | Promise<void>;
  autoAck = false;

  failNext(side: SideName | "publisher", ...errors: Error[]): void {
    this.failures.set(side, [...(this.failures.get(side) ?? []), ...errors]);
  }

  sessions(side: SideName | "publisher"): FakeSession[] {
    return this.opened.filter((s) => s.side === side);
  }

  last(side: SideName | "publisher"): FakeSession {
    const list = this.sessions(side);
    const session = list[list.length - 1];
    if (!session) throw new Error(`no ${side} session opened`);
    return session;
  }

  /** Every open attempt, failed ones included, with what the caller said about it. */
  readonly attempts: Array<{ side: SideName; failover: boolean }> = [];

  openSource(worker: number, attempt?: OpenAttempt): Promise<FakeSession> {
    this.attempts.push({ side: "source", failover: attempt?.failover ?? false });
    return this.open("source", worker);
  }

  openTarget(worker: number, attempt?: OpenAttempt): Promise<FakeSession> {
    this.attempts.push({ side: "target", failover: attempt?.failover ?? false });
    return this.open("target", worker);
  }

  openPublisher(): Promise<FakeSession> {
    return this.open("publisher", 0);
  }

  private async open(side: SideName | "publisher", worker: number): Promise<FakeSession> {
    const error = this.failures.get(side)?.shift();
    if (error) throw error;
    const session = new FakeSession(side, worker);
    session.autoAck = this.autoAck;
    await this.onOpen?.(session);
    this.opened.push(session);
    return session;
  }
}

/** Resolves once `check()` is true; polls every turn of the event loop, bounded. */
export async function until(check: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
