import { test } from "node:test";
import assert from "node:assert/strict";
import { contenderList } from "../../bench/lib/contenders";
import { sourceProgress } from "../../bench/lib/monitor";
import { parseOptions } from "../../bench/lib/options";
import { fillJetStreamRatios, formatJetStreamTable } from "../../bench/lib/report";
import type { RunResult } from "../../bench/lib/scenario";

const ids = (argv: string[]): string[] => contenderList(parseOptions(argv)).map((c) => c.id);

test("bench options - --jetstream and --js-ab default to off and parse as flags", () => {
  const plain = parseOptions([]);
  assert.equal(plain.jetstream, false);
  assert.equal(plain.jsAb, false);
  const o = parseOptions(["--jetstream", "--js-ab", "--quick"]);
  assert.equal(o.jetstream, true);
  assert.equal(o.jsAb, true);
  assert.equal(o.count, 10_000);
  assert.throws(() => parseOptions(["--jetstream=yes"]), /--jetstream/);
});

test("bench options - no JetStream contender without --jetstream or their ids in --only", () => {
  assert.equal(
    ids([]).some((id) => id.includes("js")),
    false,
  );
});

test("bench options - --jetstream adds js-peer, js-sync, ours ordered and queued-4 after the STAN rows", () => {
  const all = ids(["--jetstream"]);
  assert.deepEqual(all.slice(-4), ["js-peer", "js-sync", "ours-js-ordered", "ours-js-queued-4"]);
  assert.ok(all.includes("ours-ordered"));
  assert.equal(all.includes("ours-js-ordered-official-publish"), false);
  assert.equal(ids(["--jetstream", "--js-ab"]).at(-1), "ours-js-ordered-official-publish");
});

test("bench options - --only selects JetStream contenders by id, the A/B included, without --jetstream", () => {
  assert.deepEqual(ids(["--only", "js-peer,ours-js-ordered-official-publish"]), [
    "js-peer",
    "ours-js-ordered-official-publish",
  ]);
  const specs = contenderList(
    parseOptions(["--only", "js-peer,js-sync,ours-js-ordered,ours-js-queued-4"]),
  );
  assert.deepEqual(
    specs.map((s) => [s.id, s.target, s.ordered, s.workers, s.msgIds ?? false]),
    [
      ["js-peer", "jetstream", true, 1, true],
      ["js-sync", "jetstream", true, 1, false],
      ["ours-js-ordered", "jetstream", true, 1, true],
      ["ours-js-queued-4", "jetstream", false, 4, true],
    ],
  );
  assert.equal(specs.find((s) => s.id === "js-sync")?.ephemeral, true);
});

test("bench options - --profile profiles each JetStream publish path only when JetStream is asked for", () => {
  assert.equal(
    ids(["--profile"]).some((id) => id.includes("-js-")),
    false,
  );
  assert.equal(ids(["--profile", "--jetstream"]).at(-1), "ours-js-ordered-cpuprof");
  assert.deepEqual(ids(["--profile", "--jetstream", "--js-ab"]).slice(-2), [
    "ours-js-ordered-cpuprof",
    "ours-js-ordered-official-publish-cpuprof",
  ]);
  const only = ["ours-js-ordered-cpuprof", "ours-js-ordered-official-publish-cpuprof"];
  const specs = contenderList(parseOptions(["--profile", "--only", only.join(",")]));
  assert.deepEqual(
    specs.map((s) => [s.id, s.cpuProfile, s.target]),
    only.map((id) => [id, true, "jetstream"]),
  );
});

test("bench source progress - an ephemeral subscription counts only when asked to", () => {
  const info = {
    msgs: 10,
    last_seq: 10,
    subscriptions: [
      {
        client_id: "jssync_x",
        is_durable: false,
        is_offline: false,
        last_sent: 10,
        pending_count: 0,
      },
    ],
  };
  assert.deepEqual(sourceProgress(info, 10), { processed: 0, done: false });
  assert.deepEqual(sourceProgress(info, 10, true), { processed: 10, done: true });
});

function run(id: string, kind: string, drainRate: number, ok = true): RunResult {
  return {
    id,
    label: id,
    kind,
    target: "jetstream",
    ordered: true,
    workers: 1,
    limiter: false,
    channel: `bench.${id}`,
    fillRate: 0,
    drainRate,
    drainMBps: drainRate / 1024,
    ok,
    failures: ok ? [] : ["2 duplicates in the stream"],
    warnings: [],
    loadavg: { start: [], end: [] },
  };
}

test("bench report - JetStream rows get ×js-peer and ×js-sync; failed runs get none", () => {
  const runs = [
    run("js-peer", "js-peer", 20_000),
    run("js-sync", "js-sync", 4_000),
    run("ours-js-ordered", "ours", 30_000),
    run("ours-js-queued-4", "ours", 50_000, false),
  ];
  fillJetStreamRatios(runs);
  assert.deepEqual(runs[2]?.ratios, { jsPeer: 1.5, jsSync: 7.5 });
  assert.deepEqual(runs[0]?.ratios, { jsPeer: 1, jsSync: 5 });
  assert.deepEqual(runs[3]?.ratios, { jsPeer: undefined, jsSync: undefined });
  const table = formatJetStreamTable({ started: "", machine: {}, options: {}, runs });
  const lines = table.split("\n");
  assert.match(lines[0] ?? "", /×js-peer \| ×js-sync/);
  assert.match(lines[4] ?? "", /^ours-js-ordered\s+\|\s+30,000 \|.*\|\s+1\.50 \|\s+7\.50 \|/);
  assert.match(lines[5] ?? "", /\(50,000\).*FAILED: 2 duplicates in the stream/);
});

test("bench report - without js-peer or js-sync in the run, the ratio is left empty", () => {
  const runs = [run("ours-js-ordered", "ours", 30_000)];
  fillJetStreamRatios(runs);
  assert.deepEqual(runs[0]?.ratios, { jsPeer: undefined, jsSync: undefined });
});
