// Helpers for the replication integration tests (test/integration/replication.test.ts):
// - a live publisher that publishes numbered payloads at a steady rate until stopped and rides
//   out a source outage by retrying each message until the source acknowledged it;
// - a reader that listens on a channel until every expected payload arrived;
// - order comparison with a readable failure message;
// - Prometheus text parsing for the replicator's /metrics.
import assert from "node:assert/strict";
import type { Stan } from "node-nats-streaming";
import type { ReplicatorProcess } from "./replicator-process";
import { firstArrivals } from "./replicator-process";
import { closeStan, connectStan, readAll, uniqueClientId } from "./stan-client";
import type { ReadMessage } from "./stan-client";

export interface ServerRef {
  url: string;
  clusterId: string;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function toError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new Error(typeof err === "string" ? err : JSON.stringify(err));
}

// ---------------------------------------------------------------------------------------------
// Live publisher

export interface LivePublisherOptions {
  /** Payloads are `${prefix}-0`, `${prefix}-1`, ... Default "live". */
  prefix?: string;
  /** Target rate. Default 400 messages per second. */
  ratePerSec?: number;
  /** How long to wait for one ack before retrying the message. Default 2 s. */
  ackTimeoutMs?: number;
  /** stop() gives up (rejects) when the message in progress is not acked by then. Default 30 s. */
  stopTimeoutMs?: number;
}

export interface LivePublisher {
  /** Messages acknowledged by the source so far. */
  ackedCount(): number;
  /** Publish attempts that failed and were retried (source outages). */
  retries(): number;
  /** Resolves once at least `count` messages were acknowledged. */
  waitForAcked(count: number, timeoutMs: number): Promise<void>;
  /** Stops after the message in progress is acknowledged; resolves with every acknowledged
   * payload, in the order the source acknowledged them (= source order, one at a time). */
  stop(): Promise<Buffer[]>;
  /** Stops at once, giving up on the message in progress (cleanup after a failed test). */
  abort(): Promise<void>;
}

/** A publishing connection and whether its transport is known to be gone. */
interface Connection {
  client: Stan;
  gone: boolean;
}

/**
 * Publishes one message and waits for its ack, bounded by our own timer. When the NATS
 * connection closes, node-nats-streaming calls every pending ack handler *without* an error:
 * a false success. 'disconnect' is emitted before that, so an ack that arrives after it is
 * treated as a failure (the message may or may not be stored: it is sent again).
 */
function publishOne(conn: Connection, channel: string, payload: Buffer, timeoutMs: number) {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error("ack timeout")), timeoutMs);
    try {
      conn.client.publish(channel, payload, (err: unknown) => {
        if (err) finish(toError(err));
        else if (conn.gone) finish(new Error("connection lost before the ack"));
        else finish();
      });
    } catch (err) {
      finish(toError(err));
    }
  });
}

/**
 * Publishes numbered payloads one at a time (each acknowledged before the next is sent) at a
 * steady rate until stop(). A failed publish is retried on a fresh connection until it is
 * acknowledged, so a source outage delays messages but never skips one. A retry after a lost
 * ack may store a message twice on the source: compare against what the source holds.
 */
