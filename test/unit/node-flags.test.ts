import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { NODE_FLAGS } from "../../src/cli/node-flags";

const REPO = path.resolve(__dirname, "..", "..");

test("node flags - the image's ENTRYPOINT runs node with NODE_FLAGS", () => {
  const line = readFileSync(path.join(REPO, "Dockerfile"), "utf8")
    .split("\n")
    .find((l) => l.startsWith("ENTRYPOINT ") && l.includes("/app/dist/src/main.js"));
  assert.ok(line, "Dockerfile has the replicator's ENTRYPOINT");
  const argv = JSON.parse(line.slice("ENTRYPOINT ".length)) as string[];
  const node = argv.indexOf("node");
  assert.deepEqual(argv.slice(node + 1, node + 1 + NODE_FLAGS.length), [...NODE_FLAGS]);
  assert.equal(argv[node + 1 + NODE_FLAGS.length], "/app/dist/src/main.js");
});

test("node flags - src/main.ts's #! line runs node with NODE_FLAGS", () => {
  const first = readFileSync(path.join(REPO, "src", "main.ts"), "utf8").split("\n")[0];
  assert.equal(first, `#!/usr/bin/env -S node ${NODE_FLAGS.join(" ")}`);
});

test("node flags - this node accepts them", () => {
  const out = execFileSync(process.execPath, [...NODE_FLAGS, "-e", "process.stdout.write('ok')"]);
  assert.equal(out.toString(), "ok");
});
