// The security keys of the configuration: `${VAR}` expansion, source_auth / target_auth,
// TLS files checked at load, http_tls and http_basic_auth, and secrets kept out of errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config";
import type { AppConfig, LoadOptions, TopicConfig } from "../../src/config";
import { ConfigError } from "../../src/errors";
import { encodeUserSeed, nkeySigner, parseCredentials } from "../../src/nats/nkey";
import { makeTestCerts } from "../support/certs";

const tmp = mkdtempSync(join(tmpdir(), "sr-config-security-"));
const certs = makeTestCerts();
let written = 0;

function file(content: string, name = `f-${++written}`): string {
  const path = join(tmp, name);
  writeFileSync(path, content);
  return path;
}

const TOPIC = `topics:
  cmdb:
    topic: acme.cmdb
    source_cluster_id: dc1
    target_url: nats://target1:4222
    target_cluster_id: dc2
`;

/** The topic block with `extra` lines (indented by the caller), after top-level `top`. */
const yaml = (extra = "", top = ""): string => `${top}${TOPIC}${extra}`;

function load(text: string, options: Omit<LoadOptions, "file"> = {}): AppConfig {
  return loadConfig({ env: {}, ...options, file: file(text, `sr-${++written}.yaml`) });
}

function topicOf(text: string, options: Omit<LoadOptions, "file"> = {}): TopicConfig {
  const [topic] = load(text, options).topics;
  assert.ok(topic);
  return topic;
}

/** Loading fails with exactly `config <file>: <line>`, and never shows any of `secrets`. */
function assertError(
  text: string,
  line: string,
  opts: { env?: NodeJS.ProcessEnv; topic?: string; key?: string; secrets?: string[] } = {},
): void {
  const path = file(text, `sr-${++written}.yaml`);
  assert.throws(
    () => loadConfig({ env: opts.env ?? {}, file: path }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      assert.equal(err.message, `config ${path}: ${line}`);
      if (opts.key !== undefined) assert.equal(err.key, opts.key);
      if (opts.topic !== undefined) assert.equal(err.topic, opts.topic);
      for (const secret of opts.secrets ?? []) assert.ok(!err.message.includes(secret), secret);
      return true;
    },
  );
}

const seed = encodeUserSeed(randomBytes(32));
const JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5In0.eyJzdWIiOiJVQUJDIn0.c2lnbmF0dXJl";
const creds = (s: string): string => `-----BEGIN NATS USER JWT-----
${JWT}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.

-----BEGIN USER NKEY SEED-----
${s}
------END USER NKEY SEED------
`;

// ---- ${VAR} expansion ----

test("config env - ${VAR} in string values is replaced by the environment variable", () => {
  const topic = topicOf(
    yaml(
      "    source_url: nats://${SRC_HOST}:4222\n    source_auth:\n      user: sr\n      password: ${SRC_PASS}\n",
    ),
    { env: { SRC_HOST: "source1", SRC_PASS: "pa$$w{or}d" } },
  );
  assert.deepEqual(topic.sourceUrls, ["nats://source1:4222"]);
  assert.deepEqual(topic.sourceAuth, { kind: "user", user: "sr", password: "pa$$w{or}d" });
});

test("config env - $${ is a literal ${ and a lone $ stays as it is", () => {
  const topic = topicOf(yaml("    source_auth:\n      token: a$b$${NOT_A_VAR}\n"));
  assert.deepEqual(topic.sourceAuth, { kind: "token", token: "a$b${NOT_A_VAR}" });
});

test("config env - an expanded value is validated like a written one", () => {
  assertError(
    yaml("    age: ${AGE}\n    inspect: host\n"),
    'topics.cmdb.age: "1 hour" is not a duration (use e.g. 1h, 30m)',
    {
      env: { AGE: "1 hour" },
    },
  );
});

