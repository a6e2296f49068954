import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ensureStateDir, loadState, saveState, stateFilePath } from "../../src/sampling/state-file";
import type { LoadOptions, LoadResult } from "../../src/sampling/state-file";
import { Limiter } from "../../src/sampling/limiter";
import { TimeColumn } from "../../src/value-table/time-column";
import { ConfigError, ReplicatorError } from "../../src/errors";
import { FakeClock } from "../support/fake-clock";

const AGE = 60_000;
const NOW = Date.UTC(2024, 0, 1);

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), "sr-state-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Loads `file` into a fresh column; `entries` are what it holds afterwards, in order. */
async function load(
  file: string,
  options: Partial<LoadOptions> = {},
  into = new TimeColumn(),
): Promise<LoadResult & { entries: [string, number][]; column: TimeColumn }> {
  const result = await loadState(file, { ageMs: AGE, now: NOW, ...options }, into);
  return { ...result, entries: [...into.entries()], column: into };
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
  const loaded = await load(file);
  assert.equal(loaded.warning, undefined);
  assert.equal(loaded.stale, 0);
  assert.equal(loaded.loaded, 3);
  assert.deepEqual(loaded.entries, entries);
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
  const limiter = new Limiter({ inspect: "sender", ageMs: AGE, clock: new FakeClock(NOW) });
  const loaded = await load(file, {}, limiter.copied);
  assert.equal(loaded.warning, undefined);
  assert.equal(loaded.stale, 2);
  assert.deepEqual(loaded.entries, [["fresh", NOW - 1000]]);

  assert.equal(limiter.decide(Buffer.from('{"sender":"fresh"}')).action, "skip");
  assert.equal(limiter.decide(Buffer.from('{"sender":"stale"}')).action, "copy");
});

test("state-file - a missing file gives empty entries and one warning", async (t) => {
  const res = await load(path.join(tempDir(t), "nope.state.jsonl"));
  assert.equal(res.entries.length, 0);
  assert.match(res.warning ?? "", /does not exist/);
});

test("state-file - an unreadable path gives empty entries and one warning", async (t) => {
  const dir = tempDir(t);
  const res = await load(dir); // a directory
  assert.equal(res.entries.length, 0);
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
    const res = await load(file);
    assert.equal(res.entries.length, 0, JSON.stringify(content));
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
    const res = await load(file);
    assert.equal(res.entries.length, 0, String(content));
    assert.match(res.warning ?? "", why, String(content));
  }
  writeFileSync(file, full);
  const foreign = await load(file, { expect: { inspect: "identity" } });
  assert.equal(foreign.entries.length, 0);
  assert.match(foreign.warning ?? "", /for inspect "sender", not "identity"/);
  const mine = await load(file, { expect: { topic: "cmdb", inspect: "sender" } });
  assert.equal(mine.entries.length, 1);
});

