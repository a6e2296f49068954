/**
 * One entry line of a state file, `["host1.example.net",1699999990000]`, written from and read
 * into raw UTF-8 bytes, so saving or loading a million values makes no string per value.
 *
 * Both directions give exactly what JSON.stringify / JSON.parse would: a value with a character
 * that JSON escapes, or a line in any other shape, takes the JSON path instead.
 */
import { isUtf8 } from "node:buffer";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NEWLINE = 0x0a;
/** More decimal digits than this may not be exact in a double: left to JSON.parse. */
const MAX_DIGITS = 15;

/**
 * Writes the line for the value whose UTF-8 is `src[start, end)` and time `at` at `pos` of `out`,
 * which has room for `maxEntryLength(end - start)` bytes; returns the position after it. Bytes are
 * copied one by one while checking for escapes: values are short, and this is the hot loop of a
 * save.
 */
export function putEntry(
  out: Buffer,
  pos: number,
  src: Buffer,
  start: number,
  end: number,
  at: number,
): number {
  const lineStart = pos;
  out[pos++] = OPEN;
  out[pos++] = QUOTE;
  for (let i = start; i < end; i++) {
    const b = src[i]!;
    if (b < 0x20 || b === QUOTE || b === BACKSLASH) {
      const line = `[${JSON.stringify(src.toString("utf8", start, end))},${Math.round(at)}]\n`;
      return lineStart + out.write(line, lineStart);
    }
    out[pos++] = b;
  }
  out[pos++] = QUOTE;
  out[pos++] = COMMA;
  pos = putInteger(out, pos, Math.round(at));
  out[pos++] = CLOSE;
  out[pos++] = NEWLINE;
  return pos;
}

/** Room putEntry may need: escaping makes at most 6 bytes of one (`\u001f`), plus the rest. */
export function maxEntryLength(valueBytes: number): number {
  return 6 * valueBytes + 32;
}

/** Writes the decimal digits of an integer, as String(n) would. */
function putInteger(out: Buffer, pos: number, n: number): number {
  if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER)) return pos + out.write(String(n), pos, "latin1");
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  for (let i = pos + digits - 1; i >= pos; i--, n = Math.floor(n / 10)) out[i] = ZERO + (n % 10);
  return pos + digits;
}

/** A parsed entry line. Reused from line to line: read the fields before the next parse. */
export class EntryLine {
  /** The value as a string, when the line took the JSON path; else see `start`/`end`. */
  value: string | undefined;
  /** The value's UTF-8 bytes in the parsed buffer, when `value` is undefined. */
  start = 0;
  end = 0;
  at = 0;

  /**
   * Parses `buf[start, end)` (no newline). False for valid JSON of another shape; throws a
   * SyntaxError for a line that is not JSON at all.
   */
  parse(buf: Buffer, start: number, end: number): boolean {
    if (this.parsePlain(buf, start, end)) return true;
    const entry: unknown = JSON.parse(buf.toString("utf8", start, end));
    if (
      !Array.isArray(entry) ||
      entry.length !== 2 ||
      typeof entry[0] !== "string" ||
      typeof entry[1] !== "number" ||
      !Number.isFinite(entry[1])
    ) {
      return false;
    }
    this.value = entry[0];
    this.at = entry[1];
    return true;
  }

  /** The line as saveState writes it for a value without escapes and an integer time. */
  private parsePlain(b: Buffer, start: number, end: number): boolean {
    if (b[start] !== OPEN || b[start + 1] !== QUOTE) return false;
    let i = start + 2;
    let ascii = true;
    for (; i < end; i++) {
      const c = b[i]!;
      if (c === QUOTE) break;
      if (c < 0x20 || c === BACKSLASH) return false;
      if (c >= 0x80) ascii = false;
    }
    if (i + 2 >= end || b[i + 1] !== COMMA || b[end - 1] !== CLOSE) return false;
    // Invalid UTF-8 goes the JSON path, which decodes it the way the old loader did (U+FFFD).
    if (!ascii && !isUtf8(b.subarray(start + 2, i))) return false;
    const at = parseInteger(b, i + 2, end - 1);
    if (at === undefined) return false;
    this.value = undefined;
    this.start = start + 2;
    this.end = i;
    this.at = at;
    return true;
  }
}

/** A JSON integer, `-?(0|[1-9][0-9]*)`, of at most MAX_DIGITS digits; undefined otherwise. */
function parseInteger(b: Buffer, start: number, end: number): number | undefined {
  let i = start;
  const negative = b[i] === MINUS;
  if (negative) i++;
  const digits = end - i;
  if (digits < 1 || digits > MAX_DIGITS || (b[i] === ZERO && digits > 1)) return undefined;
  let n = 0;
  for (; i < end; i++) {
    const d = b[i]! - ZERO;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return negative ? -n : n;
}
