/**
 * A set of sequence numbers kept as sorted, disjoint ranges: what a worker acknowledged on the
 * source. Acks come mostly in order, so adding the next sequence extends the last range (O(1))
 * and a long run costs one range. Bounded: beyond `maxRanges` the oldest ranges are forgotten.
 * A queued worker's sequences are rarely adjacent (its group shares the channel), so there every
 * add is a new range and forgetting must be cheap: the forgotten ones are skipped by `first` and
 * cut off in one step once they are half of the arrays.
 */
export class RangeSet {
  /** [start, end] pairs, inclusive, sorted by start, disjoint and not adjacent, from `first`. */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private first = 0;

  constructor(private readonly maxRanges = 10_000) {}

  get ranges(): number {
    return this.starts.length - this.first;
  }

  add(n: number): void {
    const last = this.ends.length - 1;
    const lastEnd = last >= this.first ? this.ends[last] : undefined;
    if (lastEnd !== undefined && n === lastEnd + 1) {
      this.ends[last] = n;
      return;
    }
    if (lastEnd === undefined || n > lastEnd + 1) {
      this.starts.push(n);
      this.ends.push(n);
    } else this.insert(n);
    if (this.ranges > this.maxRanges) this.forgetOldest();
  }

  has(n: number): boolean {
    const i = this.rangeAtOrBefore(n);
    return i >= 0 && n <= (this.ends[i] ?? -1);
  }

  private forgetOldest(): void {
    this.first++;
    if (this.first * 2 >= this.starts.length) {
      this.starts.splice(0, this.first);
      this.ends.splice(0, this.first);
      this.first = 0;
    }
  }

  /** Index of the last range starting at or before `n`, or -1. */
  private rangeAtOrBefore(n: number): number {
    let lo = this.first;
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
    const next = i >= 0 ? i + 1 : this.first;
    const joinsLeft = i >= 0 && this.ends[i] === n - 1;
    const joinsRight = this.starts[next] === n + 1;
    if (joinsLeft && joinsRight) {
      this.ends[i] = this.ends[next] ?? n;
      this.starts.splice(next, 1);
      this.ends.splice(next, 1);
    } else if (joinsLeft) this.ends[i] = n;
    else if (joinsRight) this.starts[next] = n;
    else {
      this.starts.splice(next, 0, n);
      this.ends.splice(next, 0, n);
    }
  }
}
