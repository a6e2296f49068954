// `stream-replicator advisories`: real advisories from a running replicator, printed as they
// come from a NATS Streaming channel and from a JetStream subject; --json, --filter, --all;
// Ctrl-C ends it with exit code 0.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { stringify } from "yaml";
import { makeTempDir, startStan, stopAll, trackChild } from "../support/servers";
import { startNatsServer } from "../support/nats-server";
import { startReplicator, waitForHealth } from "../support/replicator-process";
import { publishAll, waitFor } from "../support/stan-client";
import { withManager } from "../support/jetstream-client";

after(stopAll);

const REPO = path.resolve(__dirname, "..", "..");

interface Watcher {
  output(): string;
  /** SIGINT, then the exit code. */
  interrupt(): Promise<number | null>;
}

function watch(config: Record<string, unknown>, args: string[]): Watcher {
  const file = path.join(makeTempDir("watch"), "sr.yaml");
  writeFileSync(file, stringify(config));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(REPO, "src/main.ts"), "advisories", `--config=${file}`, ...args],
    { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] },
  );
  trackChild(child);
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    output: () => out,
    interrupt: async () => {
      child.kill("SIGINT");
      return exited;
    },
  };
}

function sender(host: string): Buffer {
  return Buffer.from(JSON.stringify({ host }));
}

const advisoryKeys = (target: string, cluster: string) => ({
  name: "watched",
  inspect: "host",
  age: "30s",
  advisory: { target, cluster, age: "1s", interval: "200ms" },
});

test("advisories - from a NATS Streaming channel: one line per event as it comes; --json --filter; Ctrl-C exits 0", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const target = await startStan({ clusterId: "dc2" });
  const topic = {
    topic: "hosts",
    source_url: source.url,
    source_cluster_id: "dc1",
    target_url: target.url,
    target_cluster_id: "dc2",
    ...advisoryKeys("sr.advisories.watched", "target"),
  };
  const config = { topics: { watched: topic } };
  const proc = await startReplicator({ config });
  await waitForHealth(proc, 200);
  const lines = watch(config, ["--topic=watched"]);
  const json = watch(config, ["--topic=watched", "--json", "--filter=^web2"]);
  await waitFor(async () => /watching sr\.advisories\.watched/.test(lines.output()), {
    timeoutMs: 10_000,
    message: "the watcher started",
  });
  await new Promise((r) => setTimeout(r, 500));
  await publishAll(source.url, "dc1", "hosts", [sender("web1"), sender("web2")]);
  await waitFor(async () => /timeout\s+web2/.test(lines.output()) && /web2/.test(json.output()), {
    timeoutMs: 15_000,
    message: "timeout advisories printed",
  });
  assert.match(
    lines.output(),
    /\d{4}-\d\d-\d\dT\S+Z {2}timeout {2}web1(\.example)?\S* {2}age \d+s/,
  );
  const docs = json
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { value: string; event: string });
  assert.ok(docs.length >= 1);
  assert.ok(
    docs.every((d) => d.value === "web2"),
    "--filter keeps web2 only",
  );
  assert.equal(await lines.interrupt(), 0);
  assert.equal(await json.interrupt(), 0);

  // --all shows the events still kept on the channel.
  const all = watch(config, ["--topic=watched", "--all"]);
  await waitFor(async () => /timeout\s+web1/.test(all.output()), {
    timeoutMs: 10_000,
    message: "--all replays kept events",
  });
  assert.equal(await all.interrupt(), 0);
  assert.equal(await proc.stop(), 0);
});

test("advisories - from a JetStream subject when the target is JetStream", async () => {
  const source = await startStan({ clusterId: "dc1" });
  const js = await startNatsServer();
  await withManager(js.url, (jsm) =>
    jsm.streams.add({ name: "ADVISORIES", subjects: ["sr.advisories.>"] }),
  );
  const topic = {
    topic: "hosts.js",
    source_url: source.url,
    source_cluster_id: "dc1",
    target: "jetstream",
    target_url: js.url,
    jetstream: { stream: "COPIES", create: true },
    ...advisoryKeys("sr.advisories.js", "target"),
  };
  const config = { topics: { watched: topic } };
  const proc = await startReplicator({ config });
  await waitForHealth(proc, 200);
  await publishAll(source.url, "dc1", "hosts.js", [sender("db1")]);
  const since = watch(config, ["--topic=watched", "--since=1h"]);
  await waitFor(async () => /timeout\s+db1/.test(since.output()), {
    timeoutMs: 15_000,
    message: "the JetStream advisory printed",
  });
  assert.match(since.output(), /JetStream subject/);
  assert.equal(await since.interrupt(), 0);
  assert.equal(await proc.stop(), 0);
});