test("config env - a variable that is not set names the key and the variable", () => {
  assertError(
    yaml("    source_auth:\n      user: sr\n      password: ${SOURCE_PASSWORD}\n"),
    "topics.cmdb.source_auth.password: refers to the environment variable SOURCE_PASSWORD, which is not set",
    { topic: "cmdb", key: "source_auth.password" },
  );
  assertError(
    yaml("", "http_basic_auth:\n  user: prom\n  password: ${METRICS_PASSWORD}\n"),
    "http_basic_auth.password: refers to the environment variable METRICS_PASSWORD, which is not set",
    { key: "http_basic_auth.password" },
  );
});

test("config env - a ${ that is not a reference is an error that does not show the text", () => {
  assertError(
    yaml("    source_auth:\n      token: 'abc${def'\n"),
    "topics.cmdb.source_auth.token: has a ${ that is not a ${NAME} reference (write $${ for a literal ${)",
    { secrets: ["abc", "def"] },
  );
});

// ---- source_auth / target_auth ----

test("config auth - none by default", () => {
  const topic = topicOf(yaml());
  assert.equal("sourceAuth" in topic, false);
  assert.equal("targetAuth" in topic, false);
});

test("config auth - user and password, token, NKey seed and credentials file", () => {
  const credsFile = file(creds(seed));
  const topic = topicOf(
    yaml(
      `    source_auth: {user: sr, password: s3cret}\n    target_auth: {token: t0ken}\n  audit:\n    topic: acme.audit\n    source_cluster_id: dc1\n    target_url: nats://t:4222\n    target_cluster_id: dc2\n    source_auth: {nkey_seed: ${seed}}\n    target_auth: {credentials: ${credsFile}}\n`,
    ),
  );
  assert.deepEqual(topic.sourceAuth, { kind: "user", user: "sr", password: "s3cret" });
  assert.deepEqual(topic.targetAuth, { kind: "token", token: "t0ken" });
  const audit = load(
    yaml(
      `  audit:\n    topic: acme.audit\n    source_cluster_id: dc1\n    target_url: nats://t:4222\n    target_cluster_id: dc2\n    source_auth: {nkey_seed: ${seed}}\n    target_auth: {credentials: ${credsFile}}\n`,
    ),
  ).topics[1];
  assert.deepEqual(audit?.sourceAuth, { kind: "nkey", seed });
  assert.deepEqual(audit?.targetAuth, { kind: "credentials", file: credsFile, jwt: JWT, seed });
});

test("config auth - *_file keys are read, one trailing newline dropped", () => {
  const topic = topicOf(
    yaml(
      `    source_auth: {user: sr, password_file: ${file("pass word\n")}}\n    target_auth: {token_file: ${file("tok\r\n")}}\n`,
    ),
  );
  assert.deepEqual(topic.sourceAuth, { kind: "user", user: "sr", password: "pass word" });
  assert.deepEqual(topic.targetAuth, { kind: "token", token: "tok" });
  const nkey = topicOf(yaml(`    source_auth: {nkey_seed_file: ${file(`${seed}\n`)}}\n`));
  assert.deepEqual(nkey.sourceAuth, { kind: "nkey", seed });
});

test("config auth - the top-level blocks apply to every topic; a topic's block replaces them", () => {
  const config = load(
    yaml(
      "    target_auth: {token: own}\n  audit:\n    topic: acme.audit\n    source_cluster_id: dc1\n    target_url: nats://t:4222\n    target_cluster_id: dc2\n",
      "source_auth: {user: top, password: tp}\ntarget_auth: {user: top, password: tp}\n",
    ),
  );
  const [cmdb, audit] = config.topics;
  assert.deepEqual(cmdb?.sourceAuth, { kind: "user", user: "top", password: "tp" });
  assert.deepEqual(cmdb?.targetAuth, { kind: "token", token: "own" });
  assert.deepEqual(audit?.targetAuth, { kind: "user", user: "top", password: "tp" });
});

