// How `stream-replicator advisories` shows one advisory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { advisoryLine, advisoryValue, formatAge } from "../../src/cli/advisory-line";
import { parseArgs } from "../../src/cli/args";

const doc = JSON.stringify({
  $schema: "https://choria.io/schemas/sr/v1/age_advisory.json",
  inspect: "host",
  value: "web1.example.net",
  age: 125,
  seen: 1764630000,
  timestamp: 1764630125,
  replicator: "cmdb",
  event: "timeout",
});

test("advisory line - time, event, value, age; coloured only when asked", () => {
  assert.equal(
    advisoryLine(doc, false),
    "2025-12-01T23:02:05.000Z  timeout  web1.example.net  age 2m5s",
  );
  const coloured = advisoryLine(doc, true);
  assert.ok(coloured.includes("\u001b[33mtimeout"), coloured);
  assert.ok(coloured.includes("\u001b[0m"), coloured);
  assert.equal(advisoryValue(doc), "web1.example.net");
});

test("advisory line - ages as Go durations; anything else is shown as it came", () => {
  assert.deepEqual([0, 45, 60, 3600, 3725].map(formatAge), [
    "0s",
    "45s",
    "1m0s",
    "1h0m0s",
    "1h2m5s",
  ]);
  assert.equal(advisoryLine("not json", false), "(not an advisory) not json");
  assert.equal(advisoryValue("[1]"), undefined);
});

test("args - advisories: --since, --all, --filter, --json; mistakes are usage errors", () => {
  assert.deepEqual(parseArgs(["advisories", "--topic", "cmdb", "--since", "1h", "--json"]), {
    kind: "advisories",
    topic: "cmdb",
    json: true,
    from: { kind: "since", ms: 3_600_000 },
  });
  const all = parseArgs(["advisories", "--topic=cmdb", "--all", "--filter", "^web"]);
  assert.ok(all.kind === "advisories" && all.from.kind === "all" && all.filter?.test("web1"));
  assert.equal(
    parseArgs(["advisory-watch", "--topic=t"]).kind,
    "advisories",
    "the original's name",
  );
  assert.throws(() => parseArgs(["advisories", "--topic=t", "--all", "--since=1h"]), /not both/);
  assert.throws(() => parseArgs(["advisories", "--topic=t", "--since=1 hour"]), /not a duration/);
  assert.throws(() => parseArgs(["advisories", "--topic=t", "--filter=("]), /--filter:/);
});
