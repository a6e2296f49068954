/**
 * The JetStream target as the harness sees it: the stream's message count from the server's
 * monitoring (/jsz, polled during the drain, so no client of ours competes for the CPU), and
 * after a run, the source channel and the whole stream read back for js-verify.ts (untimed).
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect as natsConnect } from "@nats-io/transport-node";
import { SourceIndex, StreamCheck } from "./js-verify";
import type { JsVerification, StreamExpectation } from "./js-verify";
import { readChannel } from "./verify";

interface Jsz {
  account_details?: Array<{
    stream_detail?: Array<{ name: string; state?: { messages?: number } }>;
  }>;
}

/** Messages in `stream` by the server's /jsz; 0 while the stream does not exist. */
export async function streamMessages(monitorUrl: string, stream: string): Promise<number> {
  const url = `${monitorUrl}/jsz?streams=1`;
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const body = (await res.json()) as Jsz;
  for (const account of body.account_details ?? []) {
    const s = account.stream_detail?.find((d) => d.name === stream);
    if (s) return s.state?.messages ?? 0;
  }
  return 0;
}

const IDLE_MS = 10_000;

async function withNats<T>(url: string, job: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await natsConnect({
    servers: url,
    name: "bench-verify",
    reconnect: false,
    noAsyncTraces: true,
  });
  try {
    return await job(nc);
  } finally {
    await nc.close();
  }
}

/** Every message of the source channel, by sequence. */
export async function readSource(
  url: string,
  clusterId: string,
  channel: string,
  expected: number,
): Promise<SourceIndex> {
  const index = new SourceIndex();
  await readChannel(url, clusterId, channel, expected, (m) =>
    index.add(m.getSequence(), m.getRawData()),
  );
  return index;
}

/** Reads the whole stream in order (an ordered consumer) into a StreamCheck. */
export async function verifyStream(
  jsUrl: string,
  stream: string,
  source: SourceIndex,
  expectedSource: number,
  exp: StreamExpectation,
): Promise<JsVerification> {
  return withNats(jsUrl, async (nc) => {
    const jsm = await jetstreamManager(nc);
    const total = (await jsm.streams.info(stream)).state.messages;
    const check = new StreamCheck(source, exp);
    if (total > 0) {
      const consumer = await jetstream(nc).consumers.get(stream);
      const messages = await consumer.consume({ max_messages: 4096 });
      let read = 0;
      let idle: NodeJS.Timeout | undefined;
      const arm = (): void => {
        clearTimeout(idle);
        idle = setTimeout(() => void messages.close(), IDLE_MS);
      };
      arm();
      for await (const m of messages) {
        check.add({
          header: (name) => (m.headers?.has(name) ? m.headers.get(name) : undefined),
          data: m.data,
          storedMs: Number(m.timestampNanos / 1000n) / 1000,
        });
        if (++read >= total) break;
        arm();
      }
      clearTimeout(idle);
      await messages.close();
    }
    return check.result(total, expectedSource);
  });
}

/** Deletes a stream after its run (frees the server's disk and keeps /jsz small). */
export async function deleteStream(jsUrl: string, stream: string): Promise<void> {
  await withNats(jsUrl, async (nc) => {
    const jsm: JetStreamManager = await jetstreamManager(nc);
    await jsm.streams.delete(stream);
  });
}
