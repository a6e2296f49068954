import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ensureStateDir, loadState, saveState, stateFilePath } from "../../src/limiter/state-file";
import { Limiter } from "../../src/limiter/limiter";
import { ConfigError, ReplicatorError } from "../../src/errors";
import { FakeClock } from "../support/fake-clock";

const AGE = 60_000;
const NOW = Date.UTC(2024, 0, 1);

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), "sr-state-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function writeValid(file: string, entries: [string, number][]): Promise<string> {
  await saveState(file, entries, { topic: "cmdb", inspect: "sender" }, NOW);
  return readFileSync(file, "utf8");
}

test("state-file - save then load round-trips entries, including awkward values", async (t) => {
  const file = path.join(tempDir(t), "cmdb.state.jsonl");
  const entries: [string, number][] = [
    ["host1.example.net", NOW - 1000],
    ['quote"new\nline', NOW - 2000],
    ["ünïcødé ✓", NOW - 3000],
  ];
  const res = await saveState(file, entries, { topic: "cmdb", inspect: "sender" }, NOW);
  assert.equal(res.count, 3);
  const loaded = await loadState(file, { ageMs: AGE, now: NOW });
  assert.equal(loaded.warning, undefined);
  assert.equal(loaded.stale, 0);
  assert.deepEqual([...loaded.entries], entries);
  const lines = readFileSync(file, "utf8").split("\n");
  assert.deepEqual(JSON.parse(lines[0] ?? ""), {
    version: 1,
    topic: "cmdb",
    inspect: "sender",
    saved: NOW,
  });
  assert.deepEqual(JSON.parse(lines[4] ?? ""), { end: true, count: 3 });
});

test("state-file - load drops stale entries and a restored limiter skips only fresh values", async (t) => {
  const file = path.join(tempDir(t), "cmdb.state.jsonl");
  await writeValid(file, [
    ["fresh", NOW - 1000],
    ["stale", NOW - AGE],
    ["older", NOW - 10 * AGE],
  ]);
  const loaded = await loadState(file, { ageMs: AGE, now: NOW });
  assert.equal(loaded.warning, undefined);
  assert.equal(loaded.stale, 2);
  assert.deepEqual([...loaded.entries], [["fresh", NOW - 1000]]);

  const limiter = new Limiter({ inspect: "sender", ageMs: AGE, clock: new FakeClock(NOW) });
  limiter.restore(loaded.entries, NOW);
  assert.equal(limiter.decide(Buffer.from('{"sender":"fresh"}')).action, "skip");
  assert.equal(limiter.decide(Buffer.from('{"sender":"stale"}')).action, "copy");
});

test("state-file - a missing file gives empty entries and one warning", async (t) => {
  const res = await loadState(path.join(tempDir(t), "nope.state.jsonl"), { ageMs: AGE, now: NOW });
  assert.equal(res.entries.size, 0);
  assert.match(res.warning ?? "", /does not exist/);
});

test("state-file - an unreadable path gives empty entries and one warning", async (t) => {
  const dir = tempDir(t);
  const res = await loadState(dir, { ageMs: AGE, now: NOW }); // a directory
  assert.equal(res.entries.size, 0);
  assert.match(res.warning ?? "", /cannot be read/);
});

test("state-file - truncated files give empty entries and one warning", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, "cmdb.state.jsonl");
  const full = await writeValid(file, [
    ["a", NOW - 1],
    ["b", NOW - 2],
    ["c", NOW - 3],
  ]);
  const lines = full.split("\n");
  const cases: [string, RegExp][] = [
    [full.slice(0, full.length - 1), /truncated/], // no final newline
    [full.slice(0, full.length - 5), /truncated/], // cut inside the trailer
    [lines.slice(0, 3).join("\n") + "\n", /truncated/], // cut at a line boundary, no trailer
    [
      [lines[0], lines[1], lines[4], ""].join("\n"),
      /truncated \(trailer says 3 entries, found 1\)/,
    ],
    [lines[0] + "\n", /truncated/], // header only
    ["", /empty/],
  ];
  for (const [content, why] of cases) {
    writeFileSync(file, content);
    const res = await loadState(file, { ageMs: AGE, now: NOW });
    assert.equal(res.entries.size, 0, JSON.stringify(content));
    assert.match(res.warning ?? "", why, JSON.stringify(content));
  }
});

