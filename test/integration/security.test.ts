// Security against real processes: nats-streaming-server with TLS (server-only and mutual),
// user/password, token and NKey authentication, the real CLI replicating through them, the
// failures an operator meets (wrong CA, wrong password, no client certificate) as a few clear
// log lines and a /healthz that names the failing side, HTTPS and basic auth on the HTTP
// endpoints, and no secret in any output: logs at debug level, /healthz, /metrics, errors.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { StanOptions } from "node-nats-streaming";
import { encodeUserSeed, nkeySigner } from "../../src/nats/nkey";
import { makeTestCerts } from "../support/certs";
import { startReplicator, topicConfig, waitForHealth } from "../support/replicator-process";
import type { ReplicatorProcess } from "../support/replicator-process";
import { startStan, stopAll } from "../support/servers";
import type { StanServer } from "../support/servers";
import { closeStan, connectStan, publishAll, readAll, waitFor } from "../support/stan-client";

const certs = makeTestCerts();
const PASSWORD = "p@ss:w/rd%-d1b8f0";
const TOKEN = "tok-4f1c9a77e2";
const WRONG_PASSWORD = "wrong-pass-93c1";
const METRICS_PASSWORD = "metrics-pw-5e0a";
const SEED = encodeUserSeed(randomBytes(32));
const SERVER_SEED = encodeUserSeed(randomBytes(32));
/** Every secret of this file: none may appear in any output of the replicator. */
const SECRETS = [
  PASSWORD,
  encodeURIComponent(PASSWORD),
  TOKEN,
  WRONG_PASSWORD,
  METRICS_PASSWORD,
  SEED,
  SERVER_SEED,
  // The base64 lines of every private key.
  ...certs
    .privateKeyPems()
    .flatMap((pem) => pem.split("\n").filter((l) => /^[\w+/=]{20,}$/.test(l))),
];

const ca = readFileSync(certs.ca);
const clientTls = { ca, cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) };
const signer = nkeySigner(SEED);

/** Server flags: TLS with our server certificate; the streaming server's own client trusts our CA. */
const TLS_ARGS = [
  ...["-tlscert", certs.serverCert, "-tlskey", certs.serverKey, "-tls_client_cacert", certs.ca],
];
const SERVER_TLS = ["-tls", ...TLS_ARGS];
/** Mutual TLS: clients must show a certificate signed by our CA (the streaming server too). */
const SERVER_MTLS = [
  ...["-tlsverify", "-tlscacert", certs.ca, ...TLS_ARGS],
  ...["-tls_client_cert", certs.serverCert, "-tls_client_key", certs.serverKey],
];

let plainA: StanServer;
let plainB: StanServer;
let tlsServer: StanServer;
let mtlsServer: StanServer;
let userServer: StanServer;
let tokenServer: StanServer;
let nkeyServer: StanServer;

before(async () => {
  const nkeyDir = certs.dir;
  const natsConf = path.join(nkeyDir, "nkey-nats.conf");
  const stanConf = path.join(nkeyDir, "nkey-stan.conf");
  const serverSeedFile = path.join(nkeyDir, "server.nk");
  writeFileSync(serverSeedFile, `${SERVER_SEED}\n`);
  const users = [nkeySigner(SERVER_SEED).publicKey, signer.publicKey];
  writeFileSync(
    natsConf,
    `authorization { users = [ ${users.map((u) => `{nkey: ${u}}`).join(", ")} ] }\n`,
  );
  writeFileSync(stanConf, `nkey_seed_file: "${serverSeedFile}"\n`);
  [plainA, plainB, tlsServer, mtlsServer, userServer, tokenServer, nkeyServer] = await Promise.all([
    startStan({ clusterId: "plain-a" }),
    startStan({ clusterId: "plain-b" }),
    startStan({ clusterId: "tls", extraArgs: SERVER_TLS }),
    startStan({ clusterId: "mtls", extraArgs: SERVER_MTLS }),
    startStan({ clusterId: "user", extraArgs: ["--user", "sr", "--pass", PASSWORD] }),
    startStan({ clusterId: "token", extraArgs: ["--auth", TOKEN] }),
    startStan({ clusterId: "nkey", extraArgs: ["-c", natsConf, "-sc", stanConf] }),
  ]);
});

after(() => stopAll());

// ---------------------------------------------------------------------------------------------
// Helpers

