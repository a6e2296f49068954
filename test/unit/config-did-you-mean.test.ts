import { test } from "node:test";
import assert from "node:assert/strict";
import { didYouMean } from "../../src/config/did-you-mean";

const KEYS = ["age", "queued", "queue_group", "target_url", "target_topic"];

const cases: Array<[string, string | undefined]> = [
  ["agee", "age"], // one insertion
  ["ag", "age"], // one deletion
  ["aeg", "age"], // a swap is two substitutions
  ["queue", "queued"],
  ["targt_url", "target_url"],
  ["target_urll", "target_url"],
  ["workers", undefined], // nothing within two edits
  ["ageing", undefined], // three edits
  ["", undefined],
];

for (const [key, expected] of cases) {
  test(`did you mean - ${JSON.stringify(key)} suggests ${String(expected)}`, () => {
    assert.equal(didYouMean(key, KEYS), expected);
  });
}

test("did you mean - the closest key wins, and the first of equally close ones", () => {
  assert.equal(didYouMean("cat", ["cut", "car"]), "cut");
  assert.equal(didYouMean("cart", ["cut", "car"]), "car");
  assert.equal(didYouMean("x", []), undefined);
});
