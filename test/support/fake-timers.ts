import type { Repeat } from "../../src/sampling/sampler-timers";
import type { FakeClock } from "./fake-clock";

interface Interval {
  readonly ms: number;
  due: number;
  readonly fn: () => void;
}

/**
 * Intervals on a FakeClock, for code that takes a `Repeat`: `advance(ms)` moves the clock and
 * runs every interval that falls due on the way, in time order (ties in the order they started).
 */
export class FakeTimers {
  private intervals: Interval[] = [];

  constructor(private readonly clock: FakeClock) {}

  readonly repeat: Repeat = (ms, fn) => {
    const interval: Interval = { ms, due: this.clock.now() + ms, fn };
    this.intervals.push(interval);
    return () => {
      this.intervals = this.intervals.filter((i) => i !== interval);
    };
  };

  /** The periods (ms) of the intervals running now, in the order they started. */
  get periods(): number[] {
    return this.intervals.map((i) => i.ms);
  }

  advance(ms: number): void {
    const end = this.clock.now() + ms;
    for (;;) {
      let next: Interval | undefined;
      for (const i of this.intervals) if (i.due <= end && (!next || i.due < next.due)) next = i;
      if (!next) break;
      this.clock.set(next.due);
      next.due += next.ms;
      next.fn();
    }
    this.clock.set(end);
  }
}