const ref = (s: StanServer) => ({ url: s.url, clusterId: s.clusterId });
const replicators: ReplicatorProcess[] = [];
/** Everything any replicator wrote or any endpoint answered, for the final secret check. */
const seen: string[] = [];

async function replicator(
  config: Record<string, unknown>,
  env?: Record<string, string>,
): Promise<ReplicatorProcess> {
  const proc = await startReplicator({
    config: { log_level: "debug", log_format: "json", ...config },
    env,
  });
  replicators.push(proc);
  return proc;
}

after(async () => {
  await Promise.all(replicators.map((r) => r.kill()));
});

function assertNoSecrets(text: string, where: string): void {
  for (const secret of SECRETS) {
    assert.ok(!text.includes(secret), `${where} contains a secret (${secret.slice(0, 4)}...)`);
  }
}

/** Publishes `count` numbered messages on `channel` with a client using `options`. */
async function publish(
  server: StanServer,
  channel: string,
  count: number,
  options: StanOptions = {},
): Promise<void> {
  const client = await connectStan(server.url, server.clusterId, undefined, {
    stanOptions: options,
  });
  try {
    await publishAll(server.url, server.clusterId, channel, count, { client });
  } finally {
    await closeStan(client);
  }
}

/** Waits until `channel` on `server` holds `count` messages, and returns their payloads. */
async function expectCopies(
  server: StanServer,
  channel: string,
  count: number,
  options: StanOptions = {},
): Promise<string[]> {
  let payloads: string[] = [];
  await waitFor(
    async () => {
      const got = await readAll(server.url, server.clusterId, channel, {
        expect: count,
        timeoutMs: 3_000,
        stanOptions: options,
      });
      payloads = got.map((m) => m.data.toString());
      return payloads.length >= count;
    },
    { timeoutMs: 30_000, intervalMs: 250, message: `${count} messages on ${channel}` },
  );
  return payloads;
}

const numbered = (count: number): string[] => Array.from({ length: count }, (_, i) => `msg-${i}`);

interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function httpsGet(port: number, pathname: string, auth?: string): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: "127.0.0.1",
        port,
        path: pathname,
        ca,
        headers: auth ? { authorization: `Basic ${Buffer.from(auth).toString("base64")}` } : {},
      },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => {
          const reply = { status: res.statusCode ?? 0, headers: res.headers, body };
          seen.push(body);
          resolve(reply);
        });
      },
    );
    req.on("error", reject);
  });
}

interface LogLine {
  level: string;
  message: string;
  topic?: string;
  side?: string;
  error?: string;
  [field: string]: unknown;
}

function logLines(proc: ReplicatorProcess): LogLine[] {
  return proc
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);
}

interface Health {
  status: string;
  topics: {
    name: string;
    problems: string[];
    workers: {
      source: { state: string; lastError?: string };
      target: { state: string; lastError?: string };
    }[];
  }[];
}

async function health(proc: ReplicatorProcess): Promise<{ status: number; body: Health }> {
  const res = await proc.get("/healthz");
  seen.push(res.body);
  return { status: res.status, body: JSON.parse(res.body) as Health };
}

// ---------------------------------------------------------------------------------------------
// TLS

describe("tls", () => {
  test("tls - replicates from a mutual-TLS source to a TLS target, certificates and names verified", async () => {
    const proc = await replicator({
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
      topics: { mtls: topicConfig(ref(mtlsServer), ref(tlsServer), "sec.mtls") },
    });
    await publish(mtlsServer, "sec.mtls", 50, { tls: clientTls });
    assert.deepEqual(await expectCopies(tlsServer, "sec.mtls", 50, { tls: { ca } }), numbered(50));
    await waitForHealth(proc, 200);
    assertNoSecrets(proc.output(), "replicator output");
    seen.push(proc.output());
  });

  test("tls - one side TLS and the other plain works with disable_target_tls", async () => {
    const proc = await replicator({
      topics: {
        mixed: topicConfig(ref(tlsServer), ref(plainB), "sec.mixed", {
          tls: { ca: certs.ca },
          disable_target_tls: true,
        }),
      },
    });
    await publish(tlsServer, "sec.mixed", 30, { tls: { ca } });
    assert.deepEqual(await expectCopies(plainB, "sec.mixed", 30), numbered(30));
    await waitForHealth(proc, 200);
    seen.push(proc.output());
  });
});

// ---------------------------------------------------------------------------------------------
// Authentication

