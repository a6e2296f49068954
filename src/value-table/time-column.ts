/**
 * One column of a ValueTable seen as a Map<string, number> (value → time in ms), plus one mark bit
 * per value. The limiter keeps last-copied times in one, the advisor last-seen times (marked:
 * timed out) in another; when both share a table, a sender's name is stored once.
 *
 * Besides the Map-like methods there is an index API (`next`, `timeAt`, `deleteAt`, ...) for
 * sweeps over all values, which then decode a value's string only when they need it. An index
 * stays valid until the next insert or compaction; across awaits use `indices()`.
 */
import { ValueTable } from "./value-table";

export class TimeColumn {
  private count = 0;
  private markedCount = 0;

  constructor(
    readonly table: ValueTable = new ValueTable(),
    private readonly c = 0,
  ) {
    if (!(c >= 0 && c < table.columns)) throw new RangeError(`no column ${c} in the table`);
  }

  /** Values with a time in this column. */
  get size(): number {
    return this.count;
  }

  /** Values with the mark set. */
  get marks(): number {
    return this.markedCount;
  }

  get(value: string): number | undefined {
    const e = this.table.find(value);
    return e >= 0 && this.hasAt(e) ? this.timeAt(e) : undefined;
  }

  set(value: string, at: number): void {
    this.setAt(this.table.insert(value), at);
  }

  /** Forgets the value's time and mark; false when it had none. */
  delete(value: string): boolean {
    const e = this.table.find(value);
    if (e < 0 || !this.hasAt(e)) return false;
    this.deleteAt(e);
    return true;
  }

  /** Sets or clears the value's mark and returns the previous one; false if not tracked. */
  setMark(value: string, on: boolean): boolean {
    const e = this.table.find(value);
    if (e < 0 || !this.hasAt(e)) return false;
    const was = this.markedAt(e);
    this.markAt(e, on);
    return was;
  }

  /** Keeps the later of the tracked time and `at` (loading saved state). */
  restore(value: string, at: number): void {
    this.restoreAt(this.table.insert(value), at);
  }

  /** restore() for a value given as UTF-8 bytes (a view into a read buffer). */
  restoreBytes(buf: Uint8Array, start: number, end: number, at: number): void {
    this.restoreAt(this.table.insertBytes(buf, start, end), at);
  }

  /** A load of `entries` values is coming. */
  reserve(entries: number): void {
    this.table.reserve(entries);
  }

  /** Copies every time of `other` (a column of the same table) that is newer than this one's. */
  copyNewerFrom(other: TimeColumn): void {
    if (other.table !== this.table) throw new Error("columns of different tables");
    for (let e = other.next(-1); e >= 0; e = other.next(e)) this.restoreAt(e, other.timeAt(e));
  }

  /** Deletes values whose time is `cutoff` or earlier; returns how many. */
  removeUpTo(cutoff: number): number {
    let removed = 0;
    for (let e = this.next(-1); e >= 0; e = this.next(e)) {
      if (this.timeAt(e) <= cutoff) {
        this.deleteAt(e);
        removed++;
      }
    }
    this.table.compactIfWorthwhile();
    return removed;
  }

  /** Compacts the table if sweeps left it mostly deleted entries. */
  tidy(): void {
    this.table.compactIfWorthwhile();
  }

  /**
   * Indexes of the values in this column, in insertion order; a live view that may be consumed
   * across event-loop turns: values deleted meanwhile are skipped, values added are visited, and
   * compaction does not lose the place. Use each index before the next await.
   */
  *indices(): Generator<number, void, undefined> {
    const cursor = this.table.openCursor();
    try {
      while ((cursor.pos = this.next(cursor.pos)) >= 0) yield cursor.pos;
    } finally {
      this.table.closeCursor(cursor);
    }
  }

  /** `[value, time]` pairs, as a live view like indices(). */
  *entries(): Generator<[string, number], void, undefined> {
    for (const e of this.indices()) yield [this.table.value(e), this.timeAt(e)];
  }

  /** The next index after `e` that has a time in this column, or -1. */
  next(e: number): number {
    let i = this.table.next(e);
    while (i >= 0 && !this.hasAt(i)) i = this.table.next(i);
    return i;
  }

  hasAt(e: number): boolean {
    return !Number.isNaN(this.table.time(this.c, e));
  }

  timeAt(e: number): number {
    return this.table.time(this.c, e);
  }

  valueAt(e: number): string {
    return this.table.value(e);
  }

  setAt(e: number, at: number): void {
    if (!this.hasAt(e)) this.count++;
    this.table.setTime(this.c, e, at);
  }

  deleteAt(e: number): void {
    if (!this.hasAt(e)) return;
    if (this.markedAt(e)) this.markedCount--;
    this.count--;
    this.table.clear(this.c, e);
  }

  markedAt(e: number): boolean {
    return this.table.marked(this.c, e);
  }

  markAt(e: number, on: boolean): void {
    if (!this.hasAt(e) || this.markedAt(e) === on) return;
    this.markedCount += on ? 1 : -1;
    this.table.mark(this.c, e, on);
  }

  private restoreAt(e: number, at: number): void {
    if (!this.hasAt(e) || this.timeAt(e) < at) this.setAt(e, at);
  }
}
