/**
 * Reads what a topic's target holds, message by message, with clients independent of the
 * replicator: node-nats-streaming for a NATS Streaming channel, the official @nats-io/jetstream
 * client (an ordered consumer) for a JetStream stream. Nothing is kept but what `visit` keeps.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { Message } from "node-nats-streaming";
import type { TopicConfig } from "../../src/config";
import { closeStan, connectStan, uniqueClientId } from "../../test/support/stan-client";

export interface TargetMessage {
  /** Sequence in the target channel or stream. */
  seq: number;
  data: Uint8Array;
  /** JetStream: the source channel sequence the copy carries (Nats-Streaming-Sequence). */
  sourceSeq?: number;
}

export type Visit = (message: TargetMessage) => void;

const READ_TIMEOUT_MS = 120_000;

/** Every message of the topic's target on `server`, in order; its message count. */
export function readTarget(
  topic: TopicConfig,
  server: { url: string; monitorUrl: string },
  visit: Visit,
): Promise<number> {
  if (topic.target === "jetstream" && topic.jetstream) {
    return readJetStream(server.url, topic.jetstream.stream, visit);
  }
  return readStanChannel(
    server.url,
    topic.targetClusterId,
    server.monitorUrl,
    topic.targetTopic,
    visit,
  );
}

/** Every message of a NATS Streaming channel, in order; its message count. */
export async function readStanChannel(
  url: string,
  clusterId: string,
  monitorUrl: string,
  channel: string,
  visit: Visit,
): Promise<number> {
  const res = await fetch(`${monitorUrl}/streaming/channelsz?channel=${channel}`);
  if (res.status === 404) return 0; // nothing was ever copied there
  if (!res.ok) throw new Error(`${monitorUrl}: channel ${channel}: HTTP ${res.status}`);
  const info = (await res.json()) as { msgs: number; last_seq: number };
  if (info.msgs === 0) return 0;
  const client = await connectStan(url, clusterId, uniqueClientId("demo-read"));
  try {
    return await new Promise<number>((resolve, reject) => {
      let count = 0;
      const timer = setTimeout(
        () =>
          reject(new Error(`${channel}: ${count} of ${info.msgs} read in ${READ_TIMEOUT_MS} ms`)),
        READ_TIMEOUT_MS,
      );
      const opts = client.subscriptionOptions().setDeliverAllAvailable().setMaxInFlight(4096);
      const sub = client.subscribe(channel, opts);
      sub.on("error", (err: unknown) =>
        reject(err instanceof Error ? err : new Error(String(err))),
      );
      sub.on("message", (m: Message) => {
        count++;
        visit({ seq: m.getSequence(), data: m.getRawData() });
        if (m.getSequence() >= info.last_seq) {
          clearTimeout(timer);
          resolve(count);
        }
      });
    });
  } finally {
    await closeStan(client);
  }
}

/** Every message of a JetStream stream, in order (an ordered consumer); its message count. */
export async function readJetStream(url: string, stream: string, visit: Visit): Promise<number> {
  const nc = await connect({ servers: url, reconnect: false, noAsyncTraces: true });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    if (info.state.messages === 0) return 0;
    const consumer = await jetstream(nc).consumers.get(stream);
    const messages = await consumer.consume({ max_messages: 1000 });
    let count = 0;
    const timer = setTimeout(() => void messages.close(), READ_TIMEOUT_MS);
    try {
      for await (const m of messages) {
        count++;
        const sourceSeq = Number(m.headers?.get("Nats-Streaming-Sequence"));
        visit({
          seq: m.seq,
          data: m.data,
          ...(Number.isInteger(sourceSeq) && sourceSeq > 0 ? { sourceSeq } : {}),
        });
        if (m.seq >= info.state.last_seq) break;
      }
    } finally {
      clearTimeout(timer);
      await messages.close();
    }
    if (count < info.state.messages) {
      throw new Error(`stream ${stream}: ${count} of ${info.state.messages} read`);
    }
    return count;
  } finally {
    await nc.close();
  }
}
