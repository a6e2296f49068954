/**
 * loadConfig(): reads the YAML file, expands `${VAR}` references, validates it against the
 * convict schemas, reads the files it refers to (TLS, secrets) and returns the frozen, typed
 * AppConfig. Precedence: flags (overrides) > environment > YAML > defaults.
 * Every user mistake is a ConfigError with one line: `config <file>: <where>: <problem>`;
 * no secret's value is ever part of it.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import convict from "convict";
import { parseDocument } from "yaml";
import { ConfigError } from "../errors";
import { parseDuration } from "./duration";
import { expandEnv } from "./expand";
import {
  CONFIG_ENV,
  FORMATS,
  STRING_FORMATS,
  advisorySchema,
  authSchema,
  basicAuthSchema,
  httpTlsSchema,
  settingsSchema,
  splitNatsUrls,
  tlsSchema,
  topicSchema,
} from "./schema";
import type {
  RawAdvisory,
  RawAuth,
  RawBasicAuth,
  RawHttpTls,
  RawSettings,
  RawTls,
  RawTopic,
  SettingSchema,
} from "./schema";
import { checkTlsFiles, loadAuth, loadBasicAuth, loadHttpTls } from "./security";
import type { ReadFile } from "./security";
import type {
  AdvisoryConfig,
  AppConfig,
  HttpConfig,
  LogFormat,
  LogLevel,
  NatsAuth,
  StartPosition,
  TlsConfig,
  TopicConfig,
} from "./types";

/** Process-level settings a command-line flag may set; they beat environment and YAML. */
export interface ConfigOverrides {
  log_level?: LogLevel;
  log_format?: LogFormat;
  logfile?: string;
  state_dir?: string;
  http_host?: string;
  http_port?: number;
}

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

type Mapping = Record<string, unknown>;
type Schema = Readonly<Record<string, SettingSchema<unknown>>>;
/** Reports a problem at `key` (relative to the block being checked); never returns. */
type Fail = (key: string, problem: string) => never;

/** What a topic inherits from the top level when it has no block of its own. */
interface TopicDefaults {
  tls?: TlsConfig;
  sourceAuth?: NatsAuth;
  targetAuth?: NatsAuth;
}

const START_KEYS = ["start_at", "start_sequence", "start_time", "start_delta"] as const;

export function loadConfig(options: LoadOptions = {}): AppConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? (env[CONFIG_ENV] || undefined);
  if (file === undefined) {
    throw new ConfigError(
      `config: no configuration file given (use --config FILE or set ${CONFIG_ENV})`,
    );
  }
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

  // Topic names are free text and may contain dots, which convict would read as nesting: it
  // only checks that `topics` is a mapping, the topics themselves are validated one by one.
  const rawTopics = isMapping(data.topics) ? data.topics : undefined;
  const settings = loadSettings(
    rawTopics ? { ...data, topics: {} } : data,
    env,
    options.overrides ?? {},
    fail,
  );
  if (rawTopics) settings.topics = rawTopics;
  const topLevel =
    (block: string): Fail =>
    (k, p) =>
      fail(`${block}.${k}`, p, undefined, `${block}.${k}`);
  const defaults: TopicDefaults = {
    ...(settings.tls !== null ? { tls: loadTls(settings.tls, readFile, topLevel("tls")) } : {}),
    ...authEntry("sourceAuth", settings.source_auth, readFile, topLevel("source_auth")),
    ...authEntry("targetAuth", settings.target_auth, readFile, topLevel("target_auth")),
  };

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
    logLevel:
      settings.log_level ?? (settings.debug ? "debug" : settings.verbose ? "verbose" : "info"),
    logFormat: settings.log_format,
    ...(settings.logfile !== null ? { logfile: settings.logfile } : {}),
    ...(settings.state_dir !== null ? { stateDir: settings.state_dir } : {}),
    stateSaveIntervalMs: ms(settings.state_save_interval),
    shutdownTimeoutMs: ms(settings.shutdown_timeout),
    http: loadHttp(settings, readFile, topLevel),
    topics: wanted.length === 0 ? topics : topics.filter((t) => wanted.includes(t.key)),
  });
}

function loadHttp(
  settings: RawSettings,
  readFile: ReadFile,
  topLevel: (block: string) => Fail,
): HttpConfig {
  const tls =
    settings.http_tls === null
      ? undefined
      : loadHttpTls(
          validateBlock<RawHttpTls>(httpTlsSchema, settings.http_tls, topLevel("http_tls")),
          readFile,
          topLevel("http_tls"),
        );
  const basicAuth =
    settings.http_basic_auth === null
      ? undefined
      : loadBasicAuth(
          validateBlock<RawBasicAuth>(
            basicAuthSchema,
            settings.http_basic_auth,
            topLevel("http_basic_auth"),
          ),
          readFile,
          topLevel("http_basic_auth"),
        );
  return {
    host: settings.http_host,
    port: settings.http_port,
    ...(tls !== undefined ? { tls } : {}),
    ...(basicAuth !== undefined ? { basicAuth } : {}),
  };
}

