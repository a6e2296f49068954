/**
 * A durable subscription in manual-ack mode on a STAN session: the SubscriptionRequest, the
 * delivery of MsgProto messages as InboundMessages, and their acks. Messages that arrive before
 * the server confirmed the subscription are held back until its ack inbox is known.
 */
import { ConnectionError, errorText } from "../errors";
import type { InboundMessage, SubscribeOptions } from "../replicator/ports";
import { AckEncoder, encodeSubscriptionRequest } from "./protocol";
import { decodeMsgProto, decodeSubscriptionResponse } from "./protocol-decode";
import { subscriptionRequest } from "./session-options";
import type { StanWire } from "./wire";

export interface DurableSubscription {
  nc: StanWire;
  /** The server's subscription request subject (ConnectResponse). */
  subRequests: string;
  clientId: string;
  timeoutMs: number;
  options: SubscribeOptions;
  onMessage(msg: InboundMessage): void;
  /** Runs one write on the session's connection; false when it is gone. */
  send(write: () => void): boolean;
}

/** Resolves once the server confirmed the subscription; rejects with a ConnectionError. */
export async function subscribeDurable(d: DurableSubscription): Promise<void> {
  const { nc, options, onMessage } = d;
  const inbox = nc.createInbox();
  // Known once the server confirmed the subscription.
  const confirmed: { ackInbox?: string } = {};
  const acks = new AckEncoder(options.subject);
  const early: Buffer[] = [];
  const deliver = (buf: Buffer, start: number, end: number): void => {
    let m: ReturnType<typeof decodeMsgProto>;
    try {
      m = decodeMsgProto(buf, start, end);
    } catch {
      return; // not a MsgProto: never acked, so the server redelivers
    }
    const sequence = m.sequence;
    onMessage({
      sequence,
      data: m.data,
      timestampMs: Math.floor(m.timestampNs / 1e6),
      redelivered: m.redelivered,
      ack: () => {
        const { ackInbox } = confirmed;
        if (ackInbox === undefined) return false;
        return d.send(() =>
          nc.publishWith(ackInbox, "", acks.sizeOf(sequence), (out, at) =>
            acks.encodeInto(out, at, sequence),
          ),
        );
      },
    });
  };
  nc.subscribe(inbox, (buf, start, end) => {
    if (confirmed.ackInbox === undefined) early.push(buf.subarray(start, end));
    else deliver(buf, start, end);
  });
  let answer: { ackInbox: string; error: string };
  try {
    const reply = await nc.request(
      d.subRequests,
      encodeSubscriptionRequest(subscriptionRequest(d.clientId, inbox, options)),
      d.timeoutMs,
    );
    answer = decodeSubscriptionResponse(reply);
  } catch (err) {
    throw new ConnectionError(`subscribe failed: ${errorText(err)}`, {
      cause: err,
      retriable: true,
    });
  }
  if (answer.error !== "") {
    throw new ConnectionError(`subscribe failed: ${answer.error}`, { retriable: true });
  }
  confirmed.ackInbox = answer.ackInbox;
  for (const m of early.splice(0)) deliver(m, 0, m.length);
}