const authErrors: Array<[string, string, string]> = [
  ["a user without password", "{user: sr}", "source_auth.user: needs password or password_file"],
  ["a password without user", "{password: hunter2}", "source_auth.password: needs user"],
  [
    "two ways to authenticate",
    "{user: sr, password: hunter2, token: hunter3}",
    "source_auth.token: cannot be combined with user (give one way to authenticate)",
  ],
  [
    "a password and a password_file",
    "{user: sr, password: hunter2, password_file: /p}",
    "source_auth.password_file: cannot be combined with password (give one of them)",
  ],
  [
    "a missing token_file",
    "{token_file: /nonexistent/token}",
    "source_auth.token_file: cannot read /nonexistent/token (ENOENT)",
  ],
  [
    "a password that is not a string",
    "{user: sr, password: [hunter2]}",
    "source_auth.password: is not a string",
  ],
  [
    "an unknown key",
    "{user: sr, pasword: hunter2}",
    "source_auth.pasword: is not a known setting (did you mean password?)",
  ],
  [
    "a seed that is not an NKey seed",
    "{nkey_seed: SUhunter2}",
    "source_auth.nkey_seed: is not an NKey seed",
  ],
];

for (const [what, block, line] of authErrors) {
  test(`config auth error - ${what}`, () => {
    assertError(yaml(`    source_auth: ${block}\n`), `topics.cmdb.${line}`, {
      topic: "cmdb",
      key: line.split(":")[0],
      secrets: ["hunter2", "hunter3"],
    });
  });
}

test("config auth error - an auth block that is not a mapping does not show its value", () => {
  assertError(yaml("    target_auth: ${TOKEN}\n"), "topics.cmdb.target_auth: is not a mapping", {
    env: { TOKEN: "hunter2" },
    secrets: ["hunter2"],
  });
});

test("config auth error - an empty secret file, an account seed, a credentials file without seed", () => {
  const empty = file("\n");
  assertError(
    yaml(`    source_auth: {user: sr, password_file: ${empty}}\n`),
    `topics.cmdb.source_auth.password_file: ${empty} is empty`,
  );
  const seedFile = file(seed.replace(/^SU/, "SA"));
  assertError(
    yaml(`    source_auth: {nkey_seed_file: ${seedFile}}\n`),
    `topics.cmdb.source_auth.nkey_seed_file: ${seedFile} is not an NKey seed (bad checksum)`,
    { secrets: [seed.slice(2)] },
  );
  const noSeed = file(creds("").replace(/-----BEGIN USER NKEY SEED-----[\s\S]*$/, ""));
  assertError(
    yaml(`    source_auth: {credentials: ${noSeed}}\n`),
    `topics.cmdb.source_auth.credentials: ${noSeed} has no user NKey seed block`,
  );
});

test("config error - a token in a URL is not shown", () => {
  assertError(
    yaml().replace("nats://target1:4222", "nats://hunter2@t:4222/x"),
    'topics.cmdb.target_url: "nats://***@t:4222/x" is not a URL (use nats://host:port or tls://host:port)',
    { secrets: ["hunter2"] },
  );
});

// ---- TLS files ----

test("config tls - files are checked at load; server_name is read", () => {
  const topic = topicOf(
    yaml(
      `    tls: {ca: ${certs.ca}, cert: ${certs.clientCert}, key: ${certs.clientKey}, server_name: nats.example}\n`,
    ),
  );
  assert.deepEqual(topic.tls, {
    ca: certs.ca,
    cert: certs.clientCert,
    key: certs.clientKey,
    serverName: "nats.example",
  });
});

test("config tls error - a missing file names the key and the file", () => {
  assertError(
    yaml("    tls: {ca: /nonexistent/ca.pem}\n"),
    "topics.cmdb.tls.ca: cannot read /nonexistent/ca.pem (ENOENT)",
    { topic: "cmdb", key: "tls.ca" },
  );
  assertError(
    yaml("", `tls: {ca: ${certs.ca}, cert: /nonexistent/c.pem, key: ${certs.clientKey}}\n`),
    "tls.cert: cannot read /nonexistent/c.pem (ENOENT)",
    { key: "tls.cert" },
  );
  assertError(yaml(`    tls: {ca: ${tmp}}\n`), `topics.cmdb.tls.ca: cannot read ${tmp} (EISDIR)`);
});

