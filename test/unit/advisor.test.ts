import { test } from "node:test";
import assert from "node:assert/strict";
import { AGE_ADVISORY_SCHEMA, Advisor, checkIntervalMs } from "../../src/sampling/advisor";
import type { AdvisoryEvent } from "../../src/sampling/advisor";
import { Limiter } from "../../src/sampling/limiter";
import { TimeColumn } from "../../src/value-table/time-column";
import { ValueTable } from "../../src/value-table/value-table";
import { FakeClock } from "../support/fake-clock";

const ADVISORY = 60_000;
const EXPIRE = 300_000;

function setup(
  advisoryAgeMs = ADVISORY,
  expireAgeMs = EXPIRE,
): { clock: FakeClock; advisor: Advisor } {
  const clock = new FakeClock();
  const advisor = new Advisor({
    inspect: "sender",
    advisoryAgeMs,
    expireAgeMs,
    replicator: "cmdb",
    clock,
  });
  return { clock, advisor };
}

const kinds = (events: readonly AdvisoryEvent[]): string[] =>
  events.map((e) => `${e.event}:${e.value}`);

test("advisor - a first sighting and sightings within the advisory age emit nothing", () => {
  const { clock, advisor } = setup();
  assert.deepEqual(advisor.seen("a"), []);
  clock.advance(ADVISORY - 1);
  assert.deepEqual(advisor.check(), []);
  assert.deepEqual(advisor.seen("a"), []);
  clock.advance(ADVISORY - 1);
  assert.deepEqual(advisor.check(), []);
  assert.equal(advisor.size, 1);
});

test("advisor - timeout once after the advisory age, with the exact wire fields", () => {
  const { clock, advisor } = setup();
  const t0 = clock.now();
  advisor.seen("a");
  clock.advance(ADVISORY + 500);
  const events = advisor.check();
  assert.deepEqual(events, [
    {
      $schema: AGE_ADVISORY_SCHEMA,
      inspect: "sender",
      value: "a",
      age: 60,
      seen: t0 / 1000,
      timestamp: t0 / 1000 + 60,
      replicator: "cmdb",
      event: "timeout",
    },
  ]);
  assert.equal(AGE_ADVISORY_SCHEMA, "https://choria.io/schemas/sr/v1/age_advisory.json");
  assert.deepEqual(Object.keys(events[0] ?? {}), [
    "$schema",
    "inspect",
    "value",
    "age",
    "seen",
    "timestamp",
    "replicator",
    "event",
  ]);
  clock.advance(10_000);
  assert.deepEqual(advisor.check(), []); // not repeated
  assert.equal(advisor.timedOutCount, 1);
});

test("advisor - timeout then recover when seen again before expiry", () => {
  const { clock, advisor } = setup();
  advisor.seen("a");
  clock.advance(ADVISORY);
  assert.deepEqual(kinds(advisor.check()), ["timeout:a"]);
  clock.advance(30_000);
  const recover = advisor.seen("a");
  assert.deepEqual(kinds(recover), ["recover:a"]);
  assert.equal(recover[0]?.age, 90); // since the previous sighting
  assert.equal(advisor.timedOutCount, 0);
  // a new absence gets a new timeout
  clock.advance(ADVISORY);
  assert.deepEqual(kinds(advisor.check()), ["timeout:a"]);
});

test("advisor - timeout then expire, after which the value is forgotten", () => {
  const { clock, advisor } = setup();
  advisor.seen("a");
  advisor.seen("b");
  clock.advance(ADVISORY);
  assert.deepEqual(kinds(advisor.check()), ["timeout:a", "timeout:b"]);
  clock.advance(EXPIRE - ADVISORY - 1);
  advisor.seen("b");
  clock.advance(1);
  const events = advisor.check();
  assert.deepEqual(kinds(events), ["expire:a"]);
  assert.equal(events[0]?.age, EXPIRE / 1000);
  assert.equal(advisor.size, 1);
  clock.advance(EXPIRE);
  advisor.check();
  // seen after being forgotten: a fresh start, no recover
  assert.deepEqual(advisor.seen("a"), []);
});

test("advisor - timeout precedes expire when check runs late", () => {
  const { clock, advisor } = setup();
  advisor.seen("a");
  clock.advance(EXPIRE + 123_000);
  const events = advisor.check();
  assert.deepEqual(kinds(events), ["timeout:a", "expire:a"]);
  assert.equal(events[0]?.age, 423);
  assert.equal(advisor.size, 0);
  assert.equal(advisor.timedOutCount, 0);
});

test("advisor - seen after a missed timeout check reports timeout then recover", () => {
  const { clock, advisor } = setup();
  advisor.seen("x");
  clock.advance(ADVISORY + 1);
  assert.deepEqual(kinds(advisor.seen("x")), ["timeout:x", "recover:x"]);
  assert.deepEqual(advisor.check(), []);
});

