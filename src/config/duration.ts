/**
 * Go-style durations ("1h30m", "500ms", "1.5h"), as the original tool's YAML uses them.
 *
 * Hand-written on purpose: the npm duration libraries (ms, parse-duration, convict's
 * "duration" format) also accept forms Go rejects, such as "1 hour", "10" or "2 days", and a
 * config that loads here must mean the same thing it meant to the Go tool.
 */

const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  "\u00b5s": 1e3, // µs (micro sign), accepted by Go
  "\u03bcs": 1e3, // μs (Greek mu), accepted by Go
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's limit: an int64 of nanoseconds, about 292 years. */
const MAX_NS = 2 ** 63 - 1;

const SEGMENT = /(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/y;

/**
 * Parses a Go duration into milliseconds (fractional for ns/us), or returns undefined when
 * `text` is not one. Like Go: "0" alone is valid; units are required otherwise; no spaces.
 * Unlike Go: negative durations are rejected, none of our settings can use them.
 */
export function parseDuration(text: string): number | undefined {
  if (text === "0") return 0;
  if (text === "") return undefined;
  let ns = 0; // summed in whole nanoseconds, like Go, so "1.1s" is exactly 1100 ms
  SEGMENT.lastIndex = 0;
  while (SEGMENT.lastIndex < text.length) {
    const match = SEGMENT.exec(text);
    if (match === null) return undefined;
    ns += Math.round(Number(match[1]) * (UNIT_NS[match[2] ?? ""] ?? NaN));
  }
  return Number.isFinite(ns) && ns <= MAX_NS ? ns / 1e6 : undefined;
}

/** Milliseconds of a duration the schema has already validated. */
export function durationMs(duration: string): number {
  return parseDuration(duration) ?? NaN;
}
