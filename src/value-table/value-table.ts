/**
 * A compact table of strings (sender names), each with a few time columns: the memory behind the
 * limiter's last-copied and the advisor's last-seen times for millions of senders.
 *
 * Why not a Map<string, number>: that costs ~70 B of GC heap per value plus a string object, and
 * every major GC walks all of it. Here a value costs its UTF-8 bytes (+1 length byte) in a
 * ByteArena plus 9 B + 8 B per column in PagedArrays and ~6 B of index, none of which the garbage
 * collector visits, and growing never copies more than the index.
 *
 * Layout. Entries are appended in insertion order: entry i's bytes are at `offsets[i]` in the
 * arena, `hashes[i]` is their hash, `times[c][i]` its time in column c (NaN: not set), `flags[i]`
 * a LIVE bit and one mark bit per column. `slots` is an open-addressing index (linear probing,
 * power-of-two size, rebuilt twice as large when 3/4 full) holding i + 1, 0 for empty. Deleting
 * an entry clears LIVE; its slot then works as a tombstone and its bytes stay until the next
 * compaction, which moves live entries down (keeping their order) and rebuilds `slots`.
 */
import { ByteArena } from "./byte-arena";
import { PagedArray } from "./paged-array";
import { ValueKey, seededHash } from "./value-key";
import type { HashFn } from "./value-key";

export interface ValueTableOptions {
  /** Time columns, one per user of the table (limiter, advisor); 1 to 7, default 1. */
  columns?: number;
  /** Replaces the default seeded hash; tests pass a weak one to force collisions. */
  hash?: HashFn;
}

/** A position in entry order that survives compaction (see ValueTable.openCursor). */
export interface Cursor {
  /** The last entry visited, -1 before the first. */
  pos: number;
}

const LIVE = 0x80;
const MIN_SLOTS = 32;
/** Deleted entries are compacted away once they are at least this many and half the table. */
const MIN_DEAD_TO_COMPACT = 1024;

export class ValueTable {
  readonly columns: number;
  private readonly hash: HashFn;
  private slots = new Int32Array(MIN_SLOTS);
  /** Non-empty slots, tombstones included: what probing walks over. */
  private usedSlots = 0;
  private readonly hashes = new PagedArray((n) => new Uint32Array(n));
  private readonly offsets = new PagedArray((n) => new Uint32Array(n));
  private readonly flags = new PagedArray((n) => new Uint8Array(n));
  private readonly times: PagedArray<Float64Array>[] = [];
  private arena = new ByteArena();
  /** Entries appended, deleted ones included until compaction. */
  private count = 0;
  private dead = 0;
  private readonly cursors = new Set<Cursor>();
  private readonly key: ValueKey;

  constructor(options: ValueTableOptions = {}) {
    this.columns = options.columns ?? 1;
    if (!(this.columns >= 1 && this.columns <= 7)) throw new RangeError("1 to 7 columns");
    for (let c = 0; c < this.columns; c++)
      this.times.push(new PagedArray((n) => new Float64Array(n)));
    this.hash = options.hash ?? seededHash();
    this.key = new ValueKey(this.hash);
  }

  /** Live entries. */
  get size(): number {
    return this.count - this.dead;
  }

  /** Allocated room, for tests and diagnostics. */
  get capacity(): { entries: number; slots: number; arenaBytes: number } {
    const entries = this.hashes.capacity;
    return { entries, slots: this.slots.length, arenaBytes: this.arena.allocated };
  }

  /** The live entry holding `value`, or -1. */
  find(value: string): number {
    const k = this.key;
    k.set(value);
    return this.lookup(k.bytes, 0, k.length, k.hash);
  }

  /** The live entry holding `value`, appended (with no column set) if there is none. */
  insert(value: string): number {
    const k = this.key;
    k.set(value);
    const found = this.lookup(k.bytes, 0, k.length, k.hash);
    return found >= 0 ? found : this.append(k.bytes, 0, k.length, k.hash);
  }

  insertBytes(buf: Uint8Array, start: number, end: number): number {
    const h = this.hash(buf, start, end);
    const found = this.lookup(buf, start, end, h);
    return found >= 0 ? found : this.append(buf, start, end, h);
  }

  value(e: number): string {
    return this.arena.text(this.offsets.get(e));
  }

  /** The arena holding the values' bytes, and entry e's offset in it: for copying many values
   * without a view or a string per value. Both change on compaction. */
  get bytes(): ByteArena {
    return this.arena;
  }

  offset(e: number): number {
    return this.offsets.get(e);
  }

  /** NaN when not set. */
  time(c: number, e: number): number {
    return this.times[c]!.get(e);
  }

