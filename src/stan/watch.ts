/**
 * Watching a channel as a reader of its own: a subscription that is not durable, from new
 * messages, from the first one kept, or from a while ago; every message acknowledged at once.
 */
import type { StartPosition } from "../replicator/ports";
import type { StanSession } from "./session";

export async function watchChannel(
  session: StanSession,
  channel: string,
  start: StartPosition,
  onMessage: (data: Buffer) => void,
): Promise<void> {
  await session.subscribe(
    { subject: channel, durableName: "", maxInFlight: 1024, ackWaitMs: 30_000, start },
    (msg) => {
      onMessage(msg.data);
      msg.ack();
    },
  );
}
