import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config";
import type { AppConfig, LoadOptions, TopicConfig } from "../../src/config";
import { ConfigError } from "../../src/errors";
import { CONFIG_DOC_PATH, renderConfigDoc } from "../../scripts/gen-config-doc";
import { makeTestCerts } from "../support/certs";

const FIXTURES = join(__dirname, "..", "fixtures", "config");
const fixture = (name: string): string => join(FIXTURES, name);
const tmp = mkdtempSync(join(tmpdir(), "sr-config-test-"));
let written = 0;

/**
 * The fixtures name TLS files that do not exist on this machine (/etc/sr/ca.pem...): the loader
 * checks every file it is given, so these tests read real PEMs in their place, by name.
 */
const certs = makeTestCerts();
function fakeTlsFiles(path: string): Buffer {
  const name = path.split("/").pop() ?? "";
  if (path.includes("private_keys") || /(^|[-_.])(key|k)\.pem$/.test(name)) {
    return readFileSync(certs.clientKey);
  }
  return readFileSync(/ca\.pem$/.test(name) ? certs.ca : certs.clientCert);
}

/** Writes `yaml` to a new temp file and returns its path. */
function writeYaml(yaml: string): string {
  const file = join(tmp, `sr-${++written}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

/** A valid topic block for `cmdb`, with extra lines appended (indented by the caller). */
function withTopic(extra = "", top = ""): string {
  return `${top}topics:
  cmdb:
    topic: acme.cmdb
    source_cluster_id: dc1
    target_url: nats://target1:4222
    target_cluster_id: dc2
${extra}`;
}

function load(yaml: string, options: Omit<LoadOptions, "file"> = {}): AppConfig {
  return loadConfig({ env: {}, readFile: fakeTlsFiles, ...options, file: writeYaml(yaml) });
}

function topicOf(yaml: string, options: Omit<LoadOptions, "file"> = {}): TopicConfig {
  const [topic] = load(yaml, options).topics;
  assert.ok(topic);
  return topic;
}

/** Asserts that loading throws a ConfigError with exactly `config <file>: <line>`. */
function assertConfigError(
  file: string,
  options: Omit<LoadOptions, "file">,
  line: string,
  fields: { topic?: string; key?: string } = {},
): void {
  assert.throws(
    () => loadConfig({ env: {}, ...options, file }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      assert.equal(err.message, `config ${file}: ${line}`);
      assert.equal(err.file, file);
      assert.equal(err.topic, fields.topic);
      assert.equal(err.key, fields.key);
      return true;
    },
  );
}

// ---- the original tool's files ----

test("config - the original README example loads with exactly the expected values", () => {
  const file = fixture("original.yaml");
  const config = loadConfig({ file, env: {} });
  assert.deepEqual(config, {
    file,
    logLevel: "info",
    logFormat: "text",
    logfile: "/path/to/logfile",
    stateDir: "/path/to/statedir",
    stateSaveIntervalMs: 30_000,
    shutdownTimeoutMs: 10_000,
    http: { host: "0.0.0.0", port: 9180 },
    topics: [
      {
        key: "cmdb",
        topic: "acme.cmdb",
        targetTopic: "acme.cmdb",
        sourceUrls: ["nats://source1:4222", "nats://source2:4222"],
        sourceClusterId: "dc1",
        targetUrls: ["nats://target1:4222", "nats://target2:4222"],
        target: "stan",
        targetClusterId: "dc2",
        workers: 10,
        queued: true,
        queueGroup: "cmdb",
        name: "cmdb_replicator",
        inspect: "host",
        ageMs: 3_600_000,
        monitor: 10000,
        disableSourceTls: false,
        disableTargetTls: false,
        startAt: { kind: "first" },
        maxInFlight: 1024,
        ackWaitMs: 30_000,
        publishTimeoutMs: 10_000,
        publishPauseAfterMs: 500,
      },
    ],
  });
});

test("config - the original's TLS keys (scheme, ssl_dir, puppet identity) and YAML 1.1 booleans load", () => {
  const config = loadConfig({ file: fixture("legacy-tls.yaml"), env: {}, readFile: fakeTlsFiles });
  assert.equal(config.logLevel, "debug"); // debug: yes
  const [dc1, dc3] = config.topics;
  assert.deepEqual(dc1?.tls, {
    ca: "/tmp/tls/ca.pem",
    cert: "/tmp/tls/cert.pem",
    key: "/tmp/tls/key.pem",
  });
  assert.deepEqual(dc1?.advisory, {
    target: "sr.advisories.cmdb",
    cluster: "target",
    ageMs: 1_800_000,
  });
  assert.deepEqual(dc3?.tls, {
    ca: "/etc/puppetlabs/puppet/ssl/certs/ca.pem",
    cert: "/etc/puppetlabs/puppet/ssl/certs/sr1.example.net.pem",
    key: "/etc/puppetlabs/puppet/ssl/private_keys/sr1.example.net.pem",
  });
  assert.equal(dc3?.advisory?.cluster, "source");
});

test("config - every new key is read and converted", () => {
  const config = loadConfig({ file: fixture("new-keys.yaml"), env: {}, readFile: fakeTlsFiles });
  assert.equal(config.logLevel, "warn");
  assert.equal(config.logFormat, "json");
  assert.equal(config.stateSaveIntervalMs, 60_000);
  assert.equal(config.shutdownTimeoutMs, 2500);
  assert.deepEqual(config.http, { host: "127.0.0.1", port: 9999 });
  const [orders, audit] = config.topics;
  assert.deepEqual(orders, {
    key: "orders",
    topic: "shop.orders",
    targetTopic: "replica.shop.orders",
    sourceUrls: ["nats://source1:4222", "tls://source2:4223"],
    sourceClusterId: "dc1",
    targetUrls: ["nats://user:secret@target1:4222"],
    target: "stan",
    targetClusterId: "dc2",
    workers: 1,
    queued: false,
    queueGroup: "shop_orders_stream_replicator_grp",
    name: "orders_shop_orders_stream_replicator",
    inspect: "id",
    updateFlag: "force",
    ageMs: 5_400_000,
    advisory: { target: "sr.advisories.orders", cluster: "target", ageMs: 2_700_000 },
    tls: { ca: "/etc/sr/ca.pem", cert: "/etc/sr/cert.pem", key: "/etc/sr/key.pem" },
    disableSourceTls: true,
    disableTargetTls: false,
    startAt: { kind: "sequence", sequence: 42 },
    maxInFlight: 64,
    ackWaitMs: 90_000,
    publishTimeoutMs: 500,
    publishPauseAfterMs: 250,
    sourceMonitorUrl: "http://source1:8222",
  });
  assert.deepEqual(audit?.targetUrls, ["nats://target1:4222"]);
  assert.equal(audit?.disableTargetTls, true);
  assert.deepEqual(audit?.startAt, { kind: "last" });
});

// ---- defaults: one test each ----

const minimal = (): AppConfig => loadConfig({ file: fixture("minimal.yaml"), env: {} });
const minimalTopic = (): TopicConfig => {
  const [topic] = minimal().topics;
  assert.ok(topic);
  return topic;
};

test("config default - source_url is nats://localhost:4222", () => {
  assert.deepEqual(minimalTopic().sourceUrls, ["nats://localhost:4222"]);
});
test("config default - workers is 1", () => {
  assert.equal(minimalTopic().workers, 1);
});
test("config default - queued is false with one worker", () => {
  assert.equal(minimalTopic().queued, false);
});
test("config default - queued becomes true with more than one worker", () => {
  assert.equal(topicOf(withTopic("    workers: 2\n")).queued, true);
});
test("config default - queued: true is kept with one worker", () => {
  assert.equal(topicOf(withTopic("    queued: true\n")).queued, true);
});
test("config default - name is <key>_<topic with _>_stream_replicator", () => {
  assert.equal(minimalTopic().name, "cmdb_acme_cmdb_stream_replicator");
});
test("config default - queue_group is <topic with _>_stream_replicator_grp", () => {
  assert.equal(minimalTopic().queueGroup, "acme_cmdb_stream_replicator_grp");
});
test("config default - target_topic is the source topic", () => {
  assert.equal(minimalTopic().targetTopic, "acme.cmdb");
});
test("config default - start position is first", () => {
  assert.deepEqual(minimalTopic().startAt, { kind: "first" });
});
test("config default - max_in_flight is 1024", () => {
  assert.equal(minimalTopic().maxInFlight, 1024);
});
test("config default - ack_wait is 30s", () => {
  assert.equal(minimalTopic().ackWaitMs, 30_000);
});
test("config default - publish_timeout is 10s", () => {
  assert.equal(minimalTopic().publishTimeoutMs, 10_000);
});
test("config default - publish_pause_after is 500ms", () => {
  assert.equal(minimalTopic().publishPauseAfterMs, 500);
});
test("config default - TLS is off and not disabled per side", () => {
  const topic = minimalTopic();
  assert.equal(topic.tls, undefined);
  assert.equal(topic.disableSourceTls, false);
  assert.equal(topic.disableTargetTls, false);
});
test("config default - no inspect, update_flag, age, monitor, advisory or source_monitor_url", () => {
  const topic = minimalTopic();
  for (const key of ["inspect", "updateFlag", "ageMs", "monitor", "advisory", "sourceMonitorUrl"]) {
    assert.equal(key in topic, false, key);
  }
});
test("config default - monitor: 0 means no monitor port, as in the original", () => {
  assert.equal(topicOf(withTopic("    monitor: 0\n")).monitor, undefined);
});
test("config default - advisory cluster is target", () => {
  const topic = topicOf(
    withTopic("    inspect: host\n    age: 1h\n    advisory:\n      target: adv\n      age: 10m\n"),
  );
  assert.equal(topic.advisory?.cluster, "target");
});
test("config default - log level is info", () => {
  assert.equal(minimal().logLevel, "info");
});
test("config default - debug: true means log level debug", () => {
  assert.equal(load(withTopic("", "debug: true\nverbose: true\n")).logLevel, "debug");
});
test("config default - verbose: true means log level verbose", () => {
  assert.equal(load(withTopic("", "verbose: true\n")).logLevel, "verbose");
});
test("config default - log_level wins over debug", () => {
  assert.equal(load(withTopic("", "debug: true\nlog_level: error\n")).logLevel, "error");
});
test("config default - log_format is text", () => {
  assert.equal(minimal().logFormat, "text");
});
test("config default - logfile is stdout (undefined) and there is no state_dir", () => {
  const config = minimal();
  assert.equal("logfile" in config, false);
  assert.equal("stateDir" in config, false);
});
test("config default - state_save_interval is 30s", () => {
  assert.equal(minimal().stateSaveIntervalMs, 30_000);
});
test("config default - shutdown_timeout is 10s", () => {
  assert.equal(minimal().shutdownTimeoutMs, 10_000);
});
test("config default - HTTP listens on 0.0.0.0:9180", () => {
  assert.deepEqual(minimal().http, { host: "0.0.0.0", port: 9180 });
});
test('config default - empty values (key:, ~, "") mean not given', () => {
  const topic = topicOf(withTopic('    name: ""\n    inspect: ~\n    workers:\n'));
  assert.equal(topic.name, "cmdb_acme_cmdb_stream_replicator");
  assert.equal(topic.inspect, undefined);
  assert.equal(topic.workers, 1);
});

// ---- precedence: flags > env > YAML > defaults ----

test("config precedence - an env variable beats the YAML value", () => {
  const config = load(withTopic("", "http_port: 8000\nlog_format: json\nlogfile: /var/log/a\n"), {
    env: { SR_HTTP_PORT: "8001", SR_LOG_FORMAT: "text", SR_LOGFILE: "/var/log/b" },
  });
  assert.equal(config.http.port, 8001);
  assert.equal(config.logFormat, "text");
  assert.equal(config.logfile, "/var/log/b");
});

test("config precedence - env beats the default when YAML says nothing", () => {
  const config = load(withTopic(), {
    env: { SR_HTTP_HOST: "127.0.0.1", SR_STATE_DIR: "/var/lib/sr" },
  });
  assert.equal(config.http.host, "127.0.0.1");
  assert.equal(config.stateDir, "/var/lib/sr");
});

test("config precedence - SR_LOG_LEVEL beats debug: true in YAML", () => {
  assert.equal(
    load(withTopic("", "debug: true\n"), { env: { SR_LOG_LEVEL: "warn" } }).logLevel,
    "warn",
  );
});

test("config precedence - an empty env variable counts as unset", () => {
  const config = load(withTopic("", "http_port: 8000\n"), { env: { SR_HTTP_PORT: "" } });
  assert.equal(config.http.port, 8000);
});

test("config precedence - a flag override beats the env variable", () => {
  const config = load(withTopic("", "http_port: 8000\n"), {
    env: { SR_HTTP_PORT: "8001", SR_LOG_LEVEL: "debug" },
    overrides: { http_port: 8002, log_level: "error" },
  });
  assert.equal(config.http.port, 8002);
  assert.equal(config.logLevel, "error");
});

test("config precedence - --config beats SR_CONFIG", () => {
  const flagFile = writeYaml(withTopic("", "http_port: 1111\n"));
  const envFile = writeYaml(withTopic("", "http_port: 2222\n"));
  const config = loadConfig({ file: flagFile, env: { SR_CONFIG: envFile } });
  assert.equal(config.file, flagFile);
  assert.equal(config.http.port, 1111);
});

test("config precedence - SR_CONFIG is used without --config", () => {
  const envFile = writeYaml(withTopic("", "http_port: 2222\n"));
  const config = loadConfig({ env: { SR_CONFIG: envFile } });
  assert.equal(config.file, envFile);
  assert.equal(config.http.port, 2222);
});

// ---- --topic selection ----

const twoTopics = `topics:
  cmdb:
    topic: acme.cmdb
    source_cluster_id: dc1
    target_url: nats://t:4222
    target_cluster_id: dc2
  audit:
    topic: acme.audit
    source_cluster_id: dc1
    target_url: nats://t:4222
    target_cluster_id: dc2
`;

test("config topics - all topics in file order without --topic", () => {
  assert.deepEqual(
    load(twoTopics).topics.map((t) => t.key),
    ["cmdb", "audit"],
  );
});

test("config topics - --topic selects only the named topics, in file order", () => {
  assert.deepEqual(
    load(twoTopics, { topics: ["audit"] }).topics.map((t) => t.key),
    ["audit"],
  );
  assert.deepEqual(
    load(twoTopics, { topics: ["audit", "cmdb", "audit"] }).topics.map((t) => t.key),
    ["cmdb", "audit"],
  );
});

test("config topics - an unknown --topic is a ConfigError naming it", () => {
  const file = writeYaml(twoTopics);
  assertConfigError(
    file,
    { topics: ["cmdb", "nope"] },
    "topics.nope: is not defined (defined: cmdb, audit)",
    {
      topic: "nope",
    },
  );
});

// ---- start position ----

const startCases: Array<[string, unknown]> = [
  ["start_at: first", { kind: "first" }],
  ["start_at: new", { kind: "new" }],
  ["start_at: last", { kind: "last" }],
  ["start_sequence: 1000", { kind: "sequence", sequence: 1000 }],
  [
    "start_time: 2024-05-01T12:00:00+02:00",
    { kind: "time", time: new Date("2024-05-01T10:00:00Z") },
  ],
  ["start_delta: 1h30m", { kind: "delta", ms: 5_400_000 }],
];

for (const [line, expected] of startCases) {
  test(`config start - ${line} maps to ${JSON.stringify(expected)}`, () => {
    assert.deepEqual(topicOf(withTopic(`    ${line}\n`)).startAt, expected);
  });
}

// ---- TLS ----

test("config tls - a topic block replaces the top-level block as a whole (no merge)", () => {
  const config = load(
    `tls:
  ca: /top/ca.pem
  cert: /top/cert.pem
  key: /top/key.pem
${twoTopics}    tls:
      ca: /audit/ca.pem
`,
  );
  const [cmdb, audit] = config.topics;
  assert.deepEqual(cmdb?.tls, { ca: "/top/ca.pem", cert: "/top/cert.pem", key: "/top/key.pem" });
  assert.deepEqual(audit?.tls, { ca: "/audit/ca.pem" });
});

test("config tls - relative paths are joined with ssl_dir, absolute ones kept", () => {
  const topic = topicOf(
    withTopic(
      "    tls:\n      ssl_dir: /ssl\n      ca: ca.pem\n      cert: /abs/c.pem\n      key: k.pem\n",
    ),
  );
  assert.deepEqual(topic.tls, { ca: "/ssl/ca.pem", cert: "/abs/c.pem", key: "/ssl/k.pem" });
});

// ---- the result ----

test("config - the result is deeply frozen", () => {
  const config = loadConfig({ file: fixture("new-keys.yaml"), env: {}, readFile: fakeTlsFiles });
  const [topic] = config.topics;
  assert.ok(topic);
  for (const value of [
    config,
    config.http,
    config.topics,
    topic,
    topic.sourceUrls,
    topic.startAt,
    topic.tls,
    topic.advisory,
  ]) {
    assert.equal(Object.isFrozen(value), true);
  }
  assert.throws(() => {
    (config as any).logLevel = "debug";
  }, TypeError);
  assert.throws(() => {
    (topic.sourceUrls as string[]).push("nats://x:1");
  }, TypeError);
});

test("config - docs/configuration.md is generated from the current schema", async () => {
  assert.equal(
    readFileSync(CONFIG_DOC_PATH, "utf8"),
    await renderConfigDoc(),
    "run: npx tsx scripts/gen-config-doc.ts",
  );
});

// ---- bad configurations: one clear line each ----

const badTopics: Array<[string, string, string, string]> = [
  // [what, extra topic lines, expected line, key]
  [
    "an unknown topic key",
    "    agee: 1h\n",
    "topics.cmdb.agee: is not a known setting (did you mean age?)",
    "agee",
  ],
  [
    "an unknown topic key without a value",
    "    queue:\n",
    "topics.cmdb.queue: is not a known setting (did you mean queued?)",
    "queue",
  ],
  ["a wrong type", "    workers: ten\n", 'topics.cmdb.workers: "ten" is not an integer', "workers"],
  [
    "a bad duration",
    "    inspect: host\n    age: 1 hour\n",
    'topics.cmdb.age: "1 hour" is not a duration (use e.g. 1h, 30m)',
    "age",
  ],
  [
    "a duration without unit",
    "    ack_wait: 10\n",
    "topics.cmdb.ack_wait: 10 is not a duration (use e.g. 1h, 30m)",
    "ack_wait",
  ],
  [
    "a duration below its minimum",
    "    ack_wait: 500ms\n",
    'topics.cmdb.ack_wait: "500ms" is shorter than 1s',
    "ack_wait",
  ],
  [
    "workers out of range",
    "    workers: 500\n",
    "topics.cmdb.workers: 500 is not between 1 and 128",
    "workers",
  ],
  [
    "max_in_flight out of range",
    "    max_in_flight: 0\n",
    "topics.cmdb.max_in_flight: 0 is not between 1 and 16384",
    "max_in_flight",
  ],
  [
    "queued: false with workers > 1",
    "    workers: 4\n    queued: false\n",
    "topics.cmdb.queued: false conflicts with workers: 4 (more than one worker needs a queue group)",
    "queued",
  ],
  [
    "a non-boolean queued",
    "    queued: maybe\n",
    'topics.cmdb.queued: "maybe" is not a boolean (use true or false)',
    "queued",
  ],
  [
    "inspect without age",
    "    inspect: host\n",
    "topics.cmdb.inspect: needs age (e.g. age: 1h)",
    "inspect",
  ],
  [
    "update_flag without inspect",
    "    update_flag: force\n",
    "topics.cmdb.update_flag: needs inspect",
    "update_flag",
  ],
  [
    "advisory without inspect",
    "    advisory:\n      target: adv\n      age: 1h\n",
    "topics.cmdb.advisory: needs inspect and age",
    "advisory",
  ],
  [
    "an advisory without age",
    "    inspect: h\n    age: 1h\n    advisory:\n      target: adv\n",
    "topics.cmdb.advisory.age: is required",
    "advisory.age",
  ],
  [
    "an advisory cluster other than source|target",
    "    inspect: h\n    age: 1h\n    advisory: {target: adv, age: 1h, cluster: cluster}\n",
    'topics.cmdb.advisory.cluster: "cluster" is not one of source, target',
    "advisory.cluster",
  ],
  [
    "a monitor port out of range",
    "    monitor: 70000\n",
    "topics.cmdb.monitor: 70000 is not a port number (0-65535)",
    "monitor",
  ],
  [
    "a monitor port given as text",
    '    monitor: "10000"\n',
    'topics.cmdb.monitor: "10000" is not a port number (0-65535)',
    "monitor",
  ],
  [
    "an http source URL",
    "    source_url: http://source1:4222\n",
    'topics.cmdb.source_url: "http://source1:4222" is not a URL (use nats://host:port or tls://host:port)',
    "source_url",
  ],
  [
    "a bad entry in a URL list",
    "    source_url: nats://a:4222,nats://b:4222/path\n",
    'topics.cmdb.source_url: "nats://a:4222,nats://b:4222/path" has an invalid URL "nats://b:4222/path" (use nats://host:port or tls://host:port)',
    "source_url",
  ],
  [
    "an empty entry in a URL list",
    "    source_url: nats://a:4222,,nats://b:4222\n",
    'topics.cmdb.source_url: "nats://a:4222,,nats://b:4222" has an empty entry in its URL list',
    "source_url",
  ],
  [
    "two start positions",
    "    start_at: new\n    start_delta: 1h\n",
    "topics.cmdb.start_delta: cannot be combined with start_at (give at most one of start_at, start_sequence, start_time, start_delta)",
    "start_delta",
  ],
  [
    "a bad start_at",
    "    start_at: oldest\n",
    'topics.cmdb.start_at: "oldest" is not one of first, new, last',
    "start_at",
  ],
  [
    "an impossible start_time",
    "    start_time: 2024-02-30T00:00:00Z\n",
    'topics.cmdb.start_time: "2024-02-30T00:00:00Z" is not an RFC 3339 timestamp (use e.g. 2024-05-01T12:00:00Z)',
    "start_time",
  ],
  [
    "a start_sequence of 0",
    "    start_sequence: 0\n",
    "topics.cmdb.start_sequence: 0 is less than 1",
    "start_sequence",
  ],
  [
    "a source_monitor_url that is not http",
    "    source_monitor_url: nats://s:8222\n",
    'topics.cmdb.source_monitor_url: "nats://s:8222" is not an http:// or https:// URL',
    "source_monitor_url",
  ],
  [
    "tls that is not a mapping",
    "    tls: /etc/ca.pem\n",
    'topics.cmdb.tls: "/etc/ca.pem" is not a mapping',
    "tls",
  ],
  [
    "a mapping where text is expected",
    "    name: {first: a}\n",
    'topics.cmdb.name: {"first":"a"} is not a string',
    "name",
  ],
  [
    "an unknown tls key",
    "    tls: {ca: a.pem, crt: b.pem}\n",
    "topics.cmdb.tls.crt: is not a known setting (did you mean cert?)",
    "tls.crt",
  ],
  [
    "a tls cert without key",
    "    tls: {cert: c.pem}\n",
    "topics.cmdb.tls.key: is required when cert is given",
    "tls.key",
  ],
  [
    "puppet tls without identity",
    "    tls: {scheme: puppet, ssl_dir: /ssl}\n",
    "topics.cmdb.tls.identity: is required with scheme: puppet",
    "tls.identity",
  ],
];

for (const [what, extra, line, key] of badTopics) {
  test(`config error - ${what}`, () => {
    assertConfigError(writeYaml(withTopic(extra)), {}, line, { topic: "cmdb", key });
  });
}

test("config error - a password in a bad URL is not shown", () => {
  const file = writeYaml(withTopic().replace("nats://target1:4222", "nats://u:pw@t:4222/x"));
  const line =
    'topics.cmdb.target_url: "nats://u:***@t:4222/x" is not a URL (use nats://host:port or tls://host:port)';
  assertConfigError(file, {}, line, { topic: "cmdb", key: "target_url" });
});

const missing: Array<[string, string]> = [
  ["topic", "topic: acme.cmdb"],
  ["source_cluster_id", "source_cluster_id: dc1"],
  ["target_url", "target_url: nats://target1:4222"],
  ["target_cluster_id", "target_cluster_id: dc2"],
];

for (const [key, line] of missing) {
  test(`config error - a missing ${key} is required`, () => {
    const file = writeYaml(withTopic().replace(`    ${line}\n`, ""));
    assertConfigError(file, {}, `topics.cmdb.${key}: is required`, { topic: "cmdb", key });
  });
}

test("config error - a misspelt required key is reported as unknown, not as missing", () => {
  const file = writeYaml(withTopic().replace("target_url:", "targt_url:"));
  assertConfigError(
    file,
    {},
    "topics.cmdb.targt_url: is not a known setting (did you mean target_url?)",
    {
      topic: "cmdb",
      key: "targt_url",
    },
  );
});

test("config error - a topic that is not a mapping", () => {
  const file = writeYaml("topics:\n  cmdb: acme.cmdb\n");
  assertConfigError(file, {}, "topics.cmdb: is a string, not a mapping of topic settings", {
    topic: "cmdb",
  });
});

const badTop: Array<[string, string, string, string | undefined]> = [
  [
    "an unknown top-level key",
    withTopic("", "debugg: true\n"),
    "debugg: is not a known setting (did you mean debug?)",
    "debugg",
  ],
  [
    "an http_port out of range",
    withTopic("", "http_port: 65536\n"),
    "http_port: 65536 is not a port number (0-65535)",
    "http_port",
  ],
  [
    "a bad log_level",
    withTopic("", "log_level: trace\n"),
    'log_level: "trace" is not one of error, warn, info, verbose, debug',
    "log_level",
  ],
  [
    "a bad log_format",
    withTopic("", "log_format: xml\n"),
    'log_format: "xml" is not one of json, text',
    "log_format",
  ],
  [
    "a bad state_save_interval",
    withTopic("", "state_save_interval: 30\n"),
    "state_save_interval: 30 is not a duration (use e.g. 1h, 30m)",
    "state_save_interval",
  ],
  [
    "a non-boolean debug",
    withTopic("", "debug: 1\n"),
    "debug: 1 is not a boolean (use true or false)",
    "debug",
  ],
  [
    "a bad top-level tls key",
    withTopic("", "tls:\n  cafile: x\n"),
    "tls.cafile: is not a known setting",
    "tls.cafile",
  ],
  [
    "empty topics",
    "debug: false\ntopics: {}\n",
    "topics: at least one topic is required",
    "topics",
  ],
  ["no topics key", "debug: false\n", "topics: at least one topic is required", "topics"],
  ["topics as a list", "topics:\n  - cmdb\n", 'topics: ["cmdb"] is not a mapping', "topics"],
];

for (const [what, yaml, line, key] of badTop) {
  test(`config error - ${what}`, () => {
    assertConfigError(writeYaml(yaml), {}, line, { key });
  });
}

test("config error - a bad env value names the variable", () => {
  const file = writeYaml(withTopic("", "http_port: 8000\n"));
  assertConfigError(
    file,
    { env: { SR_HTTP_PORT: "80x" } },
    'SR_HTTP_PORT: "80x" is not a port number (0-65535)',
    {
      key: "SR_HTTP_PORT",
    },
  );
  assertConfigError(
    file,
    { env: { SR_LOG_LEVEL: "DEBUG" } },
    'SR_LOG_LEVEL: "DEBUG" is not one of error, warn, info, verbose, debug',
    {
      key: "SR_LOG_LEVEL",
    },
  );
});

test("config error - a bad override names the flag", () => {
  const file = writeYaml(withTopic());
  assertConfigError(
    file,
    { overrides: { http_port: 70000 } },
    "--http-port: 70000 is not a port number (0-65535)",
    {
      key: "--http-port",
    },
  );
});

test("config error - a missing file", () => {
  const file = join(tmp, "does-not-exist.yaml");
  assertConfigError(file, {}, "file not found");
});

test("config error - a directory instead of a file", () => {
  assertConfigError(tmp, {}, "is a directory, not a file");
});

test("config error - a YAML syntax error gives the line", () => {
  const file = writeYaml("debug: false\ntopics:\n  cmdb: [\n    topic: x\n");
  assert.throws(
    () => loadConfig({ file, env: {} }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(
        err.message,
        new RegExp(`^config ${file}: line \\d+, column \\d+: invalid YAML: `),
      );
      assert.equal(err.message.includes("\n"), false);
      return true;
    },
  );
});

test("config error - a duplicate key is a YAML error on its line", () => {
  const file = writeYaml("debug: false\ndebug: true\ntopics: {}\n");
  assertConfigError(file, {}, "line 2, column 1: invalid YAML: Map keys must be unique");
});

test("config error - a top level that is not a mapping", () => {
  assertConfigError(
    writeYaml("- cmdb\n- audit\n"),
    {},
    "the top level must be a mapping of settings (with topics:), not a list",
  );
});

test("config error - an empty file", () => {
  assertConfigError(
    writeYaml("# nothing\n"),
    {},
    "the file is empty (expected settings and topics:)",
  );
});

test("config error - no file from --config or SR_CONFIG: the original's default path, named when missing", () => {
  assert.throws(
    () => loadConfig({ env: {} }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(
        err.message,
        "config /etc/stream-replicator/sr.yaml: file not found (the default path: give one with --config FILE or SR_CONFIG)",
      );
      return true;
    },
  );
});

test("config - a topic name may contain dots", () => {
  const config = load(withTopic().replace("  cmdb:", "  acme.cmdb:"), { topics: ["acme.cmdb"] });
  assert.equal(config.topics.length, 1);
  assert.equal(config.topics[0]?.key, "acme.cmdb");
  assert.equal(config.topics[0]?.name, "acme_cmdb_acme_cmdb_stream_replicator");
});

test("config error - a name STAN cannot use in a client id", () => {
  assert.throws(
    () => load(withTopic("    name: my.replicator\n")),
    /topics\.cmdb\.name: "my\.replicator" may only hold letters, digits, _ and -/,
  );
});

test("config - advisory.interval sets the check interval explicitly", () => {
  const base = "    inspect: host\n    age: 1h\n    advisory:\n      target: adv\n      age: 10m\n";
  assert.equal(load(withTopic(base)).topics[0]?.advisory?.intervalMs, undefined);
  const explicit = load(withTopic(`${base}      interval: 5s\n`));
  assert.equal(explicit.topics[0]?.advisory?.intervalMs, 5000);
  assert.throws(
    () => load(withTopic(`${base}      interval: soon\n`)),
    /topics\.cmdb\.advisory\.interval: "soon" is not a duration/,
  );
});
