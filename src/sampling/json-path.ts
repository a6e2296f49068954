/**
 * Dotted-path lookup (`sender`, `identity.fqdn`, `items.0.name`) in JSON message payloads.
 *
 * This runs for every message, so it is allocation-light and never throws on payload content:
 * binary, huge, malformed or deeply nested payloads come back as `not_json` or `missing`.
 *
 * Rules:
 * - A payload is JSON only when its first non-whitespace byte (after an optional UTF-8 BOM) is
 *   `{` and it parses as UTF-8 JSON. Anything else (including top-level arrays) is `not_json`,
 *   decided without parsing when the first byte is not `{`.
 * - Segments name own properties of objects; on arrays a segment that is a decimal index selects
 *   an element. Inherited names (`constructor`, `__proto__`, ...) are never followed.
 * - A string value is used as-is; numbers and booleans are stringified (`String(v)`, so very large
 *   integers lose precision like any JSON number in JavaScript). Objects, arrays, `null` and the
 *   empty string count as `missing` (the Go original also ignored empty values).
 */
import { ConfigError } from "../errors";

export type PathResult =
  | { readonly kind: "value"; readonly value: string }
  | { readonly kind: "not_json" }
  | { readonly kind: "missing" };

/** A path split into segments once, at configuration time. */
export type JsonPath = readonly string[];

/** A parsed JSON object payload. */
export type JsonObject = Readonly<Record<string, unknown>>;

const NOT_JSON: PathResult = Object.freeze({ kind: "not_json" });
const MISSING: PathResult = Object.freeze({ kind: "missing" });
const hasOwn = Object.prototype.hasOwnProperty;

/** Splits `a.b.c` into segments. Throws ConfigError for an empty path or an empty segment. */
export function compilePath(path: string, key?: string): JsonPath {
  const parts = path.split(".");
  if (parts.some((p) => p === "")) {
    throw new ConfigError(`invalid JSON path "${path}": empty segment`, undefined, undefined, key);
  }
  return Object.freeze(parts);
}

/** Parses a payload that is a JSON object; `undefined` for anything else. Never throws. */
export function parseObject(payload: Uint8Array): JsonObject | undefined {
  const n = payload.length;
  let i = 0;
  if (n >= 3 && payload[0] === 0xef && payload[1] === 0xbb && payload[2] === 0xbf) i = 3;
  for (; i < n; i++) {
    const b = payload[i];
    if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) break;
  }
  if (payload[i] !== 0x7b /* { */) return undefined;
  try {
    const buf = Buffer.isBuffer(payload)
      ? payload
      : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    const parsed: unknown = JSON.parse(buf.toString("utf8", i, n));
    // Starts with `{`, so a successful parse is a plain object.
    return parsed as JsonObject;
  } catch {
    // SyntaxError, or RangeError for strings over V8's maximum length.
    return undefined;
  }
}

function lookup(obj: unknown, path: JsonPath): unknown {
  let cur: unknown = obj;
  for (const seg of path) {
    if (typeof cur !== "object" || cur === null) return undefined;
    if (Array.isArray(cur)) {
      const idx = Number(seg);
      if (!Number.isInteger(idx) || idx < 0 || String(idx) !== seg) return undefined;
      cur = (cur as unknown[])[idx];
    } else {
      if (!hasOwn.call(cur, seg)) return undefined;
      cur = (cur as Record<string, unknown>)[seg];
    }
  }
  return cur;
}

/** The value at `path` as a string, or undefined when missing (same rules as valueAt). */
export function stringAt(obj: unknown, path: JsonPath): string | undefined {
  const v = lookup(obj, path);
  switch (typeof v) {
    case "string":
      return v === "" ? undefined : v;
    case "number":
      return Number.isFinite(v) ? String(v) : undefined;
    case "boolean":
      return v ? "true" : "false";
    default:
      return undefined;
  }
}

/** The value at `path` in an already parsed object: `value` or `missing`. */
export function valueAt(obj: unknown, path: JsonPath): PathResult {
  const value = stringAt(obj, path);
  return value === undefined ? MISSING : { kind: "value", value };
}

/** Parses `payload` and returns the value at `path` (a string or a compiled path). */
export function extractValue(payload: Uint8Array, path: string | JsonPath): PathResult {
  const obj = parseObject(payload);
  if (obj === undefined) return NOT_JSON;
  return valueAt(obj, typeof path === "string" ? compilePath(path) : path);
}

/**
 * The update flag at `path`: true for the JSON boolean `true` and for the string "true" in any
 * letter case; false for everything else (missing, `false`, numbers, "yes", "1", ...). This is
 * stricter than the Go original, which also accepted "1", "t" and non-zero numbers.
 */
export function readFlag(obj: unknown, path: string | JsonPath): boolean {
  const v = lookup(obj, typeof path === "string" ? compilePath(path) : path);
  if (v === true) return true;
  return typeof v === "string" && v.length === 4 && v.toLowerCase() === "true";
}
