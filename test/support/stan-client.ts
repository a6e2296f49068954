// Test-side STAN clients, using node-nats-streaming (0.3.2) directly: connect, publish many
// messages with every ack awaited, read a channel back, and poll with a deadline.
//
// node-nats-streaming specifics handled here:
// - connect failures arrive as an 'error' event (then 'close'), never as a throw; an 'error'
//   event without a listener would crash the test process, so every client gets one;
// - a publish ack error may be a string, not an Error;
// - when more than maxPubAcksInflight acks are pending, publish() reports an error to the
//   callback *and still publishes* (the callback then runs twice), so publishAll keeps its own
//   window far below that limit;
// - messages can arrive before the subscription's 'ready' event; a subscribe request that gets
//   no answer emits 'timeout', not 'error';
// - getRawData() is the payload as bytes; a comma-separated URL is not split by the client, and
//   `servers` without `url` also tries the default nats://localhost:4222 first.
import { randomUUID } from "node:crypto";
import { connect } from "node-nats-streaming";
import type { Message, Stan, StanOptions } from "node-nats-streaming";

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_PUBLISH_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_OUTSTANDING = 1000;
const DEFAULT_IDLE_MS = 1000;
const CLOSE_TIMEOUT_MS = 3000;

export type StanClient = Stan;

export interface ConnectOptions {
  /** Overall deadline for connecting, retries included. Default 10 s. */
  timeoutMs?: number;
  /** Keep retrying failed attempts until the deadline (e.g. during a leader election). */
  retry?: boolean;
  /** Extra client options (ackTimeout, reconnect, maxReconnectAttempts, ...). */
  stanOptions?: StanOptions;
}

export function uniqueClientId(prefix = "test"): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

function toError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new Error(typeof err === "string" ? err : JSON.stringify(err));
}