/** `{ [name]: auth }` for a given source_auth / target_auth block, `{}` otherwise. */
function authEntry<K extends "sourceAuth" | "targetAuth">(
  name: K,
  block: Mapping | null,
  readFile: ReadFile,
  fail: Fail,
): { [P in K]?: NatsAuth } {
  if (block === null) return {};
  const auth = loadAuth(validateBlock<RawAuth>(authSchema, block, fail), readFile, fail);
  return auth === undefined ? {} : ({ [name]: auth } as { [P in K]?: NatsAuth });
}

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "file not found"
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

function loadSettings(
  data: Mapping,
  env: NodeJS.ProcessEnv,
  overrides: ConfigOverrides,
  fail: (path: string, problem: string, topic?: string, key?: string) => never,
): RawSettings {
  // Only our variables; an empty one counts as unset. A port's digits become its number here,
  // so YAML stays strict (monitor: "10000" is an error) and "80x" is not read as 80.
  const ours: Record<string, unknown> = {};
  for (const entry of Object.values<SettingSchema<unknown>>(settingsSchema)) {
    const text = entry.env === undefined ? undefined : env[entry.env];
    if (entry.env === undefined || text === undefined || text === "") continue;
    ours[entry.env] = entry.format === "sr-port" && /^\d+$/.test(text.trim()) ? Number(text) : text;
  }
  // A problem is reported under the name of the source that set the value.
  const source = (key: string): string => {
    if (key in overrides) return `--${key.replace(/_/g, "-")}`;
    const name = settingsSchema[key as keyof RawSettings]?.env;
    return name !== undefined && ours[name] !== undefined ? name : key;
  };
  return validateBlock<RawSettings>(
    settingsSchema,
    data,
    (key, problem) => fail(source(key), problem, undefined, source(key)),
    ours as NodeJS.ProcessEnv,
    overrides,
  );
}

/**
 * Validates one flat block (the top level, a topic, an advisory or a tls block) with its own
 * convict instance in strict mode, and returns convict's values (null = not given).
 */
