/**
 * Reading a JetStream stream back with the official client, to assert what the replicator
 * stored: every message with its headers, in stream order.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import type { JetStreamManager, StreamInfo } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";

export interface StreamMessage {
  seq: number;
  subject: string;
  headers: Record<string, string>;
  data: Buffer;
}

export async function withManager<T>(
  url: string,
  job: (jsm: JetStreamManager, nc: NatsConnection) => Promise<T>,
): Promise<T> {
  const u = new URL(url);
  const credentials =
    u.username === ""
      ? {}
      : { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) };
  u.username = "";
  u.password = "";
  const nc = await connect({
    servers: u.href.replace(/\/$/, ""),
    reconnect: false,
    noAsyncTraces: true,
    ...credentials,
  });
  try {
    return await job(await jetstreamManager(nc), nc);
  } finally {
    await nc.close();
  }
}

export function streamInfo(url: string, stream: string): Promise<StreamInfo> {
  return withManager(url, (jsm) => jsm.streams.info(stream));
}

/** Every message of the stream, in stream order. */
export function readStream(url: string, stream: string): Promise<StreamMessage[]> {
  return withManager(url, async (jsm) => {
    const info = await jsm.streams.info(stream);
    const out: StreamMessage[] = [];
    if (info.state.messages === 0) return out;
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      if (!m) continue;
      const headers: Record<string, string> = {};
      for (const key of m.header?.keys() ?? []) headers[key] = m.header.get(key);
      out.push({ seq: m.seq, subject: m.subject, headers, data: Buffer.from(m.data) });
    }
    return out;
  });
}

/** Polls until the stream holds at least `count` messages. */
export async function waitForStreamCount(
  url: string,
  stream: string,
  count: number,
  timeoutMs = 30_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    try {
      last = (await streamInfo(url, stream)).state.messages;
      if (last >= count) return last;
    } catch {
      // stream not there yet, or the server restarting
    }
    if (Date.now() > deadline) {
      throw new Error(`stream ${stream}: ${last} of ${count} messages within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
