// The container files, two ways:
// - offline (scripts/check-container.sh): compose, mounts, configs, linters, and the Kubernetes
//   manifest against the Dockerfile, one test each;
// - under a real Docker engine (scripts/container-stack.sh): the engine is installed and started
//   when missing (a machine without one fails here, it is not skipped), the upstream images are
//   stood in for by local builds under the same names, the image is built from the Dockerfile as
//   it is and run the way the README and the Kubernetes manifest run it, then compose.yaml's
//   stack (every service but grafana), its demo profile and its bridge profile (a JetStream
//   server and a second replicator, dc1 -> JetStream) run with messages flowing through.
// The engine and the stack are the machine's, so one check at a time holds the script's lock.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import { readStream, waitForStreamCount } from "../support/jetstream-client";
import { getFreePort, getFreePorts, startStan, stopAll } from "../support/servers";
import { numberedPayloads, publishAll, readAll, waitFor } from "../support/stan-client";

const REPO = path.resolve(__dirname, "..", "..");
const SCRIPT = path.join(REPO, "scripts", "container-stack.sh");
const IMAGE = "stream-replicator:local";
const CHECK_LABEL = "io.stream-replicator.check";
const PROJECT = "stream-replicator-check";
const STATE_DIR = "/var/lib/stream-replicator";
const CONFIG_PATH = "/etc/stream-replicator/sr.yaml";
const OFFLINE_TIMEOUT_MS = 180_000;
/** A cold machine: docker.io from Debian, debootstrap, the Node and service stand-ins. */
const STAND_INS_TIMEOUT_MS = 420_000;
const BUILD_TIMEOUT_MS = 300_000;
const LOCK_WAIT_S = 900;
/** `docker stop`'s default: SIGTERM, then SIGKILL after this long. */
const STOP_TIMEOUT_S = 10;
/** examples/compose/bridge.yaml: dc1's channel into this stream, under this durable name. */
const BRIDGE_STREAM = "REGISTRATIONS";
const BRIDGE_NAME = "registrations_to_jetstream";
/** examples/compose/sr.yaml's registrations topic: its default name. */
const REPLICATOR_NAME = "registrations_demo_registrations_stream_replicator";
const CHANNEL = "demo.registrations";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Our environment without npm's variables (a parent `npm test` sets some that would point a
 * nested npm at this repository). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== "INIT_CWD") env[key] = value;
  }
  return { ...env, ...extra };
}

/** Runs a command to its end; resolves with its exit code and output (never rejects). */
function run(
  file: string,
  args: string[],
  opts: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: REPO,
        env: cleanEnv(opts.env),
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        const why = err && code === -1 ? `\n${err.message}` : "";
        resolve({ code, stdout, stderr: `${stderr}${why}` });
      },
    );
  });
}

const stack = (args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}) =>
  run("bash", [SCRIPT, ...args], opts);
const docker = (args: string[], timeoutMs = 60_000) => run("docker", args, { timeoutMs });

function ok(result: Run, what: string): string {
  assert.equal(
    result.code,
    0,
    `${what} failed (exit ${result.code}):\n${result.stdout}${result.stderr}`,
  );
  return result.stdout;
}

async function inspect<T>(what: string, format: string): Promise<T> {
  const out = ok(
    await docker(["inspect", "--format", `{{json ${format}}}`, what]),
    `inspect ${what}`,
  );
  return JSON.parse(out) as T;
}

async function httpStatus(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(3000) })).status;
  } catch {
    return 0;
  }
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sr-container-"));
  chmodSync(dir, 0o755);
  tempDirs.push(dir);
  return dir;
}

/** A file the container's uid 1000 can read, to bind-mount. */
function writeConfig(config: unknown): string {
  const file = path.join(tempDir(), "sr.yaml");
  writeFileSync(file, typeof config === "string" ? config : stringify(config), { mode: 0o644 });
  return file;
}

// ---------------------------------------------------------------------------------------------
// The offline checks.

