/**
 * A live publisher for fault tests on clusters: numbered payloads at a steady rate, pipelined
 * (up to `window` publishes awaiting their ack on one connection), so that 2,000 msg/s hold
 * against a 3-node raft cluster, where one publish at a time (./replication-helpers.ts
 * startLivePublisher) tops out near 1,200 msg/s on this machine.
 *
 * It rides out faults of the cluster it publishes to (leader elections, killed nodes): on the
 * first failed publish (error, no ack within `ackTimeoutMs`, or the connection lost) it stops
 * sending, lets the other publishes in flight settle, closes the connection and connects again
 * to the nodes running then, and publishes every failed payload again before new ones. So a
 * fault delays messages but never skips one. It may store a payload twice (its ack was lost)
 * and in an order other than its number (a failed publish is sent again after later ones
 * succeeded, as any at-least-once publisher does during an election): the source's order is
 * what it stored, so tests compare the target with what they read back from the source.
 */
import type { Stan } from "node-nats-streaming";
import { closeStan, connectStan, uniqueClientId } from "./stan-client";

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const TICK_MS = 5;

export interface PacedPublisherOptions {
  /** Payloads are `${prefix}-0`, `${prefix}-1`, ... Default "live". */
  prefix?: string;
  /** Messages per second. */
  ratePerSec: number;
  /** Publishes awaiting their ack at most. Default 256. */
  window?: number;
  /** A publish not acknowledged within this time counts as failed. Default 2 s. */
  ackTimeoutMs?: number;
  /** stop() rejects when not everything is acknowledged by then. Default 30 s. */
  stopTimeoutMs?: number;
}

export interface PacedPublisher {
  /** Distinct payloads acknowledged so far. */
  ackedCount(): number;
  /** Publishes that failed and were sent again. */
  retries(): number;
  /** Connections made after the first one. */
  reconnects(): number;
  /** Resolves once at least `count` payloads are acknowledged. */
  waitForAcked(count: number, timeoutMs: number): Promise<void>;
  /** Stops taking new numbers, publishes what failed until acknowledged; resolves with every
   * acknowledged payload in number order. */
  stop(): Promise<Buffer[]>;
  /** Stops at once (cleanup after a failed test). */
  abort(): Promise<void>;
}

interface Connection {
  client: Stan;
  gone: boolean;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === "string" ? err : JSON.stringify(err);
}

/**
 * Starts publishing to `channel` on the cluster whose client URLs `urls()` returns (asked
 * again at every connect, so a dead node is left out).
 */
export function startPacedPublisher(
  urls: () => string,
  clusterId: string,
  channel: string,
  opts: PacedPublisherOptions,
): PacedPublisher {
  const prefix = opts.prefix ?? "live";
  const window = opts.window ?? 256;
  const ackTimeoutMs = opts.ackTimeoutMs ?? 2000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 30_000;
  const acked = new Map<number, Buffer>();
  /** Numbers to publish again, in number order, before new ones. */
  let failed: number[] = [];
  let outstanding = 0;
  let issued = 0;
  let retries = 0;
  let reconnects = -1;
  let stopping = false;
  let aborted = false;
  let lastError = "";
  let conn: Connection | undefined;
  let broken = false;

  const connect = async (): Promise<Connection> => {
    const client = await connectStan(urls(), clusterId, uniqueClientId("paced"), {
      timeoutMs: 3000,
      stanOptions: { reconnect: false, ackTimeout: ackTimeoutMs, maxPubAcksInflight: window * 4 },
    });
    const fresh: Connection = { client, gone: false };
    client.on("disconnect", () => (fresh.gone = true));
    client.on("close", () => (fresh.gone = true));
    reconnects++;
    return fresh;
  };

  const payload = (n: number): Buffer => Buffer.from(`${prefix}-${n}`);

  const publish = (c: Connection, n: number): void => {
    outstanding++;
    let settled = false;
    const settle = (err?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outstanding--;
      if (err === undefined) {
        acked.set(n, payload(n));
        return;
      }
      lastError = err;
      retries++;
      broken = true;
      failed.push(n);
    };
    const timer = setTimeout(() => settle("ack timeout"), ackTimeoutMs + 500);
    try {
      c.client.publish(channel, payload(n), (err: unknown) => {
        // node-nats-streaming calls pending handlers without an error when the connection
        // closes: an ack after the connection was lost is no ack.
        if (err) settle(errorText(err));
        else if (c.gone) settle("connection lost before the ack");
        else settle();
      });
    } catch (err) {
      settle(errorText(err));
    }
  };

  const loop = (async (): Promise<void> => {
    let base = Date.now();
    let baseIssued = 0;
    while (!aborted) {
      if (stopping && failed.length === 0 && outstanding === 0) return;
      if (broken || conn?.gone) {
        // Let what is in flight settle, then start over on a fresh connection.
        if (outstanding > 0) {
          await delay(TICK_MS);
          continue;
        }
        const old = conn;
        conn = undefined;
        broken = false;
        if (old) void closeStan(old.client);
      }
      if (!conn) {
        try {
          conn = await connect();
        } catch (err) {
          lastError = errorText(err);
          await delay(200);
          continue;
        }
      }
      if (failed.length > 0) {
        failed.sort((a, b) => a - b);
        const again = failed;
        failed = [];
        for (const n of again) publish(conn, n);
      }
      // Steady pace; after an outage resume the pace instead of bursting to catch up.
      const due = baseIssued + Math.floor(((Date.now() - base) * opts.ratePerSec) / 1000);
      if (due - issued > opts.ratePerSec) {
        base = Date.now();
        baseIssued = issued;
      }
      while (!stopping && !broken && issued < due && outstanding < window) publish(conn, issued++);
      await delay(TICK_MS);
    }
  })();
  // Surfaced by stop(); keeps an early failure from being an unhandled rejection.
  loop.catch(() => undefined);

  return {
    ackedCount: () => acked.size,
    retries: () => retries,
    reconnects: () => Math.max(0, reconnects),
    async waitForAcked(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (acked.size < count) {
        if (Date.now() > deadline) {
          throw new Error(
            `paced publisher: ${acked.size}/${count} acked within ${timeoutMs} ms (last error: ${lastError || "none"})`,
          );
        }
        await delay(20);
      }
    },
    async stop() {
      stopping = true;
      const deadline = Date.now() + stopTimeoutMs;
      const done = loop.then(() => true);
      while (!(await Promise.race([done, delay(50).then(() => false)]))) {
        if (Date.now() > deadline) {
          aborted = true;
          throw new Error(
            `paced publisher: ${failed.length + outstanding} payloads not acked within ${stopTimeoutMs} ms (last error: ${lastError || "none"})`,
          );
        }
      }
      const last = conn;
      conn = undefined;
      if (last) await closeStan(last.client);
      return [...acked.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
    },
    async abort() {
      aborted = true;
      stopping = true;
      await loop.catch(() => undefined);
      const last = conn;
      conn = undefined;
      if (last) await closeStan(last.client);
    },
  };
}
