/**
 * A value's UTF-8 bytes and hash, as the value table looks it up. Values come from the network,
 * so a fixed hash would let a sender pick names that all land in one probe run; a random seed per
 * table makes that guesswork.
 */

/** Hash of `bytes[start, end)` as a uint32. */
export type HashFn = (bytes: Uint8Array, start: number, end: number) => number;

/** FNV-1a from a random start, finished with murmur3's mixer to spread FNV's weak low bits
 * (the table takes slots from the low bits). */
export function seededHash(seed: number = (Math.random() * 2 ** 32) >>> 0): HashFn {
  return (b, start, end) => {
    let h = seed;
    for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  };
}

/** Values up to this many UTF-16 units are encoded into a reused buffer, longer ones freshly. */
const SCRATCH_UNITS = 1024;

/**
 * The last string encoded. A message's value is looked up several times in a row (limiter check,
 * claim, advisor), and encoding it once is enough.
 */
export class ValueKey {
  /** UTF-8 of the value in `bytes[0, length)`. */
  bytes = Buffer.alloc(3 * SCRATCH_UNITS);
  length = 0;
  hash = 0;
  private value: string | undefined;
  private readonly scratch = this.bytes;

  constructor(private readonly hashFn: HashFn) {}

  set(value: string): void {
    if (value === this.value) return;
    if (value.length <= SCRATCH_UNITS) {
      this.bytes = this.scratch;
      this.length = asciiInto(value, this.bytes);
      if (this.length < 0) this.length = this.bytes.write(value, 0, "utf8");
    } else {
      this.bytes = Buffer.from(value, "utf8");
      this.length = this.bytes.length;
    }
    this.hash = this.hashFn(this.bytes, 0, this.length);
    this.value = value;
  }
}

/** Copies an ASCII string's bytes (what names mostly are) faster than a native UTF-8 write does
 * for short strings; -1 at the first non-ASCII character. A lone surrogate is written as U+FFFD,
 * as Buffer.write does, so such values are told apart only up to that. */
function asciiInto(value: string, out: Buffer): number {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80) return -1;
    out[i] = c;
  }
  return value.length;
}