  setTime(c: number, e: number, at: number): void {
    this.times[c]!.set(e, at);
  }

  marked(c: number, e: number): boolean {
    return (this.flags.get(e) & (1 << c)) !== 0;
  }

  mark(c: number, e: number, on: boolean): void {
    const f = this.flags.get(e);
    this.flags.set(e, on ? f | (1 << c) : f & ~(1 << c));
  }

  /** Clears column c of entry e; the entry is deleted once no column is set. */
  clear(c: number, e: number): void {
    this.setTime(c, e, NaN);
    this.mark(c, e, false);
    for (const t of this.times) if (!Number.isNaN(t.get(e))) return;
    this.flags.set(e, 0);
    this.dead++;
  }

  /** The next live entry after `e` in insertion order, or -1. */
  next(e: number): number {
    for (let i = e + 1; i < this.count; i++) if (this.flags.get(i) & LIVE) return i;
    return -1;
  }

  /** A cursor whose position compaction keeps pointing at the same entry; close it when done. */
  openCursor(): Cursor {
    const cursor = { pos: -1 };
    this.cursors.add(cursor);
    return cursor;
  }

  closeCursor(cursor: Cursor): void {
    this.cursors.delete(cursor);
  }

  /** Sizes the index for `entries` values before a load, so it is not rebuilt on the way. */
  reserve(entries: number): void {
    if (slotsFor(entries) > this.slots.length) this.rehash(entries);
  }

  /** Compacts when deleted entries are many: run after sweeps that delete in bulk. */
  compactIfWorthwhile(): void {
    if (this.dead >= MIN_DEAD_TO_COMPACT && this.dead * 2 >= this.count) this.compact();
  }

  /** Moves live entries down over deleted ones (order kept) into a fresh arena, gives back the
   * room no longer needed, rebuilds the index. Open cursors move with their entries. */
  compact(): void {
    const old = this.arena;
    this.arena = new ByteArena();
    let w = 0;
    for (let i = 0; i < this.count; i++) {
      if (this.flags.get(i) & LIVE) {
        const offset = this.offsets.get(i);
        this.offsets.set(w, this.arena.copyFrom(old, offset));
        old.dropBefore(offset);
        if (w !== i) {
          this.hashes.set(w, this.hashes.get(i));
          this.flags.set(w, this.flags.get(i));
          for (const t of this.times) t.set(w, t.get(i));
        }
        w++;
      }
      // Cursor positions only move down, so a moved cursor is never matched again.
      if (this.cursors.size > 0) for (const c of this.cursors) if (c.pos === i) c.pos = w - 1;
    }
    this.count = w;
    this.dead = 0;
    for (const a of [this.hashes, this.offsets, this.flags, ...this.times]) a.shrink(w);
    this.rehash(w);
  }

  private lookup(buf: Uint8Array, start: number, end: number, h: number): number {
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const e = this.slots[s]! - 1;
      if (e < 0) return -1;
      if (
        this.hashes.get(e) === h &&
        this.flags.get(e) & LIVE &&
        this.arena.equals(this.offsets.get(e), buf, start, end)
      ) {
        return e;
      }
    }
  }

  private append(buf: Uint8Array, start: number, end: number, h: number): number {
    if ((this.usedSlots + 1) * 4 > this.slots.length * 3) this.rehash(this.size + 1);
    const e = this.count++;
    if (this.count > this.hashes.capacity) {
      for (const a of [this.hashes, this.offsets, this.flags, ...this.times]) a.grow(this.count);
    }
    this.offsets.set(e, this.arena.append(buf, start, end));
    this.hashes.set(e, h);
    this.flags.set(e, LIVE);
    for (const t of this.times) t.set(e, NaN);
    this.place(e);
    return e;
  }

  /** Puts entry e into the first empty or tombstone slot of its probe sequence. */
  private place(e: number): void {
    const mask = this.slots.length - 1;
    let s = this.hashes.get(e) & mask;
    while (this.slots[s]! > 0 && this.flags.get(this.slots[s]! - 1) & LIVE) s = (s + 1) & mask;
    if (this.slots[s] === 0) this.usedSlots++;
    this.slots[s] = e + 1;
  }

  /** A fresh index sized for `live` entries; drops all tombstones. */
  private rehash(live: number): void {
    this.slots = new Int32Array(slotsFor(live));
    this.usedSlots = 0;
    for (let e = 0; e < this.count; e++) if (this.flags.get(e) & LIVE) this.place(e);
  }
}

/** Index size for `live` entries: a power of two, at most half full right after a rebuild. */
function slotsFor(live: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(2 * live, MIN_SLOTS)));
}
