/**
 * What every way of publishing copies into a stream shares, whatever client writes them: the
 * ordered chain (only writer: copies up to the stream's last are confirmed without a publish;
 * each new copy names the previous one) and aligning an empty stream before the first copy.
 */
import { PublishError, errorText } from "../errors";
import type { MessageOrigin, PublishOutcome } from "../replicator/ports";
import { JS_ERR } from "./pub-ack";

export class CopyChain {
  readonly chained: boolean;
  /** Chained: the source sequence of the last copy published (-1: none). */
  private previous: number;
  private align?: (firstSequence: number) => Promise<void>;

  constructor(chainFrom?: number, align?: (firstSequence: number) => Promise<void>) {
    this.chained = chainFrom !== undefined;
    this.previous = chainFrom ?? -1;
    this.align = align;
  }

  /** The stream holds this copy already (stored before this session). */
  has(origin: MessageOrigin | undefined): boolean {
    return origin !== undefined && this.chained && origin.sequence <= this.previous;
  }

  /** The sequence a copy of `origin` names as the one before it (-1: none). */
  previousFor(origin: MessageOrigin | undefined): number {
    return this.chained && origin !== undefined ? this.previous : -1;
  }

  /** A copy of `origin` went out: the next one names it. */
  sent(origin: MessageOrigin): void {
    if (this.chained) this.previous = origin.sequence;
  }

  /** Is the stream still to be aligned before this copy (the session's first)? */
  mustAlign(origin: MessageOrigin | undefined): origin is MessageOrigin {
    return this.align !== undefined && origin !== undefined;
  }

  /** Aligns the stream at the first copy's sequence, then runs `send`. */
  alignThen(origin: MessageOrigin, send: () => Promise<PublishOutcome>): Promise<PublishOutcome> {
    const align = this.align;
    if (align === undefined) return send();
    this.align = undefined;
    return align(origin.sequence).then(send, (err: unknown) => {
      this.align = align; // retried with the next session's first copy
      throw new PublishError(`aligning the stream failed: ${errorText(err)}`, "error");
    });
  }
}

/** A stream's refusal of a copy (a PubAck error) as a failed publish. */
export function refusal(
  errCode: number,
  code: number,
  description: string,
  cause?: unknown,
): PublishError {
  const text =
    errCode === JS_ERR.wrongLastMsgId
      ? `the stream refused a copy that would leave a gap (${description}); resuming from its last copy`
      : `JetStream: ${description} (${errCode || code})`;
  const reason = errCode === JS_ERR.messageTooLarge ? "rejected" : "error";
  return new PublishError(text, reason, { cause });
}

/** A copy nobody took: the stream is missing, does not capture the subject, or JetStream is down. */
export function noStream(stream: string, cause?: unknown): PublishError {
  return new PublishError(
    `no responders: no JetStream stream took the message (stream ${stream} missing, not capturing the subject, or JetStream down)`,
    "no_responders",
    { cause },
  );
}
