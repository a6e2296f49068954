/**
 * Reading the configuration file: YAML 1.1 as the Go tool parses it, and the wording of a file
 * that cannot be read, is not YAML, or is not a mapping of settings.
 */
import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { ConfigError } from "../errors";
import { DEFAULT_CONFIG_FILE } from "./env";
import { isMapping, kindOf } from "./validate";
import type { Mapping } from "./validate";

/** The file's content as plain data (mappings, lists, strings, numbers, booleans, null). */
export function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? file === DEFAULT_CONFIG_FILE
          ? "file not found (the default path: give one with --config FILE or SR_CONFIG)"
          : "file not found"
        : code === "EISDIR"
          ? "is a directory, not a file"
          : `cannot read file (${(err as Error).message})`;
    throw new ConfigError(`config ${file}: ${why}`, file);
  }
  // YAML 1.1, like the Go tool's parser: yes/no/on/off are booleans, `<<` merges work.
  // Timestamps stay strings (start_time is validated as RFC 3339 text).
  const doc = parseDocument(text, {
    version: "1.1",
    merge: true,
    customTags: (tags) =>
      tags.filter((t) =>
        typeof t === "string" ? t !== "timestamp" : t.tag !== "tag:yaml.org,2002:timestamp",
      ),
  });
  const [error] = doc.errors;
  if (error !== undefined) {
    const where = error.linePos
      ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}: `
      : "";
    const what = error.message.split(" at line ")[0];
    throw new ConfigError(`config ${file}: ${where}invalid YAML: ${what}`, file);
  }
  try {
    return doc.toJS();
  } catch (err) {
    throw new ConfigError(`config ${file}: invalid YAML: ${(err as Error).message}`, file);
  }
}

/** The document's top level, which must be a mapping of settings. */
export function topLevelMapping(data: unknown, file: string): Mapping {
  if (data === null || data === undefined) {
    throw new ConfigError(
      `config ${file}: the file is empty (expected settings and topics:)`,
      file,
    );
  }
  if (!isMapping(data)) {
    throw new ConfigError(
      `config ${file}: the top level must be a mapping of settings (with topics:), not ${kindOf(data)}`,
      file,
    );
  }
  return data;
}