describe("auth", () => {
  test("auth - password in the URL (percent-encoded) or from ${ENV}, token from a file, NKey seed", async () => {
    const tokenFile = path.join(certs.dir, "target-token");
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const seedFile = path.join(certs.dir, "client.nk");
    writeFileSync(seedFile, `${SEED}\n`);
    const userUrl = userServer.url.replace("//", `//sr:${encodeURIComponent(PASSWORD)}@`);
    const proc = await replicator(
      {
        target_auth: { token_file: tokenFile },
        topics: {
          inurl: topicConfig(
            { url: userUrl, clusterId: userServer.clusterId },
            ref(tokenServer),
            "sec.inurl",
          ),
          fromenv: topicConfig(ref(userServer), ref(tokenServer), "sec.fromenv", {
            source_auth: { user: "sr", password: "${SR_TEST_SOURCE_PASSWORD}" },
          }),
          nkey: topicConfig(ref(nkeyServer), ref(tokenServer), "sec.nkey", {
            source_auth: { nkey_seed_file: seedFile },
          }),
        },
      },
      { SR_TEST_SOURCE_PASSWORD: PASSWORD },
    );
    const asUser = { user: "sr", pass: PASSWORD };
    await publish(userServer, "sec.inurl", 20, asUser);
    await publish(userServer, "sec.fromenv", 20, asUser);
    await publish(nkeyServer, "sec.nkey", 20, { nkey: signer.publicKey, nonceSigner: signer.sign });
    for (const channel of ["sec.inurl", "sec.fromenv", "sec.nkey"]) {
      assert.deepEqual(
        await expectCopies(tokenServer, channel, 20, { token: TOKEN }),
        numbered(20),
        channel,
      );
    }
    await waitForHealth(proc, 200);
    seen.push((await proc.get("/metrics")).body);
    assertNoSecrets(proc.output(), "replicator output");
    seen.push(proc.output());
  });
});

// ---------------------------------------------------------------------------------------------
// Failures

