/**
 * The reference documentation of every setting, read from the schemas: what
 * scripts/gen-config-doc.ts renders into docs/configuration.md.
 */
import { advisorySchema } from "./schema/advisory";
import { jetStreamSchema } from "./schema/jetstream";
import { authSchema, basicAuthSchema, httpTlsSchema, tlsSchema } from "./schema/security";
import type { BlockSchema, SettingSchema } from "./schema/setting";
import { settingsSchema } from "./schema/settings";
import { topicSchema } from "./schema/topic";

/** One documented setting, for docs/configuration.md. */
export interface SettingDoc {
  key: string;
  env?: string;
  type: string;
  default: string;
  doc: string;
}

/** Human name of each format, for docs. */
function describeType(entry: SettingSchema<unknown>): string {
  const bounds = (unit = "") =>
    entry.min !== undefined || entry.max !== undefined
      ? ` (${entry.min !== undefined ? `min ${String(entry.min)}${unit}` : ""}${
          entry.min !== undefined && entry.max !== undefined ? ", " : ""
        }${entry.max !== undefined ? `max ${String(entry.max)}${unit}` : ""})`
      : "";
  switch (entry.format) {
    case "sr-text":
      return "string";
    case "sr-bool":
      return "boolean";
    case "sr-int":
      return `integer${bounds()}`;
    case "sr-port":
      return "port (0-65535)";
    case "sr-duration":
      return `duration${bounds()}`;
    case "sr-enum":
      return (entry.values ?? []).join(" | ");
    case "sr-nats-urls":
      return "URL list";
    case "sr-http-url":
      return "http(s) URL";
    case "sr-timestamp":
      return "RFC 3339 timestamp";
    default:
      return "mapping";
  }
}

function describe(schema: BlockSchema): SettingDoc[] {
  return Object.entries<SettingSchema<unknown>>(schema).map(([key, entry]) => {
    const value = entry.default;
    const shown =
      entry.defaultText ??
      (value === null ? (entry.nullable ? "—" : "required") : `\`${String(value)}\``);
    return {
      key,
      ...(entry.env ? { env: entry.env } : {}),
      type: describeType(entry),
      default: shown,
      doc: entry.doc,
    };
  });
}

/** Every setting of every schema, in schema order, for the reference documentation. */
export function describeSettings(): {
  settings: SettingDoc[];
  topic: SettingDoc[];
  advisory: SettingDoc[];
  jetstream: SettingDoc[];
  tls: SettingDoc[];
  auth: SettingDoc[];
  httpTls: SettingDoc[];
  basicAuth: SettingDoc[];
} {
  return {
    settings: describe(settingsSchema),
    topic: describe(topicSchema),
    advisory: describe(advisorySchema),
    jetstream: describe(jetStreamSchema),
    tls: describe(tlsSchema),
    auth: describe(authSchema),
    httpTls: describe(httpTlsSchema),
    basicAuth: describe(basicAuthSchema),
  };
}