describe("container files - offline checks (scripts/check-container.sh)", () => {
  const checks: Array<[string, string]> = [
    ["compose", "compose.yaml is valid for docker-compose, with and without the demo profile"],
    [
      "mounts",
      "every file compose.yaml mounts or builds from exists; Grafana's provisioning fits the stack",
    ],
    ["config", "examples/compose/sr.yaml passes --validate"],
    ["prometheus", "examples/compose/prometheus.yml passes promtool and scrapes the image's port"],
    ["hadolint", "the Dockerfile has no hadolint finding"],
    ["dclint", "compose.yaml has no dclint error or warning"],
    [
      "k8s",
      "the sidecar manifest parses, matches the Dockerfile (port, probes, uid, SR_CONFIG, state dir) and renders a valid config",
    ],
  ];
  for (const [name, spec] of checks) {
    test(`${name} - ${spec}`, { timeout: OFFLINE_TIMEOUT_MS }, async () => {
      ok(
        await run("bash", ["scripts/check-container.sh", name], {
          timeoutMs: OFFLINE_TIMEOUT_MS - 5_000,
        }),
        `check-container.sh ${name}`,
      );
    });
  }

  // The bridge profile's files (check-container.sh checks the default and demo profiles).
  test("bridge - compose.yaml is valid with the bridge profile; examples/compose/bridge.yaml passes --validate", async () => {
    ok(
      await run("docker-compose", [
        "-f",
        "compose.yaml",
        "--profile",
        "demo",
        "--profile",
        "bridge",
        "config",
        "-q",
      ]),
      "docker-compose --profile demo --profile bridge config",
    );
    const validate = await run(process.execPath, [
      "--import",
      "tsx",
      "src/main.ts",
      "--validate",
      "--config",
      "examples/compose/bridge.yaml",
    ]);
    ok(validate, "--validate examples/compose/bridge.yaml");
    assert.match(validate.stdout, /valid \(topics: registrations\)/);
  });
});

// ---------------------------------------------------------------------------------------------
// Under a real engine.