function connectOnce(
  url: string,
  clusterId: string,
  clientId: string,
  timeoutMs: number,
  stanOptions: StanOptions,
): Promise<Stan> {
  const servers = url
    .split(",")
    .map((u) => u.trim())
    .filter((u) => u.length > 0);
  const [first, ...rest] = servers;
  // node-nats-streaming defaults `url` to nats://localhost:4222, and node-nats tries `url` before
  // `servers`: always pass the first URL as `url`, or the client may reach a stranger on 4222.
  const where = rest.length > 0 ? { url: first, servers: rest } : { url: first };
  return new Promise((resolve, reject) => {
    const client = connect(clusterId, clientId, {
      ...where,
      connectTimeout: Math.min(timeoutMs, 5000),
      ...stanOptions,
    });
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.close();
      reject(toError(err));
    };
    const timer = setTimeout(
      () => fail(new Error(`connect to ${url} as ${clientId}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    // Keeps later errors (e.g. a lost server) from becoming uncaught 'error' events.
    client.on("error", (err: unknown) => fail(err));
    client.once("close", () => fail(new Error(`connect to ${url} as ${clientId}: closed`)));
    client.once("connect", () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(client);
    });
  });
}

/** A client connected to `url` (one URL or a comma-separated list). */
export async function connectStan(
  url: string,
  clusterId: string,
  clientId: string = uniqueClientId(),
  opts: ConnectOptions = {},
): Promise<Stan> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = Math.max(deadline - Date.now(), 1);
    try {
      return await connectOnce(url, clusterId, clientId, left, opts.stanOptions ?? {});
    } catch (err) {
      if (!opts.retry || Date.now() + 250 >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Closes the client and waits for its 'close' event (bounded: the server may be gone). */
export function closeStan(client: Stan): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    client.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    client.close();
  });
}

export interface PublishAllOptions {
  /** Publish with this connected client instead of a new one (it is left open). */
  client?: Stan;
  clientId?: string;
  /** At most this many publishes awaiting their ack. Default 1000. */
  maxOutstanding?: number;
  /** Deadline for all acks. Default 30 s. */
  timeoutMs?: number;
}

/** The payloads publishAll sends for a count: "msg-0", "msg-1", ... */
export function numberedPayloads(count: number, prefix = "msg"): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.from(`${prefix}-${i}`));
}

/**
 * Publishes every payload (or `count` numbered payloads) in order on one connection, pipelined,
 * and resolves with the payloads once every publish is acknowledged. Rejects on the first ack
 * error or at the deadline.
 */
export async function publishAll(
  url: string,
  clusterId: string,
  channel: string,
  payloads: Buffer[] | number,
  opts: PublishAllOptions = {},
): Promise<Buffer[]> {
  const messages = typeof payloads === "number" ? numberedPayloads(payloads) : payloads;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  const client =
    opts.client ??
    (await connectStan(url, clusterId, opts.clientId ?? uniqueClientId("pub"), {
      timeoutMs,
      stanOptions: { ackTimeout: timeoutMs },
    }));
  try {
    await pipelinePublish(
      client,
      channel,
      messages,
      opts.maxOutstanding ?? DEFAULT_MAX_OUTSTANDING,
      timeoutMs,
    );
  } finally {
    if (!opts.client) await closeStan(client);
  }
  return messages;
}

function pipelinePublish(
  client: Stan,
  channel: string,
  messages: Buffer[],
  maxOutstanding: number,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let acked = 0;
    let outstanding = 0;
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () =>
        finish(
          new Error(
            `publish to ${channel}: ${acked}/${messages.length} acked within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
    const pump = (): void => {
      while (!done && outstanding < maxOutstanding && next < messages.length) {
        const index = next++;
        outstanding++;
        client.publish(channel, messages[index], (err: unknown) => {
          if (done) return;
          outstanding--;
          if (err) {
            finish(new Error(`publish #${index} to ${channel} failed: ${toError(err).message}`));
            return;
          }
          acked++;
          if (acked === messages.length) finish();
          else pump();
        });
      }
    };
    if (messages.length === 0) finish();
    else pump();
  });
}

export interface ReadMessage {
  seq: number;
  data: Buffer;
  /** Milliseconds since the epoch (the server's nanosecond timestamp, rounded). */
  timestamp: number;
  redelivered: boolean;
}

export interface ReadAllOptions {
  /** Resolve as soon as this many messages arrived. */
  expect?: number;
  /** Resolve once this returns true for an arrived message (called for each, in order). */
  complete?: (message: ReadMessage) => boolean;
  /** Retry connecting until the deadline (the server may be restarting). */
  retry?: boolean;
  /** Overall deadline; resolves with what arrived so far (assert on the count). */
  timeoutMs: number;
  /** Without `expect`: resolve after this long without a new message. Default 1 s. */
  idleMs?: number;
  /** After `expect` or `complete` is reached, keep listening this long to catch extra messages. Default 0. */
  settleMs?: number;
  clientId?: string;
  /** Extra client options (tls, user/pass, token, ...). */
  stanOptions?: StanOptions;
}

/**
 * Reads a channel from its first available message with a non-durable subscription and returns
 * the messages in arrival order.
 */
export async function readAll(
  url: string,
  clusterId: string,
  channel: string,
  opts: ReadAllOptions,
): Promise<ReadMessage[]> {
  const deadline = Date.now() + opts.timeoutMs;
  const client = await connectStan(url, clusterId, opts.clientId ?? uniqueClientId("read"), {
    timeoutMs: opts.timeoutMs,
    stanOptions: opts.stanOptions,
    retry: opts.retry,
  });
  try {
    return await collect(client, channel, opts, deadline);
  } finally {
    await closeStan(client);
  }
}

function collect(
  client: Stan,
  channel: string,
  opts: ReadAllOptions,
  deadline: number,
): Promise<ReadMessage[]> {
  return new Promise((resolve, reject) => {
    const received: ReadMessage[] = [];
    const idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
    let idleTimer: NodeJS.Timeout | undefined;
    let done = false;
    let settling = false;
    const waitsForIdle = opts.expect === undefined && opts.complete === undefined;
    const isComplete = (m: ReadMessage): boolean =>
      opts.complete ? opts.complete(m) : received.length === opts.expect;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(deadlineTimer);
      clearTimeout(idleTimer);
      if (err) reject(err);
      else resolve(received);
    };
    const deadlineTimer = setTimeout(() => finish(), Math.max(deadline - Date.now(), 1));
    const armIdle = (): void => {
      if (!waitsForIdle) return;
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => finish(), idleMs);
    };

    const subOpts = client.subscriptionOptions().setDeliverAllAvailable().setMaxInFlight(1024);
    const sub = client.subscribe(channel, subOpts);
    sub.on("error", (err: unknown) => finish(toError(err)));
    sub.on("timeout", (err: unknown) => finish(toError(err)));
    sub.on("ready", armIdle);
    sub.on("message", (msg: Message) => {
      if (done) return;
      const message: ReadMessage = {
        seq: msg.getSequence(),
        data: Buffer.from(msg.getRawData()),
        timestamp: msg.getTimestamp().getTime(),
        redelivered: msg.isRedelivered(),
      };
      received.push(message);
      if (!settling && isComplete(message)) {
        settling = true;
        if (opts.settleMs) setTimeout(() => finish(), opts.settleMs);
        else finish();
      }
      armIdle();
    });
  });
}

export interface WaitForOptions {
  timeoutMs: number;
  /** Default 50 ms. */
  intervalMs?: number;
  /** Describes what was awaited, for the timeout error. */
  message?: string;
}

/**
 * Polls `predicate` until it returns a truthy value (which is returned) or the deadline passes
 * (throws, with the last error the predicate threw, if any).
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  opts: WaitForOptions,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + opts.timeoutMs;
  const intervalMs = opts.intervalMs ?? 50;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const what = opts.message ?? "condition";
      const cause = lastError === undefined ? "" : `: last error: ${toError(lastError).message}`;
      throw new Error(`waitFor: ${what} not met within ${opts.timeoutMs} ms${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
