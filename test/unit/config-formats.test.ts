// The convict formats on their own: registration, and the phrases and edge cases the loader
// tests (config.test.ts) do not reach through a YAML file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { FORMATS, isRfc3339 } from "../../src/config/formats";
import type { SettingSchema } from "../../src/config/schema/setting";

/** The phrase `format` throws for `value`, or undefined when it accepts the value. */
function problem(
  format: string,
  value: unknown,
  entry: Partial<SettingSchema<unknown>> = {},
): string | undefined {
  const validator = FORMATS[format];
  assert.ok(validator, format);
  try {
    validator.validate(value, { doc: "", format, default: null, ...entry });
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

test("formats - importing src/config registers none; registerFormats() registers them", () => {
  // A fresh process: convict's format registry is global to it.
  const script = `
    const convict = require("convict");
    require("./src/config");
    const schema = { port: { format: "sr-port", default: 1 } };
    let before = "registered";
    try { convict(schema); } catch (err) { before = err.message; }
    require("./src/config/formats").registerFormats();
    convict(schema).validate();
    process.stdout.write(before);
  `;
  const out = execFileSync(process.execPath, ["--import", "tsx", "-e", script], {
    cwd: join(__dirname, "..", ".."),
    encoding: "utf8",
  });
  assert.equal(out, "'port' uses an unknown format type: sr-port");
});

test("formats - sr-text: blank text is empty, other types are not strings", () => {
  assert.equal(problem("sr-text", " \t"), "must not be empty");
  assert.equal(problem("sr-text", 5), "is not a string");
  assert.equal(problem("sr-text", null), "is required");
  assert.equal(problem("sr-text", "x"), undefined);
});

test("formats - sr-int: bounds are inclusive; a minimum alone reads 'less than'", () => {
  const bounded = { min: 1, max: 128 };
  assert.equal(problem("sr-int", 1, bounded), undefined);
  assert.equal(problem("sr-int", 128, bounded), undefined);
  assert.equal(problem("sr-int", 129, bounded), "is not between 1 and 128");
  assert.equal(problem("sr-int", 0, { min: 1 }), "is less than 1");
  assert.equal(problem("sr-int", 1.5, bounded), "is not an integer");
  assert.equal(problem("sr-int", -5), undefined);
});

test("formats - sr-duration: bounds are durations, inclusive, named as written", () => {
  const bounded = { min: "1s", max: "24h" };
  assert.equal(problem("sr-duration", "1s", bounded), undefined);
  assert.equal(problem("sr-duration", "24h", bounded), undefined);
  assert.equal(problem("sr-duration", "24h1ms", bounded), "is longer than 24h");
  assert.equal(problem("sr-duration", "999ms", bounded), "is shorter than 1s");
  assert.equal(problem("sr-duration", 30, bounded), "is not a duration (use e.g. 1h, 30m)");
});

test("formats - sr-nats-urls: nats:// and tls:// with a host, nothing after the port", () => {
  assert.equal(problem("sr-nats-urls", "tls://a:4222, b:4222"), undefined);
  assert.equal(problem("sr-nats-urls", "nats://a:4222/"), undefined);
  for (const url of ["nats://a:4222?x=1", "nats://a:4222#f", "nats://:4222", "ws://a:4222"]) {
    assert.equal(
      problem("sr-nats-urls", url),
      "is not a URL (use nats://host:port or tls://host:port)",
      url,
    );
  }
  assert.equal(
    problem("sr-nats-urls", ["nats://a:4222"]),
    "is not a string of comma-separated URLs",
  );
});

test("formats - sr-http-url: http and https only", () => {
  assert.equal(problem("sr-http-url", "https://source1:8222"), undefined);
  assert.equal(problem("sr-http-url", "http://source1:8222/base"), undefined);
  for (const value of ["ftp://source1", "source1:8222", 8222]) {
    assert.equal(problem("sr-http-url", value), "is not an http:// or https:// URL", String(value));
  }
});

const timestamps: Array<[string, boolean]> = [
  ["2024-02-29T00:00:00Z", true],
  ["2023-02-29T00:00:00Z", false],
  ["2024-04-31T00:00:00Z", false],
  ["2024-13-01T00:00:00Z", false],
  ["2024-05-01T23:59:60Z", true],
  ["2024-05-01T24:00:00Z", false],
  ["2024-05-01T12:00:00.123456+05:30", true],
  ["2024-05-01t12:00:00Z", false],
  ["2024-05-01T12:00:00", false],
  ["2024-05-01 12:00:00Z", false],
];

for (const [text, valid] of timestamps) {
  test(`formats - isRfc3339(${JSON.stringify(text)}) is ${valid}`, () => {
    assert.equal(isRfc3339(text), valid);
  });
}
