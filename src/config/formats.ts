/**
 * Our convict formats (`sr-text`, `sr-duration`, `sr-nats-urls`...), by name. Each `validate`
 * throws a predicate phrase ("is not an integer"); the validator prefixes it with the key and
 * the value. Importing this module registers nothing: registerFormats() does, and the
 * validator calls it before it builds a convict instance.
 */
import convict from "convict";
import { parseDuration } from "./duration";
import type { SettingSchema } from "./schema/setting";

function present(value: unknown): void {
  if (value === null || value === undefined) throw new Error("is required");
}

function durationBound(bound: unknown): number | undefined {
  return typeof bound === "string" ? parseDuration(bound) : undefined;
}

const NATS_SCHEMES = new Set(["nats:", "tls:"]);
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Splits a comma-separated URL list; `host:port` without a scheme gets `nats://`. */
export function splitNatsUrls(list: string): string[] {
  return list.split(",").map((part) => {
    const url = part.trim();
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) || url === "" ? url : `nats://${url}`;
  });
}

function checkNatsUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (
      NATS_SCHEMES.has(url.protocol) &&
      url.hostname !== "" &&
      (url.pathname === "" || url.pathname === "/") &&
      url.search === "" &&
      url.hash === ""
    );
  } catch {
    return false;
  }
}

/** True for a valid RFC 3339 timestamp with a real calendar date. */
export function isRfc3339(text: string): boolean {
  const m = RFC3339.exec(text);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as number[];
  const daysInMonth = new Date(Date.UTC(year ?? 0, month ?? 0, 0)).getUTCDate();
  return (
    (month ?? 0) >= 1 &&
    (month ?? 0) <= 12 &&
    (day ?? 0) >= 1 &&
    (day ?? 0) <= daysInMonth &&
    (hour ?? 0) <= 23 &&
    (minute ?? 0) <= 59 &&
    (second ?? 0) <= 60
  );
}

interface SettingFormat {
  validate(value: unknown, schema: SettingSchema<unknown>): void;
}

/** Our convict formats, by name; also read directly to phrase a problem convict cannot see. */
export const FORMATS: Readonly<Record<string, SettingFormat>> = {
  "sr-text": {
    validate(value: unknown) {
      present(value);
      if (typeof value !== "string") throw new Error("is not a string");
      if (value.trim() === "") throw new Error("must not be empty");
    },
  },
  "sr-bool": {
    validate(value: unknown) {
      present(value);
      if (typeof value !== "boolean") throw new Error("is not a boolean (use true or false)");
    },
  },
  "sr-int": {
    validate(value: unknown, schema: SettingSchema<unknown>) {
      present(value);
      if (typeof value !== "number" || !Number.isInteger(value)) {
        throw new Error("is not an integer");
      }
      const min = typeof schema.min === "number" ? schema.min : -Infinity;
      const max = typeof schema.max === "number" ? schema.max : Infinity;
      if (value < min || value > max) {
        throw new Error(
          max === Infinity ? `is less than ${min}` : `is not between ${min} and ${max}`,
        );
      }
    },
  },
  "sr-port": {
    validate(value: unknown) {
      present(value);
      if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 65535) {
        throw new Error("is not a port number (0-65535)");
      }
    },
  },
  "sr-duration": {
    validate(value: unknown, schema: SettingSchema<unknown>) {
      present(value);
      const ms = typeof value === "string" ? parseDuration(value) : undefined;
      if (ms === undefined) throw new Error("is not a duration (use e.g. 1h, 30m)");
      const min = durationBound(schema.min);
      const max = durationBound(schema.max);
      if (min !== undefined && ms < min) throw new Error(`is shorter than ${String(schema.min)}`);
      if (max !== undefined && ms > max) throw new Error(`is longer than ${String(schema.max)}`);
    },
  },
  "sr-enum": {
    validate(value: unknown, schema: SettingSchema<unknown>) {
      present(value);
      const values = schema.values ?? [];
      if (typeof value !== "string" || !values.includes(value)) {
        throw new Error(`is not one of ${values.join(", ")}`);
      }
    },
  },
  "sr-nats-urls": {
    validate(value: unknown) {
      present(value);
      if (typeof value !== "string") throw new Error("is not a string of comma-separated URLs");
      const urls = splitNatsUrls(value);
      for (const url of urls) {
        if (url === "") throw new Error("has an empty entry in its URL list");
        if (!checkNatsUrl(url)) {
          const what =
            urls.length > 1 ? `has an invalid URL ${JSON.stringify(url)}` : "is not a URL";
          throw new Error(`${what} (use nats://host:port or tls://host:port)`);
        }
      }
    },
  },
  "sr-http-url": {
    validate(value: unknown) {
      present(value);
      let ok = false;
      try {
        const url = new URL(String(value));
        ok = typeof value === "string" && (url.protocol === "http:" || url.protocol === "https:");
      } catch {
        ok = false;
      }
      if (!ok) throw new Error("is not an http:// or https:// URL");
    },
  },
  "sr-timestamp": {
    validate(value: unknown) {
      present(value);
      if (typeof value !== "string" || !isRfc3339(value)) {
        throw new Error("is not an RFC 3339 timestamp (use e.g. 2024-05-01T12:00:00Z)");
      }
    },
  },
};

/** Makes the formats known to convict (a global registry); calling it again changes nothing. */
export function registerFormats(): void {
  convict.addFormats(FORMATS);
}

/** Formats whose values are strings: for these an empty string means "not given", as in Go. */
export const STRING_FORMATS: ReadonlySet<unknown> = new Set([
  "sr-text",
  "sr-enum",
  "sr-duration",
  "sr-nats-urls",
  "sr-http-url",
  "sr-timestamp",
]);
