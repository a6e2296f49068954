import { test } from "node:test";
import assert from "node:assert/strict";
import { ValueTable } from "../../src/value-table/value-table";
import { TimeColumn } from "../../src/value-table/time-column";
import { seededHash } from "../../src/value-table/value-key";

const T0 = Date.UTC(2024, 0, 1);

/** A column over a table whose hash sends every value to the same slot. */
function colliding(): TimeColumn {
  return new TimeColumn(new ValueTable({ hash: () => 7 }));
}

test("value-table - grows past many doublings and still finds every value", () => {
  const col = new TimeColumn();
  const start = col.table.capacity;
  for (let i = 0; i < 200_000; i++) col.set(`host-${i}.example.net`, T0 + i);
  assert.equal(col.size, 200_000);
  assert.equal(col.table.size, 200_000);
  const grown = col.table.capacity;
  assert.ok(grown.entries >= 200_000 && grown.entries >= 2 ** 10 * start.entries);
  assert.ok(grown.slots >= 2 * 200_000, "index at most half full after its last doubling");
  for (let i = 0; i < 200_000; i += 7) assert.equal(col.get(`host-${i}.example.net`), T0 + i);
  assert.equal(col.get("host-200000.example.net"), undefined);
  const order = [...col.entries()];
  assert.deepEqual(order[0], ["host-0.example.net", T0]);
  assert.deepEqual(order[199_999], ["host-199999.example.net", T0 + 199_999]);
});

test("value-table - values whose hashes all collide are still told apart", () => {
  const col = colliding();
  for (let i = 0; i < 500; i++) col.set(`v${i}`, T0 + i);
  for (let i = 0; i < 500; i++) assert.equal(col.get(`v${i}`), T0 + i);
  assert.equal(col.get("v500"), undefined);
  // Deleting from the middle of the probe run must not hide the values after it.
  for (let i = 0; i < 500; i += 2) assert.equal(col.delete(`v${i}`), true);
  for (let i = 1; i < 500; i += 2) assert.equal(col.get(`v${i}`), T0 + i);
  for (let i = 0; i < 500; i += 2) assert.equal(col.get(`v${i}`), undefined);
  col.set("v0", T0 - 1); // into a tombstone
  assert.equal(col.get("v0"), T0 - 1);
  assert.equal(col.size, 251);
});

test("value-table - same bytes with the same length prefix and hash are not confused", () => {
  const table = new ValueTable({ hash: (b, s, e) => e - s }); // equal lengths collide
  const col = new TimeColumn(table);
  col.set("abc", 1);
  col.set("abd", 2);
  col.set("ab", 3);
  assert.deepEqual(
    [col.get("abc"), col.get("abd"), col.get("ab"), col.get("abe")],
    [1, 2, 3, undefined],
  );
});

test("value-table - expired values are removed and their room reused, in insertion order", () => {
  const col = new TimeColumn();
  // Steady churn: 10k values live at any time, 30 generations of them.
  for (let gen = 0; gen < 30; gen++) {
    for (let i = 0; i < 10_000; i++) col.set(`g${gen}-${i}`, T0 + gen);
    if (gen > 0) assert.equal(col.removeUpTo(T0 + gen - 1), 10_000);
  }
  assert.equal(col.size, 10_000);
  assert.equal(col.table.size, 10_000);
  const { entries, slots } = col.table.capacity;
  assert.ok(entries <= 32_768, `entries capacity ${entries} kept bounded by reuse`);
  assert.ok(slots <= 65_536, `index ${slots} kept bounded by compaction`);
  assert.equal(col.get("g28-5"), undefined);
  assert.equal(col.get("g29-5"), T0 + 29);
  assert.deepEqual([...col.entries()][0], ["g29-0", T0 + 29]);
  // A value deleted and set again moves to the end, like in a Map.
  col.delete("g29-0");
  col.set("g29-0", T0 + 30);
  assert.deepEqual([...col.entries()].at(-1), ["g29-0", T0 + 30]);
});

