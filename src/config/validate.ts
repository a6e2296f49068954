/**
 * The convict adapter: validates one flat block of settings against its schema and phrases
 * every problem as `<key>: <value> <predicate>`, the way ConfigError lines read. A secret's
 * value is never shown, and URL credentials are masked in any value that is.
 */
import convict from "convict";
import { didYouMean } from "./did-you-mean";
import { FORMATS, STRING_FORMATS, registerFormats } from "./formats";
import type { BlockSchema, SettingSchema } from "./schema/setting";

export type Mapping = Record<string, unknown>;
/** Reports a problem at `key` (relative to the block being checked); never returns. */
export type Fail = (key: string, problem: string) => never;

/**
 * Validates one flat block (the top level, a topic, an advisory or a tls block) with its own
 * convict instance in strict mode, and returns convict's values (null = not given).
 */
export function validateBlock<T>(
  schema: BlockSchema,
  input: Mapping,
  fail: Fail,
  env: NodeJS.ProcessEnv = {},
  overrides: object = {},
): T {
  const raw: Mapping = {};
  for (const [key, value] of Object.entries(input)) {
    const entry = schema[key];
    // As in the Go tool, `key:`, `key: ~` and (for string settings) `key: ""` mean "not given".
    if (
      entry !== undefined &&
      (value === null || (value === "" && STRING_FORMATS.has(entry.format)))
    ) {
      continue;
    }
    // Convict would crash on (or parse as JSON) a value of the wrong shape: phrase it here.
    if (entry !== undefined && (entry.format === Object) !== isMapping(value)) {
      const problem = entry.format === Object ? "is not a mapping" : formatProblem(entry, value);
      fail(key, entry.sensitive ? problem : `${show(value)} ${problem}`);
    }
    raw[key] = value;
  }
  registerFormats();
  const config = convict<T>(schema as convict.Schema<T>, { env, args: [] });
  config.load(raw);
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) config.set(key, value);
  }
  try {
    config.validate({ allowed: "strict" });
  } catch (err) {
    const { key, problem, known } = convictProblem((err as Error).message, schema);
    // A secret's value is never shown, not even a wrong one.
    const value: unknown = known && !schema[key]?.sensitive ? config.get(key as never) : null;
    fail(key, value === null || value === undefined ? problem : `${show(value)} ${problem}`);
  }
  return config.getProperties();
}

/** Turns convict's error text (one line per problem) into our key and phrase. */
function convictProblem(
  text: string,
  schema: BlockSchema,
): { key: string; problem: string; known: boolean } {
  const lines = text.split("\n");
  // An unknown key is reported first: a misspelt key would otherwise show as a missing one.
  for (const line of lines) {
    const unknown = /^configuration param '(.+)' not declared in the schema$/.exec(line);
    if (unknown !== null) {
      const key = (unknown[1] ?? "").split(".")[0] ?? "";
      const near = didYouMean(key, Object.keys(schema));
      const problem = `is not a known setting${near ? ` (did you mean ${near}?)` : ""}`;
      return { key, problem, known: false };
    }
  }
  const first = lines[0] ?? text;
  const invalid = /^([^\s:]+): (.*?)(?:: value was .*)?$/.exec(first);
  const key = invalid?.[1] ?? "";
  if (invalid !== null && key in schema) return { key, problem: invalid[2] ?? "", known: true };
  return { key: /'([^']+)'/.exec(first)?.[1] ?? "", problem: first, known: false };
}

function formatProblem(entry: SettingSchema<unknown>, value: unknown): string {
  try {
    FORMATS[String(entry.format)]?.validate(value, entry);
  } catch (err) {
    return (err as Error).message;
  }
  return "is not valid here";
}

export function isMapping(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** What a value is, for a message: "a list", "a string", "empty". */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return "empty";
  if (Array.isArray(value)) return "a list";
  return `a ${typeof value}`;
}

/** A value as it appears in a message: JSON, without URL passwords or tokens, shortened. */
export function show(value: unknown): string {
  const text = (JSON.stringify(value) ?? String(value))
    .replace(/\/\/([^/@:\s]*):[^/@\s]*@/g, "//$1:***@")
    .replace(/\/\/[^/@:\s"]+@/g, "//***@");
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