describe("container under a real Docker engine (scripts/container-stack.sh)", () => {
  let lock: ChildProcess | undefined;
  let locked = false;
  let started = Date.now();
  /** What later tests need from earlier ones; each says so instead of failing obscurely. */
  const ready = { engine: false, image: false };
  const needs = (what: keyof typeof ready): void =>
    assert.ok(
      ready[what],
      `no ${what === "engine" ? "Docker engine" : "image"}: see the ${what} test`,
    );

  before(async () => {
    started = Date.now();
    const holder = spawn("bash", [SCRIPT, "lock", String(LOCK_WAIT_S)], {
      cwd: REPO,
      stdio: ["pipe", "pipe", "pipe"],
    });
    lock = holder;
    let output = "";
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on("data", (d: Buffer) => {
        output += d.toString();
        if (output.includes("locked")) resolve();
      });
      holder.stderr.on("data", (d: Buffer) => (output += d.toString()));
      holder.on("exit", (code) => reject(new Error(`lock: exit ${code}: ${output}`)));
    });
    locked = true;
    // What a crashed earlier run may have left (only the check's own project and labels).
    await stack(["down"], { timeoutMs: 120_000 });
  });

  after(async () => {
    await stopAll();
    if (!locked) return; // another check runs: its engine and stack are not ours to stop
    const down = await stack(["down"], { timeoutMs: 120_000 });
    const stop = await stack(["stop-engine"], { timeoutMs: 60_000 });
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    lock?.stdin?.end();
    process.stdout.write(
      `# container check: ${down.stdout.trim()} ${down.stderr.trim()}\n` +
        `# container check: ${stop.stdout.trim()} ${stop.stderr.trim()}\n` +
        `# container check: ${((Date.now() - started) / 1000).toFixed(0)} s in all\n`,
    );
  });

  test("engine - a Docker engine answers; docker.io is installed and dockerd started when missing", async (t) => {
    const out = ok(await stack(["engine"], { timeoutMs: 300_000 }), "container-stack.sh engine");
    t.diagnostic(out.trim());
    const info = await inspectEngine();
    assert.equal(info.driver, "overlay2", "storage driver");
    ready.engine = true;
  });

  test(
    "stand-ins - every upstream image the Dockerfile and compose.yaml name is there (built locally when missing); grafana is not run",
    { timeout: STAND_INS_TIMEOUT_MS },
    async (t) => {
      needs("engine");
      const result = await stack(["stand-ins"], { timeoutMs: STAND_INS_TIMEOUT_MS - 10_000 });
      for (const line of result.stdout.trim().split("\n")) t.diagnostic(line);
      ok(result, "container-stack.sh stand-ins");
      const wanted = upstreamImages().filter((image) => !image.startsWith("grafana/"));
      assert.ok(
        wanted.includes("node:20.20.2-bookworm-slim"),
        `images named: ${wanted.join(", ")}`,
      );
      for (const image of wanted) {
        assert.equal((await docker(["image", "inspect", image])).code, 0, `${image} is present`);
      }
    },
  );

  test(
    "image - builds from the Dockerfile as it is; the runtime has production dependencies only, no npm, no headers",
    { timeout: BUILD_TIMEOUT_MS },
    async (t) => {
      needs("engine");
      const out = ok(
        await stack(["build", IMAGE], { timeoutMs: BUILD_TIMEOUT_MS - 5_000 }),
        "container-stack.sh build",
      );
      t.diagnostic(out.trim());
      ready.image = true;
      const config = await inspect<{
        User: string;
        ExposedPorts: Record<string, unknown>;
        Entrypoint: string[];
        Env: string[];
        Volumes: Record<string, unknown>;
        Healthcheck: { Test: string[] };
      }>(IMAGE, ".Config");
      assert.equal(config.User, "1000:1000");
      assert.deepEqual(Object.keys(config.ExposedPorts), ["9180/tcp"]);
      assert.deepEqual(config.Entrypoint.slice(0, 2), ["/usr/bin/tini", "--"], "tini is PID 1");
      assert.ok(config.Env.includes(`SR_CONFIG=${CONFIG_PATH}`));
      assert.ok(config.Env.includes(`SR_STATE_DIR=${STATE_DIR}`));
      assert.deepEqual(Object.keys(config.Volumes), [STATE_DIR]);
      assert.match(config.Healthcheck.Test.join(" "), /\/livez/);
      const pkg = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as {
        version: string;
      };
      const labels = await inspect<Record<string, string>>(IMAGE, ".Config.Labels");
      assert.equal(labels["org.opencontainers.image.version"], pkg.version, "version label");

      // Exactly the lockfile's production packages; nothing the runtime does not run.
      const lock = JSON.parse(readFileSync(path.join(REPO, "package-lock.json"), "utf8")) as {
        packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>;
      };
      const where = Object.keys(lock.packages).filter((p) => p.startsWith("node_modules/"));
      const probe = [
        ...where.map((p) => `/app/${p}`),
        "/app/dist/src/main.js",
        "/usr/local/bin/npm",
        "/usr/local/lib/node_modules",
        "/usr/local/include/node",
        "/app/package-lock.json",
        "/app/src",
      ];
      const present = new Set(
        JSON.parse(
          ok(
            await docker([
              "run",
              "--rm",
              "--label",
              CHECK_LABEL,
              "--entrypoint",
              "node",
              IMAGE,
              "-e",
              "const fs=require('fs');console.log(JSON.stringify(JSON.parse(process.argv[1]).filter(p=>fs.existsSync(p))))",
              JSON.stringify(probe),
            ]),
            "listing the image",
          ),
        ) as string[],
      );
      assert.ok(present.has("/app/dist/src/main.js"), "dist/src/main.js");
      for (const p of where) {
        const meta = lock.packages[p] ?? {};
        if (meta.dev)
          assert.ok(!present.has(`/app/${p}`), `dev dependency ${p} is not in the image`);
        else if (!meta.optional && !meta.devOptional) {
          assert.ok(present.has(`/app/${p}`), `production dependency ${p} is in the image`);
        }
      }
      for (const p of probe.slice(where.length + 1)) {
        assert.ok(!present.has(p), `${p} is not in the runtime image`);
      }
    },
  );

  test("--validate - a good config exits 0; a bad one exits 2 with one line and no stack trace", async () => {
    needs("image");
    const good = await docker([
      "run",
      "--rm",
      "--label",
      CHECK_LABEL,
      "-v",
      `${path.join(REPO, "examples/compose/sr.yaml")}:${CONFIG_PATH}:ro`,
      IMAGE,
      "--validate",
    ]);
    assert.equal(good.code, 0, `${good.stdout}${good.stderr}`);
    assert.match(good.stdout, /valid \(topics: registrations, cmdb\)/);

    const bad = writeConfig(
      "topics:\n  cmdb:\n    topic: acme.cmdb\n    source_url: nats://a:4222\n    source_cluster_id: dc1\n" +
        '    target_url: nats://b:4222\n    target_cluster_id: dc2\n    inspect: host\n    age: "1 hour"\n',
    );
    const result = await docker([
      "run",
      "--rm",
      "--label",
      CHECK_LABEL,
      "-v",
      `${bad}:${CONFIG_PATH}:ro`,
      IMAGE,
      "--validate",
    ]);
    assert.equal(result.code, 2, `exit code; output:\n${result.stdout}${result.stderr}`);
    const lines = `${result.stdout}${result.stderr}`.trim().split("\n");
    assert.equal(lines.length, 1, `one line:\n${lines.join("\n")}`);
    assert.match(
      lines[0] ?? "",
      /^config \/etc\/stream-replicator\/sr\.yaml: topics\.cmdb\.age: .*1 hour/,
    );
  });

  // One container run through the next three tests: as the manifest runs it (uid 1000, read-only
  // root, no capabilities), on the host network next to two servers started by the tests.
  const run1 = {
    name: `sr-check-${process.pid}`,
    volume: `sr-check-${process.pid}-state`,
    port: 0,
    senders: 40,
    perSender: 3,
  };

  test("run - as uid 1000 with a read-only root filesystem; answers /livez and /healthz; copies what the limiter lets through", async () => {
    needs("image");
    const [source, target] = await Promise.all([
      startStan({ clusterId: "dc1" }),
      startStan({ clusterId: "dc2" }),
    ]);
    run1.port = await getFreePort();
    const config = writeConfig({
      topics: {
        cmdb: {
          topic: "container.cmdb",
          source_url: source.url,
          source_cluster_id: "dc1",
          target_url: target.url,
          target_cluster_id: "dc2",
          inspect: "sender",
          age: "1h",
        },
      },
    });
    ok(await docker(["volume", "create", "--label", CHECK_LABEL, run1.volume]), "volume create");
    ok(
      await docker([
        "run",
        "--detach",
        "--name",
        run1.name,
        "--label",
        CHECK_LABEL,
        "--network",
        "host",
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "-v",
        `${config}:${CONFIG_PATH}:ro`,
        "-v",
        `${run1.volume}:${STATE_DIR}`,
        "-e",
        "SR_HTTP_HOST=127.0.0.1",
        "-e",
        `SR_HTTP_PORT=${run1.port}`,
        IMAGE,
      ]),
      "docker run",
    );
    const base = `http://127.0.0.1:${run1.port}`;
    await waitFor(async () => (await httpStatus(`${base}/healthz`)) === 200, {
      timeoutMs: 30_000,
      message: `/healthz 200; container log:\n${(await docker(["logs", run1.name])).stderr}`,
    });
    assert.equal(await httpStatus(`${base}/livez`), 200, "/livez");

    // Every process in the container runs as uid 1000: tini (PID 1) and node under it.
    const pid = await inspect<number>(run1.name, ".State.Pid");
    const uids = processTree(pid).map((p) => uidOf(p));
    assert.ok(uids.length >= 2, `tini and node: ${uids.length} processes`);
    assert.deepEqual(new Set(uids), new Set([1000]), "uid of every process");
    assert.equal(await inspect<boolean>(run1.name, ".HostConfig.ReadonlyRootfs"), true);
    const write = await docker([
      "exec",
      run1.name,
      "node",
      "-e",
      "require('fs').writeFileSync('/app/written','x')",
    ]);
    assert.notEqual(write.code, 0, "writing to the root filesystem fails");
    assert.match(write.stderr, /EROFS|read-only/);

    // The limiter (inspect: sender) lets each sender's first message through, in order.
    const payloads: Buffer[] = [];
    for (let n = 0; n < run1.senders * run1.perSender; n++) {
      payloads.push(Buffer.from(JSON.stringify({ sender: `node${n % run1.senders}`, n })));
    }
    await publishAll(source.url, "dc1", "container.cmdb", payloads);
    const copied = await readAll(target.url, "dc2", "container.cmdb", {
      expect: run1.senders,
      timeoutMs: 30_000,
      settleMs: 1000,
    });
    assert.deepEqual(
      copied.map((m) => (JSON.parse(m.data.toString()) as { n: number }).n),
      Array.from({ length: run1.senders }, (_, i) => i),
      "the first message of each sender, in order, once",
    );
  });

  test("HEALTHCHECK - the image's own check reports healthy", { timeout: 90_000 }, async () => {
    assert.ok(run1.port > 0, "needs the running container of the previous test");
    // --interval=15s: the first check runs 15 s after the start.
    const status = await waitFor(
      async () => {
        const health = await inspect<{ Status: string }>(run1.name, ".State.Health");
        return health.Status === "healthy" ? health.Status : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, message: "health status healthy" },
    );
    assert.equal(status, "healthy");
    const log = await inspect<Array<{ ExitCode: number }>>(run1.name, ".State.Health.Log");
    assert.equal(log.at(-1)?.ExitCode, 0, "the last check passed");
  });

  test(`stop - docker stop ends it with exit code 0 within ${STOP_TIMEOUT_S} s; the limiter state is in the volume`, async (t) => {
    assert.ok(run1.port > 0, "needs the running container of the previous tests");
    const t0 = Date.now();
    ok(await docker(["stop", "--time", String(STOP_TIMEOUT_S), run1.name]), "docker stop");
    const seconds = (Date.now() - t0) / 1000;
    t.diagnostic(`docker stop took ${seconds.toFixed(1)} s`);
    assert.equal(await inspect<number>(run1.name, ".State.ExitCode"), 0, "exit code");
    assert.equal(await inspect<boolean>(run1.name, ".State.OOMKilled"), false);
    assert.ok(seconds < STOP_TIMEOUT_S, `stopped after ${seconds} s, before SIGKILL`);
    const logs = await docker(["logs", run1.name]);
    assert.doesNotMatch(`${logs.stdout}${logs.stderr}`, /\berror\b/i, "no error in the log");

    // The state file, read from the volume by a second container of the same image.
    const files = JSON.parse(
      ok(
        await docker([
          "run",
          "--rm",
          "--label",
          CHECK_LABEL,
          "-v",
          `${run1.volume}:/state:ro`,
          "--entrypoint",
          "node",
          IMAGE,
          "-e",
          "const fs=require('fs');const o={};for(const f of fs.readdirSync('/state'))o[f]=fs.readFileSync('/state/'+f,'utf8');console.log(JSON.stringify(o))",
        ]),
        "reading the volume",
      ),
    ) as Record<string, string>;
    const names = Object.keys(files);
    assert.equal(names.length, 1, `one state file: ${names.join(", ")}`);
    const lines = (files[names[0] as string] ?? "").trim().split("\n");
    const header = JSON.parse(lines[0] ?? "{}") as { topic?: string; inspect?: string };
    const trailer = JSON.parse(lines.at(-1) ?? "{}") as { end?: boolean; count?: number };
    assert.equal(header.inspect, "sender");
    assert.deepEqual(trailer, { end: true, count: run1.senders });
    const values = lines.slice(1, -1).map((l) => (JSON.parse(l) as [string, number])[0]);
    assert.deepEqual(
      values.sort(),
      Array.from({ length: run1.senders }, (_, i) => `node${i}`).sort(),
      "every sender's last-copied time",
    );
  });

  // The compose stack, on free host ports (compose.yaml's *_PORT variables).
  const compose = { env: {} as Record<string, string>, up: false };

  test(
    "compose - dc1, dc2, the replicator and Prometheus come up healthy in dependency order",
    { timeout: 300_000 },
    async (t) => {
      needs("engine");
      // Every port variable, the bridge profile's too: each compose command gets the same
      // environment, or compose would recreate the services whose ports changed.
      const names = ["DC1_PORT", "DC1_MONITOR_PORT", "DC2_PORT", "DC2_MONITOR_PORT"];
      names.push("REPLICATOR_PORT", "PROMETHEUS_PORT", "NATS_PORT", "NATS_MONITOR_PORT");
      names.push("BRIDGE_PORT");
      const ports = await getFreePorts(names.length);
      compose.env = Object.fromEntries(names.map((n, i) => [n, String(ports[i])]));
      const at = await upInOrder(
        t,
        [],
        ["dc1", "dc2", "replicator", "prometheus"],
        compose.env,
        () => {
          compose.up = true;
        },
      );
      // Order, from the engine's own events: a service starts only after what it depends on is
      // healthy.
      assert.ok(
        at("replicator", "start") > at("dc1", "health_status: healthy"),
        "dc1 before the replicator",
      );
      assert.ok(
        at("replicator", "start") > at("dc2", "health_status: healthy"),
        "dc2 before the replicator",
      );
      assert.ok(
        at("prometheus", "start") > at("replicator", "health_status: healthy"),
        "the replicator before Prometheus",
      );
    },
  );

  test("compose - messages published to dc1 arrive on dc2 through the replicator container, in order, once", async () => {
    assert.ok(compose.up, "needs the stack of the previous test");
    const payloads = numberedPayloads(300, "compose");
    await publishAll(
      `nats://127.0.0.1:${compose.env.DC1_PORT}`,
      "dc1",
      "demo.registrations",
      payloads,
    );
    const copied = await readAll(
      `nats://127.0.0.1:${compose.env.DC2_PORT}`,
      "dc2",
      "demo.registrations",
      { expect: payloads.length, timeoutMs: 30_000, settleMs: 500 },
    );
    assert.deepEqual(
      copied.map((m) => m.data.toString()),
      payloads.map((p) => p.toString()),
    );
  });

  test(
    "compose - Prometheus scrapes the replicator (up == 1) and sees what it copied",
    { timeout: 90_000 },
    async () => {
      assert.ok(compose.up, "needs the stack of the previous tests");
      // scrape_interval 15s: the first scrape and the one after the messages come within 30 s.
      await prometheusSees(compose.env, "replicator:9180", REPLICATOR_NAME, 300, 45_000);
    },
  );

  test(
    "compose demo profile - the traffic generator runs without restarts and its registrations arrive on dc2",
    { timeout: 180_000 },
    async (t) => {
      assert.ok(compose.up, "needs the stack of the previous tests");
      const t0 = Date.now();
      ok(
        await stack(["compose", "--profile", "demo", "up", "--detach", "--build", "traffic"], {
          timeoutMs: 150_000,
          env: compose.env,
        }),
        "docker-compose --profile demo up traffic",
      );
      t.diagnostic(
        `docker-compose up traffic returned after ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      const fromTraffic = (data: Buffer): boolean => {
        try {
          return /^node\d+\.dc1\.example\.net$/.test(
            (JSON.parse(data.toString()) as { sender: string }).sender,
          );
        } catch {
          return false;
        }
      };
      let count = 0;
      const arrived = await readAll(
        `nats://127.0.0.1:${compose.env.DC2_PORT}`,
        "dc2",
        "demo.registrations",
        { timeoutMs: 30_000, complete: (m) => fromTraffic(m.data) && ++count >= 100 },
      );
      t.diagnostic(`100 registrations on dc2 after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      assert.ok(
        arrived.filter((m) => fromTraffic(m.data)).length >= 100,
        `100 registrations from the traffic generator on dc2; traffic log:\n${(await serviceLogs("traffic")).slice(-2000)}`,
      );
      const id = await containerOf("traffic");
      assert.equal(await inspect<boolean>(id, ".State.Running"), true, "traffic runs");
      assert.equal(await inspect<number>(id, ".RestartCount"), 0, "traffic never restarted");
      assert.match(await serviceLogs("traffic"), /traffic: connected to nats:\/\/dc1:4222/);
    },
  );

  // The bridge profile: NATS Streaming dc1 -> a second replicator -> JetStream (nats).
  const bridge = { up: false };

  test(
    "compose bridge profile - the JetStream server and the bridge come up healthy, the bridge after dc1 and nats; it is ready (stream created)",
    { timeout: 300_000 },
    async (t) => {
      assert.ok(compose.up, "needs the stack of the previous tests");
      // Live: the traffic generator still publishes while the bridge starts and catches up.
      const at = await upInOrder(t, ["bridge"], ["nats", "bridge"], compose.env, () => {
        bridge.up = true;
      });
      assert.ok(
        at("bridge", "start") > at("nats", "health_status: healthy"),
        "nats before the bridge",
      );
      // dc1 has been healthy since the first compose test; compose checked it again.
      assert.equal(await health("dc1"), "healthy", "dc1");
      // Readiness: both sessions up, the stream checked (here: created) by the bridge.
      const base = `http://127.0.0.1:${compose.env.BRIDGE_PORT}`;
      await waitFor(async () => (await httpStatus(`${base}/healthz`)) === 200, {
        timeoutMs: 30_000,
        message: `bridge /healthz 200; its log:\n${(await serviceLogs("bridge")).slice(-2000)}`,
      });
    },
  );

  test(
    "compose bridge profile - dc1's channel arrives in the JetStream stream exactly once, in order, stream sequence = channel sequence",
    { timeout: 150_000 },
    async (t) => {
      assert.ok(bridge.up, "needs the bridge of the previous test");
      // The traffic generator stops, so that the channel has a last message to wait for; 300
      // numbered messages follow it.
      ok(
        await stack(["compose", "--profile", "demo", "stop", "--timeout", "10", "traffic"], {
          env: compose.env,
        }),
        "docker-compose stop traffic",
      );
      const dc1 = `nats://127.0.0.1:${compose.env.DC1_PORT}`;
      const js = `nats://127.0.0.1:${compose.env.NATS_PORT}`;
      const payloads = numberedPayloads(300, "bridge");
      await publishAll(dc1, "dc1", CHANNEL, payloads);
      const res = await fetch(
        `http://127.0.0.1:${compose.env.DC1_MONITOR_PORT}/streaming/channelsz?channel=${CHANNEL}`,
      );
      const channel = (await res.json()) as { msgs: number; first_seq: number; last_seq: number };
      assert.equal(channel.first_seq, 1, "dc1 keeps the whole channel");
      t.diagnostic(`dc1 ${CHANNEL}: ${channel.msgs} messages`);
      await waitForStreamCount(js, BRIDGE_STREAM, channel.msgs, 60_000);
      await new Promise((resolve) => setTimeout(resolve, 500)); // room for an extra copy
      const [stored, source] = await Promise.all([
        readStream(js, BRIDGE_STREAM),
        readAll(dc1, "dc1", CHANNEL, { expect: channel.msgs, timeoutMs: 30_000 }),
      ]);
      assert.equal(source.length, channel.msgs, "the whole channel read from dc1");
      assert.equal(stored.length, channel.msgs, "as many messages in the stream as in the channel");
      assert.deepEqual(
        stored.map((m) => m.seq),
        source.map((m) => m.seq),
        "stream sequence = channel sequence (align_sequences)",
      );
      assert.ok(
        stored.every((m, i) => m.data.equals(source[i]?.data ?? Buffer.alloc(0))),
        "each message's payload, in the channel's order",
      );
      for (const m of stored) {
        assert.equal(m.subject, CHANNEL);
        assert.equal(m.headers["Nats-Msg-Id"], `dc1:${CHANNEL}:${m.seq}`);
        assert.equal(m.headers["Nats-Streaming-Sequence"], String(m.seq));
        assert.equal(m.headers["Stream-Replicator"], BRIDGE_NAME);
      }
      assert.deepEqual(
        stored.slice(-payloads.length).map((m) => m.data.toString()),
        payloads.map((p) => p.toString()),
        "the 300 numbered messages last, in order",
      );
    },
  );

  test(
    "compose bridge profile - Prometheus finds and scrapes the bridge too (up == 1) and sees what it copied",
    { timeout: 90_000 },
    async () => {
      assert.ok(bridge.up, "needs the bridge of the previous tests");
      // A DNS refresh (10 s) finds the target, the next scrape (15 s) reads it.
      await prometheusSees(compose.env, "bridge:9180", BRIDGE_NAME, 300, 60_000);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Helpers of the real-engine tests.

/**
 * `docker-compose [--profile P]... up --detach --build SERVICES` while watching the engine's
 * events, then waits until every one of SERVICES is healthy. Returns when each service's event
 * happened (`at(service, status)`, nanoseconds), to assert the start order; the events are
 * a diagnostic. `started` runs once compose was asked (there is something to take down).
 */
async function upInOrder(
  t: { diagnostic(message: string): void },
  profiles: string[],
  services: string[],
  env: Record<string, string>,
  started: () => void,
): Promise<(service: string, status: string) => number> {
  const args = [...profiles.flatMap((p) => ["--profile", p]), "up", "--detach", "--build"];
  args.push(...services);
  const events = spawn(
    "docker",
    [
      "events",
      "--filter",
      `label=com.docker.compose.project=${PROJECT}`,
      "--filter",
      "type=container",
      "--format",
      "{{json .}}",
    ],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  let eventText = "";
  events.stdout.on("data", (d: Buffer) => (eventText += d.toString()));
  try {
    const t0 = Date.now();
    const up = await stack(["compose", ...args], { timeoutMs: 240_000, env });
    started();
    ok(up, `docker-compose ${args.join(" ")}`);
    t.diagnostic(`docker-compose up returned after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await waitFor(
      async () => {
        for (const s of services) {
          if ((await health(s)) !== "healthy") return false;
        }
        return true;
      },
      { timeoutMs: 90_000, intervalMs: 500, message: `${services.join(", ")} healthy` },
    );
    t.diagnostic(`up and healthy in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    events.kill();
  }
  const seen = parseEvents(eventText);
  const first = seen[0]?.time ?? 0;
  t.diagnostic(
    seen
      .filter((e) => /^(create|start|health_status)/.test(e.status))
      .map((e) => `+${((e.time - first) / 1e9).toFixed(1)} s ${e.service} ${e.status}`)
      .join("; "),
  );
  return (service, status) => {
    const time = seen.find((e) => e.service === service && e.status === status)?.time;
    assert.ok(time !== undefined, `event ${status} of ${service}; saw:\n${eventText}`);
    return time;
  };
}

/**
 * Waits until the stack's Prometheus scrapes `instance` of the job stream-replicator (up == 1)
 * and has at least `count` copied messages of the topic `name` from it.
 */
async function prometheusSees(
  env: Record<string, string>,
  instance: string,
  name: string,
  count: number,
  upTimeoutMs: number,
): Promise<void> {
  const query = async (q: string): Promise<number | undefined> => {
    const url = `http://127.0.0.1:${env.PROMETHEUS_PORT}/api/v1/query?query=${encodeURIComponent(q)}`;
    const body = (await (await fetch(url)).json()) as {
      data: { result: Array<{ value: [number, string] }> };
    };
    const value = body.data.result[0]?.value[1];
    return value === undefined ? undefined : Number(value);
  };
  const up = `up{job="stream-replicator",instance="${instance}"}`;
  await waitFor(async () => (await query(up)) === 1, {
    timeoutMs: upTimeoutMs,
    intervalMs: 1000,
    message: `${up} == 1`,
  });
  const copied = `sum(stream_replicator_copied_msgs{instance="${instance}",name="${name}"})`;
  await waitFor(async () => ((await query(copied)) ?? 0) >= count, {
    timeoutMs: 45_000,
    intervalMs: 1000,
    message: `${copied} >= ${count}`,
  });
}

async function inspectEngine(): Promise<{ driver: string }> {
  const out = ok(await docker(["info", "--format", "{{.Driver}}"]), "docker info");
  return { driver: out.trim() };
}

/** The images the Dockerfile's FROM lines and compose.yaml's image keys name (not stages). */
function upstreamImages(): string[] {
  const dockerfile = readFileSync(path.join(REPO, "Dockerfile"), "utf8");
  const stages = new Set([...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]));
  const from = [...dockerfile.matchAll(/^FROM\s+(\S+)/gim)].map((m) => m[1] as string);
  const composeText = readFileSync(path.join(REPO, "compose.yaml"), "utf8");
  const images = [...composeText.matchAll(/^\s+image:\s*"?([^"\s]+)"?\s*$/gm)].map(
    (m) => m[1] as string,
  );
  return [...new Set([...from.filter((f) => !stages.has(f)), ...images])];
}

/** A process and its descendants (host pids), from /proc. */
function processTree(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
    .trim()
    .split(/\s+/)
    .filter((s) => s !== "")
    .map(Number);
  return [pid, ...children.flatMap((c) => processTree(c))];
}

function uidOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Uid:"));
  return Number(line?.split(/\s+/)[1]);
}

async function containerOf(service: string): Promise<string> {
  const out = ok(
    await stack(["compose", "ps", "-q", service], { env: {} }),
    `docker-compose ps ${service}`,
  ).trim();
  assert.ok(out !== "", `a container of ${service}`);
  return out;
}

async function health(service: string): Promise<string> {
  const id = await containerOf(service);
  return inspect<{ Status: string } | null>(id, ".State.Health").then((h) => h?.Status ?? "none");
}

async function serviceLogs(service: string): Promise<string> {
  const result = await docker(["logs", await containerOf(service)]);
  return `${result.stdout}${result.stderr}`;
}

interface EngineEvent {
  service: string;
  status: string;
  time: number;
}

function parseEvents(text: string): EngineEvent[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const e = JSON.parse(l) as {
        status: string;
        timeNano: number;
        Actor: { Attributes: Record<string, string> };
      };
      return {
        service: e.Actor.Attributes["com.docker.compose.service"] ?? "",
        status: e.status,
        time: e.timeNano,
      };
    });
}
