/**
 * loadConfig(): reads the YAML file, expands `${VAR}` references, validates it against the
 * convict schemas, reads the files it refers to (TLS, secrets) and returns the frozen, typed
 * AppConfig. Precedence: flags (overrides) > environment > YAML > defaults.
 * Every user mistake is a ConfigError with one line: `config <file>: <where>: <problem>`;
 * no secret's value is ever part of it.
 */
import { readFileSync } from "node:fs";
import { ConfigError } from "../errors";
import { durationMs } from "./duration";
import { configFile, loadSettings } from "./env";
import type { ConfigOverrides } from "./env";
import { expandEnv } from "./expand";
import type { RawSettings } from "./schema/settings";
import { loadBasicAuth, loadHttpTls } from "./security";
import type { ReadFile } from "./security";
import { loadTopic, loadTopicDefaults } from "./topic";
import type { AppConfig, HttpConfig, LogLevel } from "./types";
import type { Fail } from "./validate";
import { readYaml, topLevelMapping } from "./yaml";

export interface LoadOptions {
  /** The --config flag; beats SR_CONFIG. */
  file?: string;
  /** The --topic flags; all topics when absent or empty. */
  topics?: readonly string[];
  /** Defaults to process.env. Also the source of `${VAR}` references in the file. */
  env?: NodeJS.ProcessEnv;
  overrides?: ConfigOverrides;
  /** Reads the files the configuration refers to (TLS, secrets); defaults to fs.readFileSync. */
  readFile?: ReadFile;
}

export function loadConfig(options: LoadOptions = {}): AppConfig {
  const env = options.env ?? process.env;
  const file = configFile(options.file, env);
  // key: relative to the topic when there is one, else the top-level key or variable.
  const fail = (path: string, problem: string, topic?: string, key?: string): never => {
    throw new ConfigError(`config ${file}: ${path}: ${problem}`, file, topic, key);
  };
  const readFile = options.readFile ?? ((path: string) => readFileSync(path));
  const data = expandEnv(readYaml(file), env, (path, problem) => {
    const inTopic = path[0] === "topics" && path.length > 2;
    const rest = path.slice(inTopic ? 2 : 0).join(".");
    return fail(path.join("."), problem, inTopic ? path[1] : undefined, rest);
  });
  const settings = loadSettings(topLevelMapping(data, file), env, options.overrides ?? {}, (k, p) =>
    fail(k, p, undefined, k),
  );
  const topLevel =
    (block: string): Fail =>
    (k, p) =>
      fail(`${block}.${k}`, p, undefined, `${block}.${k}`);
  const defaults = loadTopicDefaults(settings, readFile, topLevel);

  const names = Object.keys(settings.topics);
  if (names.length === 0) fail("topics", "at least one topic is required", undefined, "topics");
  const topics = names.map((name) =>
    loadTopic(name, settings.topics[name], defaults, readFile, (key, problem) =>
      fail(
        key === "" ? `topics.${name}` : `topics.${name}.${key}`,
        problem,
        name,
        key || undefined,
      ),
    ),
  );
  const wanted = [...new Set(options.topics ?? [])];
  for (const name of wanted) {
    if (!names.includes(name)) {
      fail(`topics.${name}`, `is not defined (defined: ${names.join(", ")})`, name);
    }
  }

  return deepFreeze({
    file,
    logLevel: logLevel(settings),
    logFormat: settings.log_format,
    ...(settings.logfile !== null ? { logfile: settings.logfile } : {}),
    ...(settings.state_dir !== null ? { stateDir: settings.state_dir } : {}),
    stateSaveIntervalMs: durationMs(settings.state_save_interval),
    shutdownTimeoutMs: durationMs(settings.shutdown_timeout),
    http: loadHttp(settings, readFile, topLevel),
    topics: wanted.length === 0 ? topics : topics.filter((t) => wanted.includes(t.key)),
  });
}

/** log_level, else the original tool's switches: debug, then verbose. */
function logLevel(settings: RawSettings): LogLevel {
  return settings.log_level ?? (settings.debug ? "debug" : settings.verbose ? "verbose" : "info");
}

function loadHttp(
  settings: RawSettings,
  readFile: ReadFile,
  topLevel: (block: string) => Fail,
): HttpConfig {
  const tls =
    settings.http_tls === null
      ? undefined
      : loadHttpTls(settings.http_tls, readFile, topLevel("http_tls"));
  const basicAuth =
    settings.http_basic_auth === null
      ? undefined
      : loadBasicAuth(settings.http_basic_auth, readFile, topLevel("http_basic_auth"));
  return {
    host: settings.http_host,
    port: settings.http_port,
    ...(tls !== undefined ? { tls } : {}),
    ...(basicAuth !== undefined ? { basicAuth } : {}),
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
