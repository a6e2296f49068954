/**
 * The publishes of one STAN session that await their answer, by guid, oldest first. Each
 * settles exactly once: on its PubAck, an error answer, the NATS server's 503 (nothing
 * received it), its deadline, or the end of the session.
 */
import { PublishError } from "../errors";
import type { PublishFailureReason } from "../errors";
import type { PublishOutcome } from "../replicator/ports";
import { decodePubAck } from "./protocol-decode";

interface PendingPublish {
  deadline: number;
  resolve(outcome: PublishOutcome): void;
  reject(err: PublishError): void;
}

export class PendingPublishes {
  private readonly pending = new Map<number, PendingPublish>();
  private guidCounter = 0;

  constructor(private readonly timeoutMs: number) {}

  /** Registers a publish; returns its guid. All share one timeout, so the map stays in deadline order. */
  add(resolve: (outcome: PublishOutcome) => void, reject: (err: PublishError) => void): number {
    const guid = ++this.guidCounter;
    this.pending.set(guid, { deadline: Date.now() + this.timeoutMs, resolve, reject });
    return guid;
  }

  /** A message on the ack subject: a PubAck settles its publish. */
  onPubAck(buf: Buffer, start: number, end: number): void {
    let ack: { guid: number; error: string };
    try {
      ack = decodePubAck(buf, start, end);
    } catch {
      return; // not a PubAck; the publish it answers times out
    }
    if (ack.error === "") this.settle(ack.guid);
    else this.settle(ack.guid, "error", ack.error);
  }

  /** Nothing received publish `guid`: the cluster has no leader serving the channel now. */
  onNoResponders(guid: number): void {
    this.settle(
      guid,
      "no_responders",
      "no responders: the target cluster has no leader serving the channel (election?)",
    );
  }

  settle(guid: number, reason?: PublishFailureReason, text?: string): void {
    const entry = this.pending.get(guid);
    if (entry === undefined) return; // answered after its timeout: already failed
    this.pending.delete(guid);
    if (reason === undefined) entry.resolve("stored");
    else entry.reject(new PublishError(text ?? "", reason));
  }

  /** Fails publishes past their deadline; they are in deadline order, so it stops early. */
  expire(): void {
    const now = Date.now();
    for (const [guid, entry] of this.pending) {
      if (entry.deadline > now) break;
      this.settle(guid, "timeout", "publish ack timeout");
    }
  }

  /** Fails every publish still waiting. */
  failAll(text: string): void {
    for (const guid of [...this.pending.keys()]) this.settle(guid, "connection_closed", text);
  }
}