test("state-file - corrupt, garbage and foreign files give empty entries and one warning", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, "cmdb.state.jsonl");
  const full = await writeValid(file, [["a", NOW - 1]]);
  const lines = full.split("\n");
  const cases: [string | Buffer, RegExp][] = [
    [[lines[0], '["a",'.padEnd(12, "x"), lines[2], ""].join("\n"), /corrupt/],
    [[lines[0], '["a","not a number"]', lines[2], ""].join("\n"), /bad entry on line 2/],
    [[lines[0], '{"a":1}', lines[2], ""].join("\n"), /bad entry/],
    [Buffer.from([0x00, 0x9f, 0xff, 0x10, 0x0a]), /corrupt/],
    ['{"a":1}\n', /not a stream-replicator state file/],
    ['{"host1":"2024-01-01T00:00:00Z"}\n', /not a stream-replicator state file/], // Go v1 cache
    [full.replace('"version":1', '"version":2'), /unsupported version 2/],
  ];
  for (const [content, why] of cases) {
    writeFileSync(file, content);
    const res = await loadState(file, { ageMs: AGE, now: NOW });
    assert.equal(res.entries.size, 0, String(content));
    assert.match(res.warning ?? "", why, String(content));
  }
  writeFileSync(file, full);
  const foreign = await loadState(file, { ageMs: AGE, now: NOW, expect: { inspect: "identity" } });
  assert.equal(foreign.entries.size, 0);
  assert.match(foreign.warning ?? "", /for inspect "sender", not "identity"/);
  const mine = await loadState(file, {
    ageMs: AGE,
    now: NOW,
    expect: { topic: "cmdb", inspect: "sender" },
  });
  assert.equal(mine.entries.size, 1);
});

test("state-file - save is atomic: old file replaced whole, no temp files left", async (t) => {
  const dir = tempDir(t);
  const file = stateFilePath(dir, "cmdb");
  await writeValid(file, [["old", NOW - 1]]);
  const many: [string, number][] = Array.from({ length: 12_345 }, (_, i) => [`h${i}`, NOW - i]);
  const res = await saveState(file, many, { topic: "cmdb" }, NOW);
  assert.equal(res.count, 12_345);
  assert.deepEqual(readdirSync(dir), ["cmdb.state.jsonl"]);
  const loaded = await loadState(file, { ageMs: AGE, now: NOW });
  assert.equal(loaded.entries.size, 12_345);
  assert.equal(loaded.entries.has("old"), false);
});

test("state-file - a failed save throws ReplicatorError and leaves the old file and no temp file", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, "cmdb.state.jsonl");
  const before = await writeValid(file, [["keep", NOW - 1]]);
  function* exploding(): Generator<[string, number]> {
    for (let i = 0; i < 6_000; i++) yield [`v${i}`, NOW];
    throw new Error("boom");
  }
  await assert.rejects(saveState(file, exploding(), { topic: "cmdb" }, NOW), (e: unknown) => {
    return e instanceof ReplicatorError && /cannot save state file .*boom/.test(e.message);
  });
  assert.equal(readFileSync(file, "utf8"), before);
  assert.deepEqual(readdirSync(dir), ["cmdb.state.jsonl"]);
  await assert.rejects(
    saveState(path.join(dir, "missing-dir", "x.state.jsonl"), [], { topic: "x" }, NOW),
    ReplicatorError,
  );
});

test("state-file - stateFilePath keeps safe names and sanitises others without collisions", () => {
  assert.equal(stateFilePath("/s", "cmdb"), path.join("/s", "cmdb.state.jsonl"));
  assert.equal(stateFilePath("/s", "acme.cmdb_1-x"), path.join("/s", "acme.cmdb_1-x.state.jsonl"));
  const a = path.basename(stateFilePath("/s", "a/b"));
  const b = path.basename(stateFilePath("/s", "a_b"));
  const up = path.basename(stateFilePath("/s", ".."));
  assert.match(a, /^a_b-[0-9a-f]{8}\.state\.jsonl$/);
  assert.notEqual(a, b);
  assert.match(up, /^_\.-[0-9a-f]{8}\.state\.jsonl$/);
  assert.equal(path.dirname(stateFilePath("/s", "../../etc/passwd")), "/s");
  assert.ok(path.basename(stateFilePath("/s", "x".repeat(500))).length < 130);
});

test("state-file - ensureStateDir creates a missing folder and rejects an unusable one", async (t) => {
  const dir = tempDir(t);
  const nested = path.join(dir, "a", "b");
  await ensureStateDir(nested);
  assert.deepEqual(readdirSync(nested), []); // probe file removed
  const file = path.join(dir, "file");
  writeFileSync(file, "");
  await assert.rejects(ensureStateDir(path.join(file, "sub")), (e: unknown) => {
    return (
      e instanceof ConfigError &&
      e.key === "state_dir" &&
      e.message.includes("is not a writable directory")
    );
  });
  await assert.rejects(ensureStateDir(file), ConfigError);
});
