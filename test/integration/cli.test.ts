// The drop-in command line for the original's deployments: `replicate --config=F --topic=T
// --pid=F` runs like the short form; the pid file is written at start and removed at a clean
// exit; an unwritable pid path is one line and exit code 2.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { makeTempDir, startStan, stopAll } from "../support/servers";
import { startReplicator, topicConfig, waitForHealth } from "../support/replicator-process";
import { waitFor } from "../support/stan-client";

after(stopAll);

test("cli - replicate --config=FILE --topic=NAME --pid=FILE: pid file while running, gone after SIGTERM", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const target = await startStan({ clusterId: "dc2" });
  const dir = makeTempDir("pid");
  const pidFile = path.join(dir, "sr.pid");
  writeFileSync(pidFile, "99999999\n"); // stale, from a crash: overwritten
  const proc = await startReplicator({
    config: { topics: { cmdb: topicConfig(source, target, "cmdb") } },
    command: "replicate",
    args: ["--topic=cmdb", `--pid=${pidFile}`],
  });
  await waitForHealth(proc, 200);
  await waitFor(async () => readFileSync(pidFile, "utf8") === `${proc.pid}\n`, {
    timeoutMs: 5000,
    message: "pid file with the process id",
  });
  assert.equal(await proc.stop("SIGTERM"), 0);
  assert.equal(existsSync(pidFile), false, "removed at a clean exit");
});

test("cli - an unwritable pid file is one line and exit code 2", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const proc = await startReplicator({
    config: { topics: { cmdb: topicConfig(source, source, "cmdb") } },
    command: "replicate",
    args: ["--pid=/nonexistent/dir/sr.pid"],
  });
  assert.equal(await proc.stop("SIGCONT", 20_000), 2);
  assert.equal(
    proc.output().trim().split("\n").at(-1),
    "pid file /nonexistent/dir/sr.pid: cannot write it (ENOENT)",
  );
});

test("cli - SIGUSR1 reopens the log file after logrotate moved it: no line in both files", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const target = await startStan({ clusterId: "dc2" });
  const dir = makeTempDir("logs");
  const logfile = path.join(dir, "sr.log");
  const proc = await startReplicator({
    config: { logfile, log_format: "json", topics: { cmdb: topicConfig(source, target, "cmdb") } },
  });
  await waitForHealth(proc, 200);
  renameSync(logfile, `${logfile}.1`);
  process.kill(proc.pid ?? 0, "SIGUSR1");
  await waitFor(
    async () => existsSync(logfile) && /log file reopened/.test(readFileSync(logfile, "utf8")),
    {
      timeoutMs: 10_000,
      message: "the reopened log file",
    },
  );
  assert.equal(await proc.stop("SIGTERM"), 0);
  const lines = (f: string) => readFileSync(f, "utf8").trim().split("\n");
  const old = lines(`${logfile}.1`);
  const fresh = lines(logfile);
  assert.ok(
    old.some((l) => /"message":"started"/.test(l)),
    "the lines before the rotation stay in the old file",
  );
  assert.ok(
    fresh.some((l) => /"message":"stopped"/.test(l)),
    "the later ones go to the new file",
  );
  assert.equal(old.filter((l) => fresh.includes(l)).length, 0);
});
