import { test } from "node:test";
import assert from "node:assert/strict";
import { Limiter } from "../../src/sampling/limiter";
import type { Decision } from "../../src/sampling/limiter";
import { ConfigError } from "../../src/errors";
import { FakeClock } from "../support/fake-clock";

const AGE = 60_000;
const msg = (v: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify(v));
const from = (sender: string, extra: Record<string, unknown> = {}): Buffer =>
  msg({ sender, ...extra });

function setup(updateFlag?: string): { clock: FakeClock; limiter: Limiter } {
  const clock = new FakeClock();
  const limiter = new Limiter({ inspect: "sender", updateFlag, ageMs: AGE, clock });
  return { clock, limiter };
}

function copied(d: Decision): asserts d is Extract<Decision, { action: "copy" }> {
  assert.equal(d.action, "copy");
}

test("limiter - copies the first message of a value and tracks it", () => {
  const { clock, limiter } = setup();
  const d = limiter.decide(from("a"));
  copied(d);
  assert.equal(d.reason, "passed");
  assert.equal(d.value, "a");
  assert.ok(d.ticket);
  assert.equal(limiter.size, 1);
  assert.equal(limiter.lastCopied("a"), clock.now());
});

test("limiter - skips the same value within age and keeps the first copy time", () => {
  const { clock, limiter } = setup();
  const first = limiter.decide(from("a"));
  limiter.confirm(first.action === "copy" ? first.ticket : undefined);
  const t0 = clock.now();
  clock.advance(AGE - 1);
  const d = limiter.decide(from("a"));
  assert.deepEqual(d, { action: "skip", value: "a", lastCopiedMs: t0 });
  assert.equal(limiter.lastCopied("a"), t0);
  // other values are independent
  assert.equal(limiter.decide(from("b")).action, "copy");
});

test("limiter - passes a value again once age has elapsed", () => {
  const { clock, limiter } = setup();
  limiter.decide(from("a"));
  clock.advance(AGE);
  const d = limiter.decide(from("a"));
  copied(d);
  assert.equal(d.reason, "passed");
  assert.equal(limiter.lastCopied("a"), clock.now());
  clock.advance(1);
  assert.equal(limiter.decide(from("a")).action, "skip");
});

test("limiter - update_flag copies regardless of age and restarts the value's clock", () => {
  const { clock, limiter } = setup("update");
  limiter.decide(from("a"));
  clock.advance(10_000);
  const d = limiter.decide(from("a", { update: true }));
  copied(d);
  assert.equal(d.reason, "update_flag");
  assert.equal(d.value, "a");
  assert.ok(d.ticket);
  assert.equal(limiter.lastCopied("a"), clock.now());
  // age now counts from the forced copy
  clock.advance(AGE - 1);
  assert.equal(limiter.decide(from("a")).action, "skip");
  clock.advance(1);
  assert.equal(limiter.decide(from("a")).action, "copy");
});

test("limiter - update_flag false or absent does not force a copy", () => {
  const { limiter } = setup("update");
  limiter.decide(from("a"));
  assert.equal(limiter.decide(from("a", { update: false })).action, "skip");
  assert.equal(limiter.decide(from("a", { update: "no" })).action, "skip");
});

test("limiter - update_flag without the inspect key copies with no value", () => {
  const { limiter } = setup("update");
  assert.deepEqual(limiter.decide(msg({ update: true })), {
    action: "copy",
    reason: "update_flag",
  });
  assert.equal(limiter.size, 0);
});

test("limiter - messages that are not JSON are always copied as not_json", () => {
  const { limiter } = setup();
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(limiter.decide(Buffer.from("plain text")), {
      action: "copy",
      reason: "not_json",
    });
  }
  assert.deepEqual(limiter.decide(Buffer.from("{broken")), { action: "copy", reason: "not_json" });
  assert.equal(limiter.size, 0);
});

test("limiter - messages without the key are always copied as no_key", () => {
  const { limiter } = setup();
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(limiter.decide(msg({ other: 1 })), { action: "copy", reason: "no_key" });
  }
  assert.deepEqual(limiter.decide(msg({ sender: "" })), { action: "copy", reason: "no_key" });
  assert.equal(limiter.size, 0);
});

test("limiter - an in-flight claim skips a second message; release lets the next one through", () => {
  const { clock, limiter } = setup();
  const first = limiter.decide(from("a"));
  copied(first);
  assert.equal(limiter.decide(from("a")).action, "skip"); // first still in flight
  limiter.release(first.ticket); // its publish failed
  assert.equal(limiter.size, 0); // a new value is forgotten again
  assert.equal(limiter.pendingValues, 0);
  clock.advance(5);
  const retry = limiter.decide(from("a"));
  copied(retry);
  assert.equal(retry.reason, "passed");
});

