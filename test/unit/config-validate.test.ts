// The convict adapter with a schema of its own: what any new block (a topic's sub-block, a
// target's settings) gets from validateBlock without a line of its own code.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Schema } from "../../src/config/schema/setting";
import { show, validateBlock } from "../../src/config/validate";
import type { Mapping } from "../../src/config/validate";

interface RawBlock {
  subject: string;
  replicas: number;
  max_age: string | null;
  password: string | null;
}

const schema: Schema<RawBlock> = {
  subject: { doc: "", format: "sr-text", default: null },
  replicas: { doc: "", format: "sr-int", default: 1, min: 1, max: 5 },
  max_age: { doc: "", format: "sr-duration", default: null, nullable: true },
  password: { doc: "", format: "sr-text", default: null, nullable: true, sensitive: true },
};

/** The block's values, or the `<key>: <problem>` line it fails with. */
function check(input: Mapping): RawBlock | string {
  try {
    return validateBlock<RawBlock>(schema, input, (key, problem) => {
      throw new Error(`${key}: ${problem}`);
    });
  } catch (err) {
    return (err as Error).message;
  }
}

test("validate - values, defaults and null for what is not given", () => {
  assert.deepEqual(check({ subject: "a.b", max_age: "" }), {
    subject: "a.b",
    replicas: 1,
    max_age: null,
    password: null,
  });
});

test("validate - each problem is one line: key, value as written, predicate", () => {
  assert.equal(check({}), "subject: is required");
  assert.equal(check({ subject: "a", replicas: 9 }), "replicas: 9 is not between 1 and 5");
  assert.equal(
    check({ subject: "a", max_age: "1 day" }),
    'max_age: "1 day" is not a duration (use e.g. 1h, 30m)',
  );
  assert.equal(
    check({ subject: "a", replica: 2 }),
    "replica: is not a known setting (did you mean replicas?)",
  );
  assert.equal(check({ subject: "a", password: 5 }), "password: is not a string");
});

test("validate - show() masks URL credentials and shortens long values to 80 characters", () => {
  assert.equal(
    show("nats://u:pw@h:4222,nats://tok@h:4223"),
    '"nats://u:***@h:4222,nats://***@h:4223"',
  );
  const long = show("x".repeat(200));
  assert.equal(long.length, 80);
  assert.equal(long, `"${"x".repeat(76)}...`);
});
