// The systemd units and the logrotate example run the command line, signals and paths the
// replicator implements (replicate, --pid, SIGHUP reload, SIGUSR1 reopen).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "../../src/cli/args";

const DEPLOY = path.resolve(__dirname, "..", "..", "deploy");

function unit(name: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const line of readFileSync(path.join(DEPLOY, "systemd", name), "utf8").split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) entries[m[1] ?? ""] = m[2] ?? "";
  }
  return entries;
}

for (const [name, topic] of [
  ["stream-replicator@.service", "%i"],
  ["stream-replicator.service", undefined],
] as const) {
  test(`deploy - ${name}: ExecStart is a valid replicate command line, reload is SIGHUP`, () => {
    const u = unit(name);
    const [bin, ...argv] = (u.ExecStart ?? "").split(" ");
    assert.equal(bin, "/usr/bin/stream-replicator");
    const args = parseArgs(argv);
    assert.equal(args.kind, "run");
    assert.ok(args.kind === "run" && args.config === "/etc/stream-replicator/sr.yaml");
    assert.deepEqual(args.kind === "run" ? args.topics : [], topic ? [topic] : []);
    assert.match(args.kind === "run" ? (args.pid ?? "") : "", /^\/run\/stream-replicator/);
    assert.equal(u.ExecReload, "/bin/kill -HUP $MAINPID");
    assert.equal(u.KillSignal, "SIGTERM");
  });
}

test("deploy - logrotate sends SIGUSR1 to the pid files the units write", () => {
  const text = readFileSync(path.join(DEPLOY, "logrotate", "stream-replicator"), "utf8");
  assert.match(text, /kill -USR1 "\$\(cat "\$pid"\)"/);
  assert.match(text, /\/run\/stream-replicator\*\/sr\.pid/);
  assert.doesNotMatch(text, /copytruncate\s*$/m);
});