test("limiter - release restores the previous last-copied time", () => {
  const { clock, limiter } = setup();
  const t0 = clock.now();
  const a = limiter.decide(from("a"));
  copied(a);
  limiter.confirm(a.ticket);
  clock.advance(AGE);
  const b = limiter.decide(from("a"));
  copied(b);
  limiter.release(b.ticket);
  assert.equal(limiter.lastCopied("a"), t0);
  assert.equal(limiter.decide(from("a")).action, "copy"); // t0 is older than age
});

test("limiter - a release after a newer claim does not clobber the newer one", () => {
  const { clock, limiter } = setup("update");
  const older = limiter.decide(from("a"));
  copied(older);
  clock.advance(100);
  const newer = limiter.decide(from("a", { update: true }));
  copied(newer);
  const tNewer = clock.now();
  limiter.release(older.ticket);
  assert.equal(limiter.lastCopied("a"), tNewer);
  clock.advance(1);
  assert.equal(limiter.decide(from("a")).action, "skip");
  // and if the newer one then fails too, nothing of either claim remains
  limiter.release(newer.ticket);
  assert.equal(limiter.lastCopied("a"), undefined);
  assert.equal(limiter.pendingValues, 0);
});

test("limiter - newer claim released first falls back to the older, still pending claim", () => {
  const { clock, limiter } = setup("update");
  const t0 = clock.now();
  const older = limiter.decide(from("a"));
  copied(older);
  clock.advance(100);
  const newer = limiter.decide(from("a", { update: true }));
  copied(newer);
  limiter.release(newer.ticket);
  assert.equal(limiter.lastCopied("a"), t0);
  limiter.release(older.ticket);
  assert.equal(limiter.lastCopied("a"), undefined);
});

test("limiter - claims in the same millisecond are told apart", () => {
  const { clock, limiter } = setup("update");
  const a = limiter.decide(from("a", { update: true }));
  const b = limiter.decide(from("a", { update: true }));
  copied(a);
  copied(b);
  limiter.confirm(b.ticket);
  limiter.release(a.ticket); // older, superseded by a confirmed claim: no effect
  assert.equal(limiter.lastCopied("a"), clock.now());
  assert.equal(limiter.pendingValues, 0);
});

test("limiter - settling a ticket twice or an undefined ticket is a no-op", () => {
  const { clock, limiter } = setup();
  const a = limiter.decide(from("a"));
  copied(a);
  limiter.confirm(a.ticket);
  limiter.release(a.ticket);
  limiter.confirm(undefined);
  limiter.release(undefined);
  assert.equal(limiter.lastCopied("a"), clock.now());
});

test("limiter - scrub removes values copied age or more ago, and abandoned claims", () => {
  const { clock, limiter } = setup();
  const a = limiter.decide(from("a")); // never settled
  clock.advance(AGE / 2);
  limiter.decide(from("b"));
  clock.advance(AGE / 2);
  assert.equal(limiter.scrub(), 1);
  assert.equal(limiter.size, 1);
  assert.equal(limiter.lastCopied("a"), undefined);
  assert.equal(limiter.lastCopied("b"), clock.now() - AGE / 2);
  assert.equal(limiter.pendingValues, 1);
  // a late release of the abandoned claim changes nothing
  limiter.release(a.action === "copy" ? a.ticket : undefined);
  assert.equal(limiter.size, 1);
});

test("limiter - entries and restore round-trip, dropping stale and clamping future times", () => {
  const { clock, limiter } = setup();
  limiter.decide(from("a"));
  clock.advance(1000);
  limiter.decide(from("b"));
  const saved = [...limiter.entries()];
  assert.deepEqual(saved.map(([v]) => v).sort(), ["a", "b"]);

  const other = setup();
  other.clock.set(clock.now());
  const now = clock.now();
  const kept = other.limiter.restore(
    [...saved, ["stale", now - AGE], ["future", now + 10_000]],
    now,
  );
  assert.equal(kept, 3);
  assert.equal(other.limiter.size, 3);
  assert.equal(other.limiter.lastCopied("stale"), undefined);
  assert.equal(other.limiter.lastCopied("future"), now);
  assert.equal(other.limiter.decide(from("b")).action, "skip");
});

test("limiter - rejects a non-positive age and a bad path", () => {
  const clock = new FakeClock();
  assert.throws(() => new Limiter({ inspect: "sender", ageMs: 0, clock }), ConfigError);
  assert.throws(() => new Limiter({ inspect: "a..b", ageMs: 1, clock }), ConfigError);
});