test("advisor - seen after a missed expiry check reports timeout then expire and starts afresh", () => {
  const { clock, advisor } = setup();
  advisor.seen("y");
  clock.advance(EXPIRE);
  assert.deepEqual(kinds(advisor.seen("y")), ["timeout:y", "expire:y"]);
  assert.deepEqual(advisor.seen("y"), []);
  assert.equal(advisor.size, 1);
});

test("advisor - timed out, then seen after expiry without a check: only the expire is left", () => {
  const { clock, advisor } = setup();
  advisor.seen("z");
  clock.advance(ADVISORY);
  assert.deepEqual(kinds(advisor.check()), ["timeout:z"]);
  clock.advance(EXPIRE);
  assert.deepEqual(kinds(advisor.seen("z")), ["expire:z"]);
  assert.equal(advisor.timedOutCount, 0);
  assert.deepEqual(advisor.check(), []);
});

test("advisor - when the advisory age is not shorter than expiry, timeout and expire come together", () => {
  const { clock, advisor } = setup(EXPIRE, EXPIRE / 2);
  advisor.seen("a");
  clock.advance(EXPIRE / 2 - 1);
  assert.deepEqual(advisor.check(), []);
  clock.advance(1);
  assert.deepEqual(kinds(advisor.check()), ["timeout:a", "expire:a"]);
});

test("advisor - an infinite expiry never expires", () => {
  const { clock, advisor } = setup(ADVISORY, Infinity);
  advisor.seen("a");
  clock.advance(ADVISORY);
  assert.deepEqual(kinds(advisor.check()), ["timeout:a"]);
  clock.advance(365 * 86_400_000);
  assert.deepEqual(advisor.check(), []);
  assert.deepEqual(kinds(advisor.seen("a")), ["recover:a"]);
});

test("advisor - restore keeps fresh entries and drops expired ones", () => {
  const { clock, advisor } = setup();
  const now = clock.now();
  const kept = advisor.restore(
    [
      ["fresh", now - 1000],
      ["quiet", now - ADVISORY - 1],
      ["gone", now - EXPIRE],
      ["future", now + 5000],
    ],
    now,
  );
  assert.equal(kept, 3);
  assert.deepEqual(
    [...advisor.entries()].map(([v]) => v),
    ["fresh", "quiet", "future"],
  );
  assert.deepEqual(kinds(advisor.check()), ["timeout:quiet"]);
  assert.deepEqual(advisor.seen("gone"), []);
});

test("advisor - checkIntervalMs: 30 s, a quarter of the shorter age, at least 1 s, explicit wins", () => {
  assert.equal(checkIntervalMs(3_600_000, 7_200_000), 30_000);
  assert.equal(checkIntervalMs(60_000, 300_000), 15_000);
  assert.equal(checkIntervalMs(600_000, 40_000), 10_000);
  assert.equal(checkIntervalMs(2_000, 300_000), 1_000);
  assert.equal(checkIntervalMs(60_000, Infinity), 15_000);
  assert.equal(checkIntervalMs(60_000, 300_000, 5_000), 5_000);
});

test("advisor - rejects non-positive ages", () => {
  const clock = new FakeClock();
  const base = { inspect: "s", replicator: "r", clock };
  assert.throws(() => new Advisor({ ...base, advisoryAgeMs: 0, expireAgeMs: 1 }), RangeError);
  assert.throws(() => new Advisor({ ...base, advisoryAgeMs: 1, expireAgeMs: -1 }), RangeError);
});

test("advisor - sharing a table with the limiter, each keeps its own times", () => {
  const clock = new FakeClock();
  const table = new ValueTable({ columns: 2 });
  const limiter = new Limiter({
    inspect: "sender",
    ageMs: EXPIRE,
    clock,
    values: new TimeColumn(table, 0),
  });
  const advisor = new Advisor({
    inspect: "sender",
    advisoryAgeMs: ADVISORY,
    expireAgeMs: EXPIRE,
    replicator: "cmdb",
    clock,
    values: new TimeColumn(table, 1),
  });
  const t0 = clock.now();
  const d = limiter.decide(Buffer.from('{"sender":"a"}'));
  advisor.seen("a");
  assert.equal(table.size, 1, "the name is stored once");
  // The publish failed: the limiter forgets the new value, the advisor still saw it.
  limiter.release(d.action === "copy" ? d.ticket : undefined);
  assert.equal(limiter.size, 0);
  assert.equal(advisor.size, 1);
  clock.advance(ADVISORY);
  assert.deepEqual(kinds(advisor.check()), ["timeout:a"]);
  assert.equal(advisor.timedOutCount, 1);
  assert.equal(limiter.decide(Buffer.from('{"sender":"a"}')).action, "copy");
  assert.equal(limiter.lastCopied("a"), t0 + ADVISORY);
  clock.advance(EXPIRE);
  assert.deepEqual(kinds(advisor.check()), ["expire:a"]);
  assert.equal(advisor.timedOutCount, 0);
  assert.equal(limiter.lastCopied("a"), t0 + ADVISORY, "the limiter's time outlives the advisor's");
  assert.equal(limiter.scrub(), 1);
  assert.equal(table.size, 0);
});