export function startLivePublisher(
  server: ServerRef,
  channel: string,
  opts: LivePublisherOptions = {},
): LivePublisher {
  const prefix = opts.prefix ?? "live";
  const intervalMs = 1000 / (opts.ratePerSec ?? 400);
  const ackTimeoutMs = opts.ackTimeoutMs ?? 2000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 30_000;
  const acked: Buffer[] = [];
  let retries = 0;
  let stopping = false;
  let stopDeadline = Infinity;
  let conn: Connection | undefined;

  const connect = async (): Promise<Connection> => {
    const client = await connectStan(server.url, server.clusterId, uniqueClientId("live"), {
      timeoutMs: 2000,
      // Our own retry loop reconnects; the library's transparent reconnect stays off.
      stanOptions: { reconnect: false, ackTimeout: ackTimeoutMs },
    });
    const fresh: Connection = { client, gone: false };
    client.on("disconnect", () => (fresh.gone = true));
    client.on("close", () => (fresh.gone = true));
    return fresh;
  };

  const dropConnection = (): void => {
    const old = conn;
    conn = undefined;
    if (old) {
      try {
        old.client.close();
      } catch {
        /* already closed */
      }
    }
  };

  const sendUntilAcked = async (payload: Buffer): Promise<void> => {
    for (;;) {
      try {
        conn ??= await connect();
        await publishOne(conn, channel, payload, ackTimeoutMs);
        return;
      } catch (err) {
        retries++;
        dropConnection();
        if (Date.now() > stopDeadline) {
          throw new Error(
            `live publisher: ${payload.toString()} not acked: ${toError(err).message}`,
          );
        }
        await delay(100);
      }
    }
  };

  const loop = (async (): Promise<void> => {
    let started = Date.now();
    for (let n = 0; !stopping; n++) {
      await sendUntilAcked(Buffer.from(`${prefix}-${n}`));
      acked.push(Buffer.from(`${prefix}-${n}`));
      // Steady pace; after an outage, resume the pace instead of bursting to catch up.
      const due = started + (n + 1) * intervalMs;
      const now = Date.now();
      if (now - due > 1000) started = now - (n + 1) * intervalMs;
      else if (due > now) await delay(due - now);
    }
  })();
  // Surfaced by stop(); keeps an early failure from being an unhandled rejection.
  loop.catch(() => undefined);

  return {
    ackedCount: () => acked.length,
    retries: () => retries,
    async waitForAcked(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (acked.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`live publisher: ${acked.length}/${count} acked within ${timeoutMs} ms`);
        }
        await delay(20);
      }
    },
    async stop() {
      stopping = true;
      stopDeadline = Math.min(stopDeadline, Date.now() + stopTimeoutMs);
      try {
        await loop;
      } finally {
        const last = conn;
        conn = undefined;
        if (last) await closeStan(last.client);
      }
      return acked;
    },
    async abort() {
      stopDeadline = 0;
      await this.stop().catch(() => undefined);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Reading a channel until it is complete

export interface ReadUntilOptions {
  /** Overall deadline; resolves with what arrived so far (assert on the result). */
  timeoutMs: number;
  /** Keep listening this long after the last expected payload arrived. Default 500 ms. */
  settleMs?: number;
}

/** A key that identifies a payload byte-exact. */
export function payloadKey(data: Buffer): string {
  return data.toString("base64");
}

/**
 * Reads `channel` from its first message and resolves with every message in arrival order
 * once each of `expected` arrived at least once (then `settleMs` more, to catch extra ones),
 * or at the deadline.
 */
export async function readUntilComplete(
  server: ServerRef,
  channel: string,
  expected: readonly Buffer[],
  opts: ReadUntilOptions,
): Promise<ReadMessage[]> {
  const missing = new Set(expected.map(payloadKey));
  return readAll(server.url, server.clusterId, channel, {
    timeoutMs: opts.timeoutMs,
    settleMs: opts.settleMs ?? 500,
    clientId: uniqueClientId("until"),
    retry: true,
    complete: (message) => {
      missing.delete(payloadKey(message.data));
      return missing.size === 0;
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Assertions

/** Asserts two id lists are equal, reporting the first difference with some context. */
export function assertSameOrder(actual: string[], expected: string[], what: string): void {
  const length = Math.min(actual.length, expected.length);
  let i = 0;
  while (i < length && actual[i] === expected[i]) i++;
  if (i === length && actual.length === expected.length) return;
  const around = (list: string[]): string => JSON.stringify(list.slice(Math.max(0, i - 3), i + 4));
  assert.fail(
    `${what}: first difference at index ${i} (actual ${actual.length} items, expected ` +
      `${expected.length}): actual ${around(actual)} vs expected ${around(expected)}`,
  );
}

export interface ReplicationCheck {
  /** Distinct payloads on the source. */
  sourceUnique: number;
  /** Messages on the target, repeats included. */
  targetTotal: number;
  /** Target messages that repeat an earlier one. */
  duplicates: number;
}

/**
 * Reads the source and the target channel and asserts: the source holds every acked payload,
 * and the target's first arrivals are exactly the source's first arrivals, in the same order
 * (nothing lost, nothing reordered, nothing foreign). Repeats on the target are counted.
 */
export async function assertReplicatedInOrder(
  source: ServerRef,
  target: ServerRef,
  channel: string,
  acked: readonly Buffer[],
  timeoutMs = 30_000,
): Promise<ReplicationCheck> {
  const onSource = await readUntilComplete(source, channel, acked, { timeoutMs, settleMs: 300 });
  const sourceOrder = firstArrivals(onSource.map((m) => m.data)).order;
  assertSameOrder(
    sourceOrder,
    acked.map((p) => p.toString()),
    "source holds every acked payload in publish order",
  );
  const sourcePayloads = onSource.map((m) => m.data);
  const onTarget = await readUntilComplete(target, channel, sourcePayloads, {
    timeoutMs,
    settleMs: 500,
  });
  const { order, duplicates } = firstArrivals(onTarget.map((m) => m.data));
  assertSameOrder(order, sourceOrder, "target first arrivals follow the source order");
  return { sourceUnique: sourceOrder.length, targetTotal: onTarget.length, duplicates };
}

// ---------------------------------------------------------------------------------------------
// Metrics

/** Sum of every sample of `metric` (exact name) whose labels include all of `labels`. */
export function metricSum(text: string, metric: string, labels: Record<string, string> = {}) {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== metric) continue;
    const labelText = match[2] ?? "";
    const ok = Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`));
    if (ok) sum += Number(match[3]);
  }
  return sum;
}

/** stream_replicator_copied_msgs summed over the topic's workers, read from /metrics. */
export async function copiedCount(proc: ReplicatorProcess, name: string): Promise<number> {
  const { body } = await proc.get("/metrics");
  return metricSum(body, "stream_replicator_copied_msgs", { name });
}

/** Polls /metrics (every 20 ms) until the topic copied at least `count` messages. */
export async function waitForCopied(
  proc: ReplicatorProcess,
  name: string,
  count: number,
  timeoutMs = 20_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const copied = await copiedCount(proc, name);
      if (copied >= count) return copied;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${name}: fewer than ${count} messages copied within ${timeoutMs} ms\n${proc
          .output()
          .slice(-3000)}`,
      );
    }
    await delay(20);
  }
}
