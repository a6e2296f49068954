// The set of acknowledged sequences: ranges that grow with in-order adds, join on gaps filled,
// and forget the oldest beyond their bound.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { RangeSet } from "../../src/replicator/range-set";

test("range set - in-order adds make one range; membership at the edges", () => {
  const s = new RangeSet();
  for (let n = 5; n <= 1000; n++) s.add(n);
  assert.equal(s.ranges, 1);
  assert.equal(s.has(4), false);
  assert.equal(s.has(5), true);
  assert.equal(s.has(1000), true);
  assert.equal(s.has(1001), false);
});

test("range set - gaps make ranges, filling a gap joins them", () => {
  const s = new RangeSet();
  for (const n of [1, 2, 3, 7, 8, 5]) s.add(n);
  assert.equal(s.ranges, 3);
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => s.has(n)),
    [true, true, true, false, true, false, true, true, false],
  );
  s.add(4);
  s.add(6);
  assert.equal(s.ranges, 1);
});

test("range set - agrees with a plain Set for any adds (property)", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 400 }), (adds) => {
      const s = new RangeSet();
      const reference = new Set<number>();
      for (const n of adds) {
        s.add(n);
        reference.add(n);
      }
      for (let n = -1; n <= 301; n++) assert.equal(s.has(n), reference.has(n), `n=${n}`);
    }),
  );
});

test("range set - beyond its bound the oldest ranges are forgotten", () => {
  const s = new RangeSet(3);
  for (const n of [1, 3, 5, 7]) s.add(n);
  assert.equal(s.ranges, 3);
  assert.equal(s.has(1), false);
  assert.equal(s.has(7), true);
});

test("range set - bounded: never claims what was not added, forgets the lowest ranges first (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 300 }),
      (bound, adds) => {
        const s = new RangeSet(bound);
        const added = new Set<number>();
        let highest = -1;
        for (const n of adds) {
          s.add(n);
          added.add(n);
          highest = Math.max(highest, n);
          assert.ok(s.ranges <= bound, `${s.ranges} ranges > ${bound}`);
          assert.equal(s.has(highest), true, `the highest, ${highest}, is kept`);
        }
        for (let n = -1; n <= 201; n++) if (s.has(n)) assert.ok(added.has(n), `n=${n}`);
      },
    ),
  );
});

test("range set - a queued worker's scattered sequences: the oldest forgotten, the newest kept", () => {
  const s = new RangeSet(100);
  for (let n = 0; n < 100_000; n += 4) s.add(n);
  assert.equal(s.ranges, 100);
  assert.equal(s.has(99_996), true);
  assert.equal(s.has(99_996 - 4 * 99), true);
  assert.equal(s.has(99_996 - 4 * 100), false);
});