test("state-file - save is atomic: old file replaced whole, no temp files left", async (t) => {
  const dir = tempDir(t);
  const file = stateFilePath(dir, "cmdb");
  await writeValid(file, [["old", NOW - 1]]);
  const many: [string, number][] = Array.from({ length: 12_345 }, (_, i) => [`h${i}`, NOW - i]);
  const res = await saveState(file, many, { topic: "cmdb" }, NOW);
  assert.equal(res.count, 12_345);
  assert.deepEqual(readdirSync(dir), ["cmdb.state.jsonl"]);
  const loaded = await load(file);
  assert.equal(loaded.entries.length, 12_345);
  assert.equal(loaded.column.get("old"), undefined);
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

/** A file as the Map-based saveState (before the value table) wrote it, byte for byte. */
const OLD_FILE =
  [
    '{"version":1,"topic":"cmdb","inspect":"sender","saved":1704067200000}',
    '["host1.example.net",1704067199000]',
    String.raw`["quote\"back\\slash",1704067198000]`,
    String.raw`["new\nline\ttab\u0001ctl",1704067197000]`,
    '["ünïcødé ✓ 日本語",1704067196000]',
    '["emoji 🚀👩\u200d💻",1704067195000]',
    '["",1704067194000]',
    '["del\u007fu2028\u2028",1704067193000]',
    '["stale.example.net",1704067080000]',
    '{"end":true,"count":8}',
  ].join("\n") + "\n";

test("state-file - a file written by the Map-based version loads, and saves back identically", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, "cmdb.state.jsonl");
  writeFileSync(file, OLD_FILE);
  const loaded = await load(file);
  assert.equal(loaded.warning, undefined);
  assert.equal(loaded.stale, 1);
  assert.deepEqual(loaded.entries, [
    ["host1.example.net", NOW - 1000],
    ['quote"back\\slash', NOW - 2000],
    ["new\nline\ttab\u0001ctl", NOW - 3000],
    ["ünïcødé ✓ 日本語", NOW - 4000],
    ["emoji 🚀👩\u200d💻", NOW - 5000],
    ["", NOW - 6000],
    ["del\u007fu2028\u2028", NOW - 7000],
  ]);
  // Written from the table's bytes, the file is what JSON.stringify gave before.
  const again = path.join(dir, "again.state.jsonl");
  await saveState(again, loaded.column, { topic: "cmdb", inspect: "sender" }, NOW);
  const expected = OLD_FILE.replace('["stale.example.net",1704067080000]\n', "").replace(
    '"count":8',
    '"count":7',
  );
  assert.equal(readFileSync(again, "utf8"), expected);
});

test("state-file - 100k entries round-trip through a column, same bytes as from pairs", async (t) => {
  const dir = tempDir(t);
  const source = new TimeColumn();
  const pairs: [string, number][] = [];
  for (let i = 0; i < 100_000; i++) {
    const value = i % 10 === 0 ? `hôst-${i}-✓\t"x"` : `host-${i}.example.net`;
    pairs.push([value, NOW - (i % 50_000)]);
    source.set(value, NOW - (i % 50_000));
  }
  const fromColumn = path.join(dir, "column.state.jsonl");
  const fromPairs = path.join(dir, "pairs.state.jsonl");
  const saved = await saveState(fromColumn, source, { topic: "cmdb" }, NOW);
  await saveState(fromPairs, pairs, { topic: "cmdb" }, NOW);
  assert.equal(saved.count, 100_000);
  assert.ok(readFileSync(fromColumn).equals(readFileSync(fromPairs)));

  const loaded = await load(fromColumn);
  assert.equal(loaded.warning, undefined);
  assert.equal(loaded.loaded, 100_000);
  assert.equal(loaded.column.size, 100_000);
  assert.deepEqual(loaded.entries, pairs);
});

test("state-file - a bad line far into a file leaves the sink untouched", async (t) => {
  const file = path.join(tempDir(t), "cmdb.state.jsonl");
  const many: [string, number][] = Array.from({ length: 50_000 }, (_, i) => [`h${i}`, NOW - 1]);
  const lines = (await writeValid(file, many)).split("\n");
  lines[45_000] = '["h45000","late"]'; // well past the first read chunk
  writeFileSync(file, lines.join("\n"));
  const into = new TimeColumn();
  into.set("kept", NOW - 5);
  into.set("h1", NOW - 10);
  const res = await load(file, {}, into);
  assert.match(res.warning ?? "", /bad entry on line 45001/);
  assert.deepEqual(res.entries, [
    ["kept", NOW - 5],
    ["h1", NOW - 10],
  ]);
});

test("state-file - load keeps the newer time, clamps future times, and reads lines longer than a chunk", async (t) => {
  const file = path.join(tempDir(t), "cmdb.state.jsonl");
  const long = "x".repeat(300_000) + "é";
  await writeValid(file, [
    ["dup", NOW - 500],
    [long, NOW - 1],
    ["dup", NOW - 100],
    ["dup", NOW - 900],
    ["future", NOW + 60_000],
  ]);
  const into = new TimeColumn();
  into.set("future", NOW - 3);
  const res = await load(file, {}, into);
  assert.equal(res.warning, undefined);
  assert.equal(res.loaded, 5);
  assert.equal(into.get("dup"), NOW - 100);
  assert.equal(into.get(long), NOW - 1);
  assert.equal(into.get("future"), NOW);
  assert.equal(into.size, 3);
});
