/** ASCII decimal numbers written into buffers without a string in between (hot paths). */

export function decimalDigits(value: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  return digits;
}

/** Writes a non-negative integer as `digits` ASCII digits at `at`; returns the next offset. */
export function writeDecimal(out: Buffer, at: number, value: number, digits: number): number {
  for (let i = at + digits - 1, rest = value; i >= at; i--, rest = Math.floor(rest / 10)) {
    out[i] = 0x30 + (rest % 10);
  }
  return at + digits;
}
