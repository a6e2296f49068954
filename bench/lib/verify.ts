/**
 * After a run: reads the whole target channel and checks that every expected message arrived
 * (duplicates allowed) and, for ordered contenders, that first arrivals are in source order.
 *
 * Expected messages per phase are ids 0..expected-1; the limiter contender expects only the
 * first message of each sender (ids 0..senders-1, see payload.ts). Order is checked on one
 * index across phases: backlog id i is i, live id j is backlogExpected + j.
 */
import type { Message } from "node-nats-streaming";
import { closeStan } from "../../test/support/stan-client";
import { connect } from "./load";
import { decode } from "./payload";

export interface Expectation {
  backlog: number;
  live: number;
  ordered: boolean;
}

export interface Verification {
  ok: boolean;
  /** Messages read from the target channel. */
  read: number;
  distinct: number;
  expected: number;
  missing: number;
  duplicates: number;
  /** Messages that should not be on the target (e.g. the limiter should have skipped them). */
  unexpected: number;
  /** First arrivals that were not the next expected index (ordered contenders only). */
  outOfOrder: number;
  firstOutOfOrder?: string;
  /** Target store times (ms) of the first and last first-arrival of a backlog message. */
  backlogStoredFirstMs?: number;
  backlogStoredLastMs?: number;
  /** Distinct backlog messages on the target. */
  backlogDistinct: number;
  /** Why the run FAILED (lost or reordered messages). */
  problems: string[];
  /** Worth a look, not a failure (at least once still held). */
  warnings: string[];
}

export async function verifyTarget(
  url: string,
  clusterId: string,
  channel: string,
  targetMsgs: number,
  exp: Expectation,
): Promise<Verification> {
  const expected = exp.backlog + exp.live;
  const seen = new Uint8Array(expected);
  let read = 0;
  let distinct = 0;
  let duplicates = 0;
  let unexpected = 0;
  let outOfOrder = 0;
  let firstOutOfOrder: string | undefined;
  let backlogStoredFirstMs: number | undefined;
  let backlogStoredLastMs: number | undefined;
  let backlogDistinct = 0;
  await readChannel(url, clusterId, channel, targetMsgs, (m) => {
    read++;
    const d = decode(m.getRawData());
    const index =
      d === undefined
        ? -1
        : d.phase === "B"
          ? d.id < exp.backlog
            ? d.id
            : -1
          : d.id < exp.live
            ? exp.backlog + d.id
            : -1;
    if (index < 0) unexpected++;
    else if (seen[index]) duplicates++;
    else {
      if (exp.ordered && index !== distinct) {
        outOfOrder++;
        firstOutOfOrder ??= `seq ${m.getSequence()}: index ${index}, expected ${distinct}`;
      }
      seen[index] = 1;
      distinct++;
      if (index < exp.backlog) {
        backlogDistinct++;
        const storedMs = m.getTimestampRaw() / 1e6;
        backlogStoredFirstMs = Math.min(backlogStoredFirstMs ?? storedMs, storedMs);
        backlogStoredLastMs = Math.max(backlogStoredLastMs ?? storedMs, storedMs);
      }
    }
  });
  const missing = expected - distinct;
  const problems: string[] = [];
  if (read < targetMsgs) problems.push(`read ${read} of ${targetMsgs} target messages`);
  if (missing > 0) problems.push(`${missing} of ${expected} messages missing`);
  if (outOfOrder > 0) problems.push(`${outOfOrder} out of order (${firstOutOfOrder ?? ""})`);
  const warnings = unexpected > 0 ? [`${unexpected} messages on the target not expected`] : [];
  return {
    ok: problems.length === 0,
    read,
    distinct,
    expected,
    missing,
    duplicates,
    unexpected,
    outOfOrder,
    firstOutOfOrder,
    backlogStoredFirstMs,
    backlogStoredLastMs,
    backlogDistinct,
    problems,
    warnings,
  };
}

/**
 * Reads a channel from its first message with a client of its own, until `count` messages
 * were read or none came for 5 s.
 */
export async function readChannel(
  url: string,
  clusterId: string,
  channel: string,
  count: number,
  onMessage: (m: Message) => void,
): Promise<void> {
  const client = await connect(url, clusterId, "bench-verify");
  try {
    await new Promise<void>((resolve, reject) => {
      const opts = client.subscriptionOptions().setDeliverAllAvailable().setMaxInFlight(8192);
      const sub = client.subscribe(channel, opts);
      let read = 0;
      let idle: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearTimeout(idle);
        resolve();
      };
      const arm = (): void => {
        clearTimeout(idle);
        idle = setTimeout(finish, 5_000);
      };
      sub.once("error", reject);
      sub.once("timeout", reject);
      sub.once("ready", () => (count === 0 ? finish() : arm()));
      sub.on("message", (m: Message) => {
        onMessage(m);
        if (++read >= count) finish();
        else arm();
      });
    });
  } finally {
    await closeStan(client);
  }
}
