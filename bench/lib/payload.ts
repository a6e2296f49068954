/**
 * Benchmark payloads, as the Go load tools make them (bench/probe/probe.go): JSON objects
 * of an exact size whose fixed-width fields are read back here without parsing.
 *
 *   {"id":"000000123","ph":"B","ts":"1732500000000.123","sender":"B-host-000123","pad":"xxx…"}
 *
 * - `id`: index within the phase, 9 digits (a string: JSON numbers cannot have leading zeros);
 * - `ph`: phase, B (pre-filled backlog) or L (live traffic);
 * - `ts`: publish time, epoch milliseconds with microseconds, 17 characters;
 * - `sender`: `<ph>-host-<id % senders>`, the key the limiter contender inspects, so the first
 *   `senders` messages of a phase are copied and the rest skipped.
 */
import { performance } from "node:perf_hooks";

export type Phase = "B" | "L";

const ID_PREFIX = '{"id":"';
const ID_WIDTH = 9;
const PH_PREFIX = '","ph":"';
const TS_PREFIX = '","ts":"';
const TS_WIDTH = 17;

const ID_OFFSET = ID_PREFIX.length;
const PH_OFFSET = ID_OFFSET + ID_WIDTH + PH_PREFIX.length;
const TS_OFFSET = PH_OFFSET + 1 + TS_PREFIX.length;

/** Smallest payload size the layout fits in (with senders up to 999,999). */
export const MIN_PAYLOAD_SIZE = 100;

/** Wall-clock milliseconds with sub-millisecond resolution. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface Decoded {
  phase: Phase;
  id: number;
  ts: number;
}

/** Reads the fixed fields back; undefined for a payload sr-loadgen did not make. */
export function decode(buf: Buffer): Decoded | undefined {
  if (buf.length < MIN_PAYLOAD_SIZE || buf.toString("latin1", 0, ID_OFFSET) !== ID_PREFIX) {
    return undefined;
  }
  const phase = String.fromCharCode(buf[PH_OFFSET] ?? 0);
  if (phase !== "B" && phase !== "L") return undefined;
  const id = Number(buf.toString("latin1", ID_OFFSET, ID_OFFSET + ID_WIDTH));
  const ts = Number(buf.toString("latin1", TS_OFFSET, TS_OFFSET + TS_WIDTH));
  if (!Number.isInteger(id) || !Number.isFinite(ts)) return undefined;
  return { phase, id, ts };
}
