/**
 * Watching a JetStream subject: an ordered consumer on the stream that captures it, from new
 * messages, from the first kept, or from a start time.
 */
import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import type { OrderedConsumerOptions } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { errorText } from "../errors";
import type { Endpoint } from "../nats/endpoint";
import { credentials } from "./management";

export type WatchStart = { kind: "new" } | { kind: "all" } | { kind: "since"; ms: number };

export interface Watch {
  /** Resolves when the watch ends (close(), or the connection lost). */
  readonly done: Promise<void>;
  close(): Promise<void>;
}

export async function watchSubject(
  endpoint: Endpoint,
  subject: string,
  start: WatchStart,
  onMessage: (data: Buffer) => void,
): Promise<Watch> {
  const nc: NatsConnection = await connect({
    servers: endpoint.url,
    name: "stream-replicator advisories",
    reconnect: false,
    noAsyncTraces: true,
    ...credentials(endpoint),
    ...(endpoint.tls !== undefined ? { tls: { ...endpoint.tls } } : {}),
  });
  try {
    const js = jetstream(nc);
    const jsm = await js.jetstreamManager();
    const stream = await jsm.streams.find(subject);
    const options: Partial<OrderedConsumerOptions> = {
      filter_subjects: [subject],
      ...(start.kind === "new"
        ? { deliver_policy: DeliverPolicy.New }
        : start.kind === "all"
          ? { deliver_policy: DeliverPolicy.All }
          : {
              deliver_policy: DeliverPolicy.StartTime,
              opt_start_time: new Date(Date.now() - start.ms).toISOString(),
            }),
    };
    const consumer = await js.consumers.get(stream, options);
    const messages = await consumer.consume();
    const done = (async () => {
      for await (const m of messages) onMessage(Buffer.from(m.data));
    })();
    return {
      done,
      close: async () => {
        await messages.close();
        await nc.close();
      },
    };
  } catch (err) {
    await nc.close();
    throw new Error(`cannot watch ${subject} on ${endpoint.url}: ${errorText(err)}`);
  }
}
