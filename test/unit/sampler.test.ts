import { test } from "node:test";
import assert from "node:assert/strict";
import { Limiter } from "../../src/sampling/limiter";
import { createSampler } from "../../src/sampling/sampler";
import { FakeClock } from "../support/fake-clock";

const AGE = 60_000;

function setup() {
  const clock = new FakeClock();
  const limiter = new Limiter({ inspect: "sender", updateFlag: "update", ageMs: AGE, clock });
  const seen: string[] = [];
  const sampler = createSampler(limiter, (value) => seen.push(value));
  return { clock, limiter, seen, sampler };
}

const msg = (o: object): Buffer => Buffer.from(JSON.stringify(o));

test("sampler - the first message of a value is copied, the next within the age is skipped", () => {
  const { clock, limiter, sampler } = setup();
  const first = sampler.decide(msg({ sender: "a" }));
  assert.equal(first.copy, true);
  assert.ok(first.copy && first.reason === "passed" && first.confirm && first.release);
  first.confirm();
  assert.equal(limiter.lastCopied("a"), clock.now());
  clock.advance(AGE - 1);
  assert.deepEqual(sampler.decide(msg({ sender: "a" })), { copy: false });
  clock.advance(1);
  assert.equal(sampler.decide(msg({ sender: "a" })).copy, true);
});

test("sampler - release undoes the claim, so the value's next message is copied", () => {
  const { limiter, sampler } = setup();
  const first = sampler.decide(msg({ sender: "a" }));
  assert.ok(first.copy && first.release);
  first.release();
  assert.equal(limiter.size, 0);
  assert.equal(sampler.decide(msg({ sender: "a" })).copy, true);
});

test("sampler - the update flag copies within the age, with confirm and release", () => {
  const { sampler } = setup();
  const first = sampler.decide(msg({ sender: "a" }));
  assert.ok(first.copy);
  first.confirm?.();
  const flagged = sampler.decide(msg({ sender: "a", update: true }));
  assert.ok(flagged.copy && flagged.reason === "update_flag" && flagged.confirm);
});

test("sampler - messages without a value pass with their reason and nothing to settle", () => {
  const { sampler } = setup();
  assert.deepEqual(sampler.decide(Buffer.from("not json")), { copy: true, reason: "not_json" });
  assert.deepEqual(sampler.decide(msg({ other: 1 })), { copy: true, reason: "no_key" });
  assert.deepEqual(sampler.decide(msg({ update: true })), { copy: true, reason: "update_flag" });
});

test("sampler - seen gets the value of every message that has one, copied or skipped", () => {
  const { sampler, seen } = setup();
  for (const m of [{ sender: "a" }, { sender: "a" }, { other: 1 }, { sender: "b" }]) {
    const d = sampler.decide(msg(m));
    if (d.copy) d.confirm?.();
  }
  sampler.decide(Buffer.from("[]"));
  assert.deepEqual(seen, ["a", "a", "b"]);
});

test("sampler - works without a seen callback", () => {
  const limiter = new Limiter({ inspect: "sender", ageMs: AGE, clock: new FakeClock() });
  const sampler = createSampler(limiter);
  assert.equal(sampler.decide(msg({ sender: "a" })).copy, true);
  assert.equal(sampler.decide(msg({ sender: "a" })).copy, false);
});
