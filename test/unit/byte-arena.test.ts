import { test } from "node:test";
import assert from "node:assert/strict";
import { ByteArena } from "../../src/value-table/byte-arena";
import { PagedArray } from "../../src/value-table/paged-array";

const MiB = 1 << 20;
const bytes = (s: string): Buffer => Buffer.from(s, "utf8");

function put(arena: ByteArena, s: string): number {
  const b = bytes(s);
  return arena.append(b, 0, b.length);
}

test("byte-arena - values round-trip across block boundaries, with 1- to 3-byte lengths", () => {
  const arena = new ByteArena();
  const values = Array.from({ length: 20_000 }, (_, i) => `v${i}-`.repeat(1 + (i % 40)));
  values.push("", "x".repeat(127), "x".repeat(128), "y".repeat(20_000));
  const offsets = values.map((v) => put(arena, v));
  assert.ok(arena.allocated > 2 * MiB, "several blocks");
  values.forEach((v, i) => assert.equal(arena.text(offsets[i]!), v));
  const b = bytes("x".repeat(128));
  assert.equal(arena.equals(offsets.at(-2)!, b, 0, b.length), true);
  assert.equal(arena.equals(offsets.at(-3)!, b, 0, b.length), false);
});

test("byte-arena - a value longer than a block gets its own, and the next value a new one", () => {
  const arena = new ByteArena();
  const small = put(arena, "before");
  const huge = "é".repeat(1.5 * MiB); // 3 MiB of UTF-8
  const big = put(arena, huge);
  const after = put(arena, "after");
  assert.equal(arena.text(small), "before");
  assert.equal(arena.text(big), huge);
  assert.equal(arena.text(after), "after");
  assert.equal(arena.end(big) - arena.start(big), 3 * MiB);
  assert.notEqual(big >>> 20, after >>> 20);
});

test("byte-arena - dropBefore lets go of the blocks before an offset only", () => {
  const arena = new ByteArena();
  const offsets = Array.from({ length: 3 }, (_, i) => put(arena, String(i).repeat(MiB - 16)));
  const before = arena.allocated;
  arena.dropBefore(offsets[2]!);
  assert.ok(arena.allocated < before);
  assert.equal(arena.text(offsets[2]!), "2".repeat(MiB - 16));
});

test("paged-array - grows a small first page, then by pages, and shrinks back", () => {
  const a = new PagedArray((n) => new Float64Array(n));
  assert.equal(a.capacity, 16);
  a.grow(17);
  assert.equal(a.capacity, 32);
  for (let i = 0; i < 32; i++) a.set(i, i + 0.5);
  a.grow(200_000);
  assert.equal(a.capacity, 4 * 65_536);
  a.set(199_999, 7);
  assert.equal(a.get(31), 31.5, "kept across growth");
  assert.equal(a.get(199_999), 7);
  a.shrink(70_000);
  assert.equal(a.capacity, 2 * 65_536);
  a.shrink(100);
  assert.equal(a.capacity, 128);
  assert.equal(a.get(31), 31.5, "kept across shrinking");
});
