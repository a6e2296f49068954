/**
 * A set of sequence numbers kept as sorted, disjoint ranges: what a worker acknowledged on the
 * source. Acks come mostly in order, so adding the next sequence extends the last range (O(1))
 * and a long run costs one range. Bounded: beyond `maxRanges` the oldest ranges are forgotten.
 */
export class RangeSet {
  /** [start, end] pairs, inclusive, sorted by start, disjoint and not adjacent. */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  constructor(private readonly maxRanges = 10_000) {}

  get ranges(): number {
    return this.starts.length;
  }

  add(n: number): void {
    const last = this.ends.length - 1;
    const lastEnd = this.ends[last];
    if (lastEnd !== undefined && n === lastEnd + 1) {
      this.ends[last] = n;
      return;
    }
    if (lastEnd === undefined || n > lastEnd + 1) {
      this.starts.push(n);
      this.ends.push(n);
    } else this.insert(n);
    if (this.starts.length > this.maxRanges) {
      this.starts.shift();
      this.ends.shift();
    }
  }

  has(n: number): boolean {
    const i = this.rangeAtOrBefore(n);
    return i >= 0 && n <= (this.ends[i] ?? -1);
  }

  /** Index of the last range starting at or before `n`, or -1. */
  private rangeAtOrBefore(n: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.starts[mid] ?? Infinity) <= n) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** An out-of-order add: joins or creates a range in the middle. */
  private insert(n: number): void {
    if (this.has(n)) return;
    const i = this.rangeAtOrBefore(n);
    const joinsLeft = i >= 0 && this.ends[i] === n - 1;
    const joinsRight = this.starts[i + 1] === n + 1;
    if (joinsLeft && joinsRight) {
      this.ends[i] = this.ends[i + 1] ?? n;
      this.starts.splice(i + 1, 1);
      this.ends.splice(i + 1, 1);
    } else if (joinsLeft) this.ends[i] = n;
    else if (joinsRight) this.starts[i + 1] = n;
    else {
      this.starts.splice(i + 1, 0, n);
      this.ends.splice(i + 1, 0, n);
    }
  }
}
