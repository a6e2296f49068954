/**
 * The durable subscriptions of a channel, as the source server's monitoring endpoint lists
 * them, and where each would resume: the first message it would be given next.
 */
import { errorText } from "../errors";
import type { InboundMessage } from "../replicator/ports";
import type { StanSession } from "./session";

export interface StanDurable {
  /** The durable name. */
  name: string;
  /** The client id it belongs to (the last one, for an offline durable). */
  clientId: string;
  /** The queue group, for a durable queue subscription. */
  queueGroup?: string;
  offline: boolean;
  maxInflight: number;
  ackWaitSeconds: number;
  lastSent: number;
  pending: number;
}

interface Subscriptionz {
  client_id: string;
  durable_name?: string;
  queue_name?: string;
  is_durable: boolean;
  is_offline: boolean;
  max_inflight: number;
  ack_wait: number;
  last_sent: number;
  pending_count: number;
}

/** The channel's durables from `<monitor>/streaming/channelsz?channel=...&subs=1`. */
export async function readDurables(monitorUrl: string, channel: string): Promise<StanDurable[]> {
  const url = `${monitorUrl.replace(/\/$/, "")}/streaming/channelsz?channel=${encodeURIComponent(channel)}&subs=1`;
  let body: { subscriptions?: Subscriptionz[] };
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (res.status === 404) throw new Error(`channel ${channel} does not exist there`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    body = (await res.json()) as { subscriptions?: Subscriptionz[] };
  } catch (err) {
    throw new Error(`cannot read the durables of ${channel} from ${monitorUrl}: ${errorText(err)}`);
  }
  return (body.subscriptions ?? [])
    .filter((s) => s.is_durable)
    .map((s) => {
      // A durable queue group is listed as queue_name "<durable>:<group>", without durable_name.
      const queue = s.queue_name ?? "";
      const colon = queue.indexOf(":");
      const name = s.durable_name || (colon > 0 ? queue.slice(0, colon) : queue);
      const group = colon > 0 ? queue.slice(colon + 1) : queue;
      return {
        name,
        clientId: s.client_id,
        ...(group ? { queueGroup: group } : {}),
        offline: s.is_offline,
        maxInflight: s.max_inflight,
        ackWaitSeconds: s.ack_wait,
        lastSent: s.last_sent,
        pending: s.pending_count,
      };
    });
}

/**
 * The sequence the durable would be given next: its oldest unacknowledged message, else the one
 * after the last it was sent. Found by resuming it with one message in flight and closing without
 * acknowledging, so its position does not move (what stan2js does). The session must use the
 * durable's own client id for a plain durable (it must be offline).
 */
export async function nextSequence(
  session: StanSession,
  channel: string,
  durable: StanDurable,
  waitMs = 2_000,
): Promise<number> {
  let first: InboundMessage | undefined;
  let arrived!: () => void;
  const got = new Promise<void>((resolve) => (arrived = resolve));
  try {
    await session.subscribe(
      {
        subject: channel,
        durableName: durable.name,
        ...(durable.queueGroup ? { queueGroup: durable.queueGroup } : {}),
        maxInFlight: 1,
        ackWaitMs: Math.max(1, durable.ackWaitSeconds) * 1000,
        start: { kind: "first" },
      },
      (msg) => {
        first ??= msg;
        arrived();
      },
    );
    const timer = setTimeout(arrived, waitMs);
    await got;
    clearTimeout(timer);
  } finally {
    await session.close();
  }
  return first?.sequence ?? durable.lastSent + 1;
}