test("config tls error - a file that is not PEM, and a key of another certificate", () => {
  const junk = file("not a certificate");
  assertError(
    yaml(`    tls: {ca: ${junk}}\n`),
    `topics.cmdb.tls.ca: ${junk} is not a PEM certificate`,
  );
  assertError(
    yaml(`    tls: {cert: ${certs.clientCert}, key: ${junk}}\n`),
    `topics.cmdb.tls.key: ${junk} is not a PEM private key (encrypted keys are not supported)`,
  );
  const pems = certs.privateKeyPems();
  assertError(
    yaml(`    tls: {cert: ${certs.clientCert}, key: ${certs.serverKey}}\n`),
    `topics.cmdb.tls.key: ${certs.serverKey} is not the private key of the certificate ${certs.clientCert}`,
    { secrets: pems.map((p) => p.split("\n")[1] ?? "") },
  );
});

// ---- HTTP ----

test("config http - plain HTTP without authentication by default", () => {
  assert.deepEqual(load(yaml()).http, { host: "0.0.0.0", port: 9180 });
});

test("config http - http_tls and http_basic_auth (password from a file) are read", () => {
  const config = load(
    yaml(
      "",
      `http_tls: {cert: ${certs.serverCert}, key: ${certs.serverKey}}\nhttp_basic_auth: {user: prom, password_file: ${file("m3trics\n")}}\n`,
    ),
  );
  assert.deepEqual(config.http, {
    host: "0.0.0.0",
    port: 9180,
    tls: { cert: certs.serverCert, key: certs.serverKey },
    basicAuth: { user: "prom", password: "m3trics" },
  });
});

test("config http error - missing keys and files, a colon in the user", () => {
  assertError(yaml("", `http_tls: {cert: ${certs.serverCert}}\n`), "http_tls.key: is required");
  assertError(
    yaml("", `http_tls: {cert: ${certs.serverCert}, key: /nonexistent/k.pem}\n`),
    "http_tls.key: cannot read /nonexistent/k.pem (ENOENT)",
  );
  assertError(
    yaml("", "http_basic_auth: {user: prom}\n"),
    "http_basic_auth.password: is required (or password_file)",
  );
  assertError(
    yaml("", "http_basic_auth: {user: 'a:b', password: hunter2}\n"),
    "http_basic_auth.user: must not contain a colon (basic auth cannot carry it)",
    { secrets: ["hunter2"] },
  );
});

// ---- NKeys ----

test("nkey - a seed signs nonces that its public key verifies", async () => {
  const { createPublicKey, verify } = await import("node:crypto");
  const signer = nkeySigner(seed);
  assert.match(signer.publicKey, /^U[A-Z2-7]{55}$/);
  const nonce = Buffer.from("a-nonce-from-the-server");
  const signature = signer.sign(nonce);
  assert.equal(signature.length, 64);
  // The public key is base32(prefix + 32 raw bytes + crc): verify with the raw bytes.
  const raw = base32Decode(signer.publicKey).subarray(1, 33);
  const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw]);
  const key = createPublicKey({ key: spki, format: "der", type: "spki" });
  assert.equal(verify(null, nonce, key, signature), true);
});

test("nkey - errors never contain the seed", () => {
  for (const bad of [seed.slice(0, -1), seed.replace(/^SU/, "SA"), "SUxyz", ""]) {
    // Fixed texts only: nothing of the seed can appear.
    assert.throws(() => nkeySigner(bad), /^Error: is not (an|a user) NKey seed( \([a-z ,]+\))?$/);
  }
  assert.deepEqual(parseCredentials(creds(seed)), { jwt: JWT, seed });
  assert.throws(() => parseCredentials("nothing here"), /has no user JWT block/);
});

function base32Decode(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of text) {
    value = ((value << 5) | alphabet.indexOf(c)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}
