/**
 * The process-level settings and where each value comes from: command-line flags (overrides)
 * beat the `SR_` environment variables, which beat the YAML file, which beats the defaults. A
 * problem is reported under the name of the source that set the value: `--http-port`,
 * `SR_HTTP_PORT` or `http_port`.
 */
import type { SettingSchema } from "./schema/setting";
import { settingsSchema } from "./schema/settings";
import type { RawSettings } from "./schema/settings";
import type { LogFormat, LogLevel } from "./types";
import { isMapping, validateBlock } from "./validate";
import type { Fail, Mapping } from "./validate";

/** The config file path; not part of the schema since it cannot come from the file itself. */
export const CONFIG_ENV = "SR_CONFIG";
export const CONFIG_ENV_DOC =
  "Path of the YAML configuration file, used when --config is not given (default /etc/stream-replicator/sr.yaml).";

/** The process-level environment variables, from the schema. */
export const ENV_VARS: readonly string[] = [
  CONFIG_ENV,
  ...Object.values(settingsSchema).flatMap((entry) => (entry.env ? [entry.env] : [])),
];

/** Process-level settings a command-line flag may set; they beat environment and YAML. */
export interface ConfigOverrides {
  log_level?: LogLevel;
  log_format?: LogFormat;
  logfile?: string;
  state_dir?: string;
  http_host?: string;
  http_port?: number;
}

/** The original tool's path, read when neither --config nor SR_CONFIG names a file. */
export const DEFAULT_CONFIG_FILE = "/etc/stream-replicator/sr.yaml";

/**
 * The file to read: the --config flag, else SR_CONFIG (an empty one counts as unset), else the
 * default path.
 */
export function configFile(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? (env[CONFIG_ENV] || undefined) ?? DEFAULT_CONFIG_FILE;
}

/**
 * The top-level settings of `data` with environment and flags applied. `fail` receives the
 * name of the source: the flag, the variable or the key. The topics are not validated here.
 */
export function loadSettings(
  data: Mapping,
  env: NodeJS.ProcessEnv,
  overrides: ConfigOverrides,
  fail: Fail,
): RawSettings {
  // Only our variables; an empty one counts as unset. A port's digits become its number here,
  // so YAML stays strict (monitor: "10000" is an error) and "80x" is not read as 80.
  const ours: Record<string, unknown> = {};
  for (const entry of Object.values<SettingSchema<unknown>>(settingsSchema)) {
    const text = entry.env === undefined ? undefined : env[entry.env];
    if (entry.env === undefined || text === undefined || text === "") continue;
    ours[entry.env] = entry.format === "sr-port" && /^\d+$/.test(text.trim()) ? Number(text) : text;
  }
  const source = (key: string): string => {
    if (key in overrides) return `--${key.replace(/_/g, "-")}`;
    const name = settingsSchema[key as keyof RawSettings]?.env;
    return name !== undefined && ours[name] !== undefined ? name : key;
  };
  // Topic names are free text and may contain dots, which convict would read as nesting: it
  // only checks that `topics` is a mapping, the topics themselves are validated one by one.
  const topics = isMapping(data.topics) ? data.topics : undefined;
  const settings = validateBlock<RawSettings>(
    settingsSchema,
    topics ? { ...data, topics: {} } : data,
    (key, problem) => fail(source(key), problem),
    ours as NodeJS.ProcessEnv,
    overrides,
  );
  if (topics) settings.topics = topics;
  return settings;
}
