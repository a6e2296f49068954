/**
 * Time source in milliseconds since the Unix epoch. Stateful logic (limiter, advisor) takes a
 * Clock so tests can drive time with a fake instead of sleeping.
 */
export interface Clock {
  now(): number;
}

/** The wall clock (`Date.now()`). */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });
