import type { Clock } from "../../src/clock";

/** A Clock that only moves when told to. Starts at a fixed, realistic epoch time. */
export class FakeClock implements Clock {
  private current: number;

  constructor(start = Date.UTC(2024, 0, 1, 0, 0, 0)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** Moves time forward (or backward with a negative value) by `ms`. */
  advance(ms: number): void {
    this.current += ms;
  }

  /** Jumps to an absolute time. */
  set(ms: number): void {
    this.current = ms;
  }
}
