/**
 * What a STAN session needs of a NATS connection. src/nats/connection.ts is the one the product
 * uses; the benchmark runs the same session over the official client for comparison
 * (bench/lib/official-nats.ts), which is why the session takes a dial function.
 */
import type { ConnectOptions, MessageHandler } from "../nats/connection";
import { NatsConnection } from "../nats/connection";

export type { ConnectOptions, MessageHandler };

export interface StanWire {
  /** Resolves once, when the connection is gone: with the error that ended it, if any. */
  readonly closed: Promise<Error | undefined>;
  /** Largest message the server accepts, from its INFO. */
  readonly maxPayload: number;
  /** A subject no other connection uses, for replies. */
  createInbox(): string;
  subscribe(subject: string, handler: MessageHandler): number;
  unsubscribe(sid: number): void;
  /** Queues a message; throws when the connection is closed or the payload too large. */
  publish(subject: string, data: Uint8Array, reply?: string): void;
  /**
   * Queues a message of `size` bytes that `fill` writes at `at`, returning the end offset.
   * With `replyId` >= 0 the reply subject is `reply` followed by its digits.
   */
  publishWith(
    subject: string,
    reply: string,
    size: number,
    fill: (out: Buffer, at: number) => number,
    replyId?: number,
  ): void;
  /** One request, one reply: rejects after `timeoutMs`. */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Buffer>;
  /** Writes what is queued, then closes; resolves when the socket is gone (bounded). */
  close(timeoutMs?: number): Promise<void>;
}

/** Connects once; rejects on any failure. */
export type DialWire = (options: ConnectOptions) => Promise<StanWire>;

export const dialNats: DialWire = (options) => NatsConnection.connect(options);
