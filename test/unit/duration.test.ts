import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDuration } from "../../src/config/duration";

const valid: Array<[string, number]> = [
  ["1h", 3_600_000],
  ["30m", 1_800_000],
  ["1h30m", 5_400_000],
  ["500ms", 500],
  ["10s", 10_000],
  ["1.5h", 5_400_000],
  ["1.1s", 1100],
  [".5s", 500],
  ["1m30s", 90_000],
  ["2h45m30.5s", 9_930_500],
  ["250us", 0.25],
  ["250\u00b5s", 0.25],
  ["1500000ns", 1.5],
  ["0", 0],
  ["0s", 0],
];

for (const [text, ms] of valid) {
  test(`duration - parses ${JSON.stringify(text)} as ${ms} ms`, () => {
    assert.equal(parseDuration(text), ms);
  });
}

const invalid = [
  "",
  "1 hour",
  "10",
  "-1s",
  "+1s",
  "1d",
  "1H",
  "h",
  "1h ",
  " 1h",
  "1h 30m",
  "1..5h",
  "1e3s",
  "30 m",
  "ms",
  ".s",
  "1hh",
  "99999999999999999999h",
];

for (const text of invalid) {
  test(`duration - rejects ${JSON.stringify(text)}`, () => {
    assert.equal(parseDuration(text), undefined);
  });
}
