import { test } from "node:test";
import assert from "node:assert/strict";
import type { PublishOutcome, SessionEnd, TargetSession } from "../../src/replicator/ports";
import { AdvisoryChannel } from "../../src/sampling/advisory-channel";

/** A publisher session that records what it was given; `end()` ends it as a lost connection. */
class FakeSession implements TargetSession {
  readonly published: string[] = [];
  closed = false;
  fail = false;
  readonly ended: Promise<SessionEnd>;
  end!: () => void;

  constructor() {
    this.ended = new Promise(
      (resolve) => (this.end = () => resolve({ reason: "connection_lost" })),
    );
  }

  publish(subject: string, data: Buffer): Promise<PublishOutcome> {
    if (this.fail) return Promise.reject(new Error("publish failed"));
    this.published.push(`${subject} ${data.toString()}`);
    return Promise.resolve("stored");
  }

  maxPayloadFor(): number {
    return 1024;
  }

  close(): Promise<void> {
    this.closed = true;
    this.end();
    return Promise.resolve();
  }
}

/** A channel whose opens give the sessions in `sessions`, or reject where the entry is an Error. */
function setup(...sessions: (FakeSession | Error)[]) {
  let opens = 0;
  const channel = new AdvisoryChannel(() => {
    const next = sessions[opens++];
    if (next === undefined) throw new Error("no more sessions");
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  });
  return { channel, opens: () => opens };
}

const data = (s: string): Buffer => Buffer.from(s);

test("advisory channel - publishes every advisory on one session", async () => {
  const session = new FakeSession();
  const { channel, opens } = setup(session);
  await Promise.all([channel.publish("adv", data("1")), channel.publish("adv", data("2"))]);
  await channel.publish("adv", data("3"));
  assert.equal(opens(), 1);
  assert.deepEqual(session.published, ["adv 1", "adv 2", "adv 3"]);
});

test("advisory channel - opens a new session once the old one ended", async () => {
  const [first, second] = [new FakeSession(), new FakeSession()];
  const { channel, opens } = setup(first, second);
  await channel.publish("adv", data("1"));
  first.end();
  await first.ended;
  await channel.publish("adv", data("2"));
  assert.equal(opens(), 2);
  assert.deepEqual(first.published, ["adv 1"]);
  assert.deepEqual(second.published, ["adv 2"]);
});

test("advisory channel - a failed open rejects the publish; the next publish opens again", async () => {
  const session = new FakeSession();
  const { channel, opens } = setup(new Error("connection refused"), session);
  await assert.rejects(channel.publish("adv", data("1")), /connection refused/);
  await channel.publish("adv", data("2"));
  assert.equal(opens(), 2);
  assert.deepEqual(session.published, ["adv 2"]);
});

test("advisory channel - a failed publish rejects and keeps the session", async () => {
  const session = new FakeSession();
  const { channel, opens } = setup(session);
  session.fail = true;
  await assert.rejects(channel.publish("adv", data("1")), /publish failed/);
  session.fail = false;
  await channel.publish("adv", data("2"));
  assert.equal(opens(), 1);
  assert.deepEqual(session.published, ["adv 2"]);
});

test("advisory channel - close closes the open session, and is harmless without one", async () => {
  const session = new FakeSession();
  const { channel, opens } = setup(session);
  await channel.close();
  assert.equal(opens(), 0);
  await channel.publish("adv", data("1"));
  await channel.close();
  assert.equal(session.closed, true);
});
