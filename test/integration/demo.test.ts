import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";

const REPO = path.resolve(__dirname, "..", "..");

test("demo - npm run demo replicates and stops cleanly", { timeout: 90_000 }, async () => {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "scripts/demo.ts", "--seconds", "10", "--free-ports"],
    {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0, out);
  // The last progress line's totals: both topics received, the plain one copied everything,
  // the sampled one skipped most of it.
  const totals = [...out.matchAll(/totals: received (\d+) copied (\d+) skipped (\d+)/g)].at(-1);
  assert.ok(totals, `no progress line in:\n${out}`);
  const [received, copied, skipped] = totals.slice(1).map(Number) as [number, number, number];
  assert.ok(received > 1000, `received ${received}`);
  assert.ok(copied > received / 2 - 200, `copied ${copied} of ${received}`);
  assert.ok(skipped > 0, `skipped ${skipped}`);
  assert.match(out, /stopping: replicator, publisher, servers/);
});