function validateBlock<T>(
  schema: Schema,
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
  schema: Schema,
): { key: string; problem: string; known: boolean } {
  const lines = text.split("\n");
  // An unknown key is reported first: a misspelt key would otherwise show as a missing one.
  for (const line of lines) {
    const unknown = /^configuration param '(.+)' not declared in the schema$/.exec(line);
    if (unknown !== null) {
      const key = (unknown[1] ?? "").split(".")[0] ?? "";
      const near = closest(key, Object.keys(schema));
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

function loadTopic(
  name: string,
  value: unknown,
  defaults: TopicDefaults,
  readFile: ReadFile,
  fail: Fail,
): TopicConfig {
  if (value !== null && !isMapping(value)) {
    fail("", `is ${kindOf(value)}, not a mapping of topic settings`);
  }
  const given = (value ?? {}) as Mapping;
  const t = validateBlock<RawTopic>(topicSchema, given, fail);

  const workers = t.workers;
  if (t.queued === false && workers > 1) {
    fail(
      "queued",
      `false conflicts with workers: ${workers} (more than one worker needs a queue group)`,
    );
  }
  if (t.inspect !== null && t.age === null) fail("inspect", "needs age (e.g. age: 1h)");
  if (t.update_flag !== null && t.inspect === null) fail("update_flag", "needs inspect");
  if (t.advisory !== null && (t.inspect === null || t.age === null)) {
    fail("advisory", "needs inspect and age");
  }
  const starts = START_KEYS.filter((key) => given[key] !== null && given[key] !== undefined);
  if (starts.length > 1) {
    fail(
      starts[1] ?? "",
      `cannot be combined with ${starts[0]} (give at most one of ${START_KEYS.join(", ")})`,
    );
  }

  const underscored = t.topic.replace(/\./g, "_");
  const advisory = t.advisory === null ? undefined : loadAdvisory(t.advisory, fail);
  const tls =
    t.tls === null ? defaults.tls : loadTls(t.tls, readFile, (k, p) => fail(`tls.${k}`, p));
  const auth: Pick<TopicDefaults, "sourceAuth" | "targetAuth"> = {
    ...(t.source_auth === null
      ? pick(defaults, "sourceAuth")
      : authEntry("sourceAuth", t.source_auth, readFile, (k, p) => fail(`source_auth.${k}`, p))),
    ...(t.target_auth === null
      ? pick(defaults, "targetAuth")
      : authEntry("targetAuth", t.target_auth, readFile, (k, p) => fail(`target_auth.${k}`, p))),
  };
  // Client ids are `<name>_<n>`, and STAN accepts only [A-Za-z0-9_-] in a client id.
  const durable =
    t.name ?? `${name.replace(/[^A-Za-z0-9_-]/g, "_")}_${underscored}_stream_replicator`;
  if (!/^[A-Za-z0-9_-]+$/.test(durable)) {
    fail(
      "name",
      `"${durable}" may only hold letters, digits, _ and - (it prefixes STAN client ids)`,
    );
  }
  return {
    key: name,
    topic: t.topic,
    targetTopic: t.target_topic ?? t.topic,
    sourceUrls: splitNatsUrls(t.source_url),
    sourceClusterId: t.source_cluster_id,
    targetUrls: splitNatsUrls(t.target_url),
    targetClusterId: t.target_cluster_id,
    workers,
    queued: t.queued ?? workers > 1,
    queueGroup: t.queue_group ?? `${underscored}_stream_replicator_grp`,
    name: durable,
    ...(t.inspect !== null ? { inspect: t.inspect } : {}),
    ...(t.update_flag !== null ? { updateFlag: t.update_flag } : {}),
    ...(t.age !== null ? { ageMs: ms(t.age) } : {}),
    ...(t.monitor !== null && t.monitor !== 0 ? { monitor: t.monitor } : {}),
    ...(advisory !== undefined ? { advisory } : {}),
    ...(tls !== undefined ? { tls } : {}),
    disableSourceTls: t.disable_source_tls,
    disableTargetTls: t.disable_target_tls,
    ...auth,
    startAt: startPosition(t),
    maxInFlight: t.max_in_flight,
    ackWaitMs: ms(t.ack_wait),
    publishTimeoutMs: ms(t.publish_timeout),
    ...(t.source_monitor_url !== null ? { sourceMonitorUrl: t.source_monitor_url } : {}),
  };
}

function loadAdvisory(block: Mapping, fail: Fail): AdvisoryConfig {
  const a = validateBlock<RawAdvisory>(advisorySchema, block, (k, p) => fail(`advisory.${k}`, p));
  return {
    target: a.target,
    cluster: a.cluster,
    ageMs: ms(a.age),
    ...(a.interval !== null ? { intervalMs: ms(a.interval) } : {}),
  };
}

function pick<K extends keyof TopicDefaults>(defaults: TopicDefaults, key: K): TopicDefaults {
  return defaults[key] === undefined ? {} : { [key]: defaults[key] };
}

/**
 * The tls block, with the original tool's ssl_dir and puppet layout resolved to file paths,
 * and every file checked.
 */
function loadTls(block: Mapping, readFile: ReadFile, fail: Fail): TlsConfig {
  const t = validateBlock<RawTls>(tlsSchema, block, fail);
  const inDir = (path: string): string =>
    t.ssl_dir !== null && !isAbsolute(path) ? join(t.ssl_dir, path) : path;
  let { ca, cert, key } = t;
  if (t.scheme === "puppet") {
    if (t.ssl_dir === null) fail("ssl_dir", "is required with scheme: puppet");
    if (t.identity === null) fail("identity", "is required with scheme: puppet");
    ca ??= join("certs", "ca.pem");
    cert ??= join("certs", `${t.identity}.pem`);
    key ??= join("private_keys", `${t.identity}.pem`);
  }
  if (cert !== null && key === null) fail("key", "is required when cert is given");
  if (key !== null && cert === null) fail("cert", "is required when key is given");
  const tls: TlsConfig = {
    ...(ca !== null ? { ca: inDir(ca) } : {}),
    ...(cert !== null ? { cert: inDir(cert) } : {}),
    ...(key !== null ? { key: inDir(key) } : {}),
    ...(t.server_name !== null ? { serverName: t.server_name } : {}),
  };
  checkTlsFiles(tls, readFile, fail);
  return tls;
}

function startPosition(t: RawTopic): StartPosition {
  if (t.start_sequence !== null) return { kind: "sequence", sequence: t.start_sequence };
  if (t.start_time !== null) return { kind: "time", time: new Date(t.start_time) };
  if (t.start_delta !== null) return { kind: "delta", ms: ms(t.start_delta) };
  return { kind: t.start_at };
}

/** A duration convict has already validated. */
function ms(duration: string): number {
  return parseDuration(duration) ?? NaN;
}

function isMapping(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return "empty";
  if (Array.isArray(value)) return "a list";
  return `a ${typeof value}`;
}

/** A value as it appears in a message: JSON, without URL passwords or tokens, shortened. */
function show(value: unknown): string {
  const text = (JSON.stringify(value) ?? String(value))
    .replace(/\/\/([^/@:\s]*):[^/@\s]*@/g, "//$1:***@")
    .replace(/\/\/[^/@:\s"]+@/g, "//***@");
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The known key closest to a misspelt one (edit distance at most 2). */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = distance(key, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + cost));
    }
    row = next;
  }
  return row[b.length] ?? 0;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
