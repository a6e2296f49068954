/**
 * Moving a NATS Streaming durable onto JetStream: the stream sequence where the durable's next
 * channel sequence was (or will be) copied, and the JetStream consumer that starts there.
 *
 * The bridge copies a channel in order (ordered mode), so the stream's Nats-Streaming-Sequence
 * headers grow with the stream sequence: a binary search over them finds the copy. A durable
 * ahead of the bridge continues at the stream sequence its next message will get, counted on
 * from the last copy (exact while every message is copied and nothing else writes to the stream).
 */
import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import type { ConsumerInfo } from "@nats-io/jetstream";
import type { Management } from "./management";

export interface ConsumerPlan {
  /** JetStream consumer (durable) name. */
  name: string;
  stream: string;
  subject: string;
  /** The stream sequence the consumer starts at. */
  startSequence: number;
  maxAckPending: number;
  ackWaitSeconds: number;
  description: string;
}

/** JetStream names take no whitespace, `.`, `*`, `>`, `/` or `\`. */
export function consumerName(durable: string): string {
  return durable.replace(/[\s.*>/\\]/g, "_");
}

/** The stream sequence of the first copy of channel sequence `next` or later. */
export async function streamSequenceFor(
  m: Management,
  stream: string,
  next: number,
): Promise<number> {
  const info = await m.jsm.streams.info(stream);
  const { first_seq: first, last_seq: last, messages } = info.state;
  if (messages === 0) return last + 1;
  const channelSequenceAt = async (seq: number): Promise<number> => {
    const msg = await m.jsm.streams.getMessage(stream, { seq });
    const value = Number(msg?.header?.get("Nats-Streaming-Sequence") ?? NaN);
    if (!Number.isSafeInteger(value)) {
      throw new Error(`stream ${stream} message ${seq} is not a copy (no Nats-Streaming-Sequence)`);
    }
    return value;
  };
  const firstCopy = await channelSequenceAt(first);
  if (next < firstCopy) {
    throw new Error(
      `the durable still has to read channel sequence ${next}, before the stream's first copy (${firstCopy})`,
    );
  }
  const lastCopy = await channelSequenceAt(last);
  if (next > lastCopy) return last + (next - lastCopy);
  let lo = first;
  let hi = last;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await channelSequenceAt(mid)) < next) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Creates the consumer; an existing one with that name is left as it is and reported. */
export async function createConsumer(
  m: Management,
  plan: ConsumerPlan,
): Promise<{ created: boolean; existing?: ConsumerInfo }> {
  try {
    const existing = await m.jsm.consumers.info(plan.stream, plan.name);
    return { created: false, existing };
  } catch {
    // not there: create it
  }
  await m.jsm.consumers.add(plan.stream, {
    durable_name: plan.name,
    description: plan.description,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: plan.startSequence,
    filter_subject: plan.subject,
    max_ack_pending: plan.maxAckPending,
    ack_wait: plan.ackWaitSeconds * 1e9,
  });
  return { created: true };
}