describe("failures", () => {
  test("failures - wrong CA, server name or password, no client certificate, no TLS: a few clear lines with backoff, /healthz names the side", async () => {
    const plainTarget = { disable_target_tls: true };
    const proc = await replicator({
      topics: {
        wrongca: topicConfig(ref(tlsServer), ref(plainB), "sec.fail", {
          name: "wrongca",
          tls: { ca: certs.otherCa },
          ...plainTarget,
        }),
        nocert: topicConfig(ref(mtlsServer), ref(plainB), "sec.fail", {
          name: "nocert",
          tls: { ca: certs.ca },
          ...plainTarget,
        }),
        wrongpass: topicConfig(ref(plainA), ref(userServer), "sec.fail", {
          name: "wrongpass",
          target_auth: { user: "sr", password: WRONG_PASSWORD },
        }),
        wrongname: topicConfig(ref(tlsServer), ref(plainB), "sec.fail", {
          name: "wrongname",
          tls: { ca: certs.ca, server_name: "nats.example.com" },
          ...plainTarget,
        }),
        notls: topicConfig(ref(plainA), ref(plainB), "sec.fail", {
          name: "notls",
          tls: { ca: certs.ca },
          ...plainTarget,
        }),
      },
    });
    const failures = (name: string): LogLine[] =>
      logLines(proc).filter((l) => l.message === "connect failed" && l.topic === name);
    const cases = [
      { name: "wrongca", side: "source", error: /not trusted \(check tls\.ca\)/ },
      { name: "nocert", side: "source", error: /requires a client certificate/i },
      {
        name: "wrongpass",
        side: "target",
        error: /authorization violation.*check the credentials/i,
      },
      { name: "wrongname", side: "source", error: /does not match.*tls\.server_name/i },
      { name: "notls", side: "source", error: /does not support a secure connection/i },
    ];
    await waitFor(() => cases.every((c) => failures(c.name).length > 0), {
      timeoutMs: 20_000,
      message: `a connect failure for every topic:\n${proc.output().slice(-3000)}`,
    });
    const windowStart = Date.now();
    // Meanwhile /healthz names the failing side with its last error.
    const { status, body } = await health(proc);
    assert.equal(status, 503);
    assert.equal(body.status, "unhealthy");
    for (const c of cases) {
      const topic = body.topics.find((t) => t.name === c.name);
      assert.ok(topic, c.name);
      const side = topic.workers[0]?.[c.side as "source" | "target"];
      assert.ok(side && side.state !== "up", `${c.name}: ${c.side} is not up`);
      assert.match(side.lastError ?? "", c.error, `${c.name}: lastError`);
      assert.ok(
        topic.problems.some((p) => p.startsWith(`worker 0 ${c.side} `) && c.error.test(p)),
        `${c.name}: problems name the ${c.side}: ${JSON.stringify(topic.problems)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 5_000 - (Date.now() - windowStart)));
    for (const c of cases) {
      const lines = failures(c.name);
      // 250 ms doubling to 15 s, jittered: 4 to 7 attempts in the first ~5 s, never a flood.
      assert.ok(lines.length >= 2 && lines.length <= 8, `${c.name}: ${lines.length} lines`);
      for (const line of lines) {
        assert.equal(line.side, c.side, c.name);
        assert.match(line.error ?? "", c.error, c.name);
      }
      // One line per attempt: no other warning or error for the topic.
      const noisy = logLines(proc).filter(
        (l) => l.topic === c.name && (l.level === "warn" || l.level === "error"),
      );
      assert.equal(noisy.length, lines.length, `${c.name}: only the connect failures`);
    }
    assertNoSecrets(proc.output(), "replicator output");
    seen.push(proc.output());
  });

  test("failures - a missing TLS file or environment variable stops the start: one line, exit code 2", async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { tls: { ca: "/nonexistent/ca.pem" } },
        /^config \S+sr\.yaml: topics\.t\.tls\.ca: cannot read \/nonexistent\/ca\.pem \(ENOENT\)$/,
      ],
      [
        { source_auth: { user: "sr", password: "${SR_TEST_UNSET_PASSWORD}" } },
        /^config \S+sr\.yaml: topics\.t\.source_auth\.password: refers to the environment variable SR_TEST_UNSET_PASSWORD, which is not set$/,
      ],
    ];
    for (const [extra, line] of cases) {
      const proc = await replicator({
        topics: { t: topicConfig(ref(plainA), ref(plainB), "sec.config", extra) },
      });
      await waitFor(() => proc.exited(), { timeoutMs: 20_000, message: "the replicator exits" });
      assert.equal(await proc.stop(), 2); // already exited: its exit code
      assert.match(proc.output().trim(), line);
      seen.push(proc.output());
    }
  });
});

// ---------------------------------------------------------------------------------------------
// HTTP endpoints

describe("http", () => {
  test("http - HTTPS with basic auth on /metrics; probes open; 404 JSON for anything else", async () => {
    const passwordFile = path.join(certs.dir, "metrics-password");
    writeFileSync(passwordFile, `${METRICS_PASSWORD}\n`);
    const proc = await replicator({
      http_tls: { cert: certs.serverCert, key: certs.serverKey },
      http_basic_auth: { user: "prometheus", password_file: passwordFile },
      topics: { web: topicConfig(ref(plainA), ref(plainB), "sec.web") },
    });
    await waitFor(
      async () => {
        try {
          return (await httpsGet(proc.port, "/healthz")).status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, intervalMs: 200, message: `https /healthz 200:\n${proc.output()}` },
    );
    assert.equal((await httpsGet(proc.port, "/livez")).status, 200);

    const anonymous = await httpsGet(proc.port, "/metrics");
    assert.equal(anonymous.status, 401);
    assert.match(String(anonymous.headers["www-authenticate"]), /^Basic /);
    assert.equal((await httpsGet(proc.port, "/metrics", "prometheus:wrong")).status, 401);
    const scraped = await httpsGet(proc.port, "/metrics", `prometheus:${METRICS_PASSWORD}`);
    assert.equal(scraped.status, 200);
    assert.match(scraped.body, /^stream_replicator_/m);

    const missing = await httpsGet(proc.port, "/admin/../../etc/passwd");
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.body), { error: "not found" });
    for (const reply of [anonymous, scraped, missing]) {
      assert.equal(reply.headers["x-powered-by"], undefined);
      assert.ok(!/\bat \S+ \(/.test(reply.body), "no stack trace");
    }
    // Plain HTTP is not served on the HTTPS port.
    await assert.rejects(proc.get("/livez"));
    assertNoSecrets(proc.output(), "replicator output");
    seen.push(proc.output());
  });
});

test("secrets - no password, token, seed or private key in any output, endpoint or error", () => {
  assert.ok(seen.length > 0);
  for (const r of replicators) seen.push(r.output());
  assertNoSecrets(seen.join("\n"), "outputs");
});