test("value-table - a mass expiry compacts the table and gives memory back", () => {
  const col = new TimeColumn();
  for (let i = 0; i < 100_000; i++) col.set(`h${i}`, i < 99_000 ? T0 : T0 + 1);
  const before = col.table.capacity;
  assert.equal(col.removeUpTo(T0), 99_000);
  const after = col.table.capacity;
  assert.ok(after.entries < before.entries / 8, `${after.entries} vs ${before.entries}`);
  assert.ok(after.arenaBytes < before.arenaBytes / 8);
  assert.equal(col.size, 1000);
  assert.equal(col.get("h99999"), T0 + 1);
  assert.equal(col.get("h0"), undefined);
});

test("value-table - non-ASCII, emoji, empty and very long values keep their identity", () => {
  const col = new TimeColumn();
  const long = "λ".repeat(200_000);
  const values = [
    "",
    "ünïcødé",
    "日本語",
    "🚀",
    "👩\u200d💻",
    "e\u0301",
    "é",
    long,
    long + "!",
    "a\u0000b",
  ];
  values.forEach((v, i) => col.set(v, T0 + i));
  assert.equal(col.size, values.length);
  values.forEach((v, i) => assert.equal(col.get(v), T0 + i, JSON.stringify(v.slice(0, 10))));
  assert.deepEqual(
    [...col.entries()].map(([v]) => v),
    values,
  );
  const byteLength = (v: string): number => {
    const offset = col.table.offset(col.table.find(v));
    return col.table.bytes.end(offset) - col.table.bytes.start(offset);
  };
  assert.equal(byteLength("🚀"), 4);
  assert.equal(byteLength(long), 400_000);
  assert.equal(col.get("λ".repeat(199_999)), undefined);
});

test("value-table - a cursor keeps its place across deletes, compaction and inserts", () => {
  const col = new TimeColumn();
  for (let i = 0; i < 5000; i++) col.set(`v${i}`, T0);
  const it = col.entries();
  const seen: string[] = [];
  for (let i = 0; i < 2500; i++) seen.push(it.next().value?.[0] ?? "");
  for (let i = 0; i < 4000; i++) if (i !== 2600) col.delete(`v${i}`); // before and after the cursor
  col.table.compact();
  col.set("added", T0);
  for (let r = it.next(); !r.done; r = it.next()) seen.push(r.value[0]);
  assert.equal(seen.length, 2500 + 1 + 1000 + 1);
  assert.equal(new Set(seen).size, seen.length, "nothing visited twice");
  assert.deepEqual(seen.slice(2499, 2503), ["v2499", "v2600", "v4000", "v4001"]);
  assert.equal(seen.at(-1), "added");
});

test("value-table - columns of one table share a value until both are cleared", () => {
  const table = new ValueTable({ columns: 2 });
  const copied = new TimeColumn(table, 0);
  const seen = new TimeColumn(table, 1);
  copied.set("a", 1);
  seen.set("a", 2);
  seen.set("b", 3);
  assert.equal(table.size, 2);
  assert.deepEqual([copied.size, seen.size], [1, 2]);
  assert.deepEqual([...copied.entries()], [["a", 1]]);
  copied.delete("a");
  assert.equal(table.size, 2, "still seen");
  assert.equal(seen.get("a"), 2);
  assert.equal(seen.setMark("a", true), false);
  assert.equal(seen.marks, 1);
  seen.delete("a");
  assert.equal(seen.marks, 0);
  assert.equal(table.size, 1);
  copied.copyNewerFrom(seen);
  assert.equal(copied.get("b"), 3);
  assert.throws(() => new TimeColumn(table, 2), RangeError);
  assert.throws(() => copied.copyNewerFrom(new TimeColumn()), /different tables/);
});

test("value-table - the seeded hash depends on the seed and spreads the low bits", () => {
  const bytes = Buffer.from("host-1.example.net");
  assert.notEqual(seededHash(1)(bytes, 0, bytes.length), seededHash(2)(bytes, 0, bytes.length));
  const h = seededHash(1);
  const low = new Set<number>();
  for (let i = 0; i < 4096; i++) {
    const b = Buffer.from(`host-${i}.example.net`);
    low.add(h(b, 0, b.length) & 1023);
  }
  assert.ok(low.size > 900, `only ${low.size} of 1024 low-bit buckets used`);
});
