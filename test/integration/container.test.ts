// The container recipe, without a Docker engine:
// - the offline checks of scripts/check-container.sh (compose, mounts, configs, linters, and the
//   Kubernetes manifest against the Dockerfile), one test each;
// - a replay of the Dockerfile: its build context is made the way `docker build` makes it (the
//   tree filtered by .dockerignore), its stages' COPY and RUN steps run in order in temporary
//   directories standing in for the images' file systems, and the runtime stage's ENTRYPOINT is
//   started against two real NATS Streaming servers. A broken recipe fails here.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { stringify } from "yaml";
import { getFreePort, startStan, stopAll } from "../support/servers";
import { numberedPayloads, publishAll, readAll, waitFor } from "../support/stan-client";

const REPO = path.resolve(__dirname, "..", "..");
const CHECK_TIMEOUT_MS = 180_000;
const REPLAY_TIMEOUT_MS = 300_000;
const RUN_STEP_TIMEOUT_MS = 240_000;

const tempDirs: string[] = [];
const children = new Set<ChildProcess>();
after(async () => {
  for (const child of children) child.kill("SIGKILL");
  await stopAll();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  output: string;
}

/** Runs a command to its end; resolves with its exit code and stdout+stderr (never rejects). */
function run(
  file: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}${err && code === 1 ? err.message : ""}` });
      },
    );
  });
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
    test(`${name} - ${spec}`, { timeout: CHECK_TIMEOUT_MS }, async () => {
      const result = await run("bash", ["scripts/check-container.sh", name], {
        cwd: REPO,
        timeoutMs: CHECK_TIMEOUT_MS - 5_000,
      });
      assert.equal(result.code, 0, `check-container.sh ${name} failed:\n${result.output}`);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Dockerfile and .dockerignore, read the way Docker reads them (the subset this project uses).

interface Instruction {
  op: string;
  args: string;
}

function parseDockerfile(text: string): Instruction[] {
  return text
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const op = line.split(/\s+/)[0] ?? "";
      return { op: op.toUpperCase(), args: line.slice(op.length).trim() };
    });
}

function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, key, raw = ""] of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    env[key as string] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
  }
  return env;
}

/** A .dockerignore pattern as a regular expression (moby/patternmatcher semantics). */
function patternRegex(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*" && pattern[i + 1] === "*") {
      i++;
      if (pattern[i + 1] === "/") {
        i++;
        re += "(?:.*/)?";
      } else re += ".*";
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

interface IgnoreRule {
  regex: RegExp;
  negated: boolean;
  text: string;
}

function readDockerignore(file: string): IgnoreRule[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const negated = line.startsWith("!");
      const text = path.posix.normalize(line.slice(negated ? 1 : 0).trim()).replace(/^\/|\/$/g, "");
      return { regex: patternRegex(text), negated, text };
    });
}

/** Excluded when the last rule matching the path, or one of its parent folders, is not a "!". */
function isExcluded(rel: string, rules: IgnoreRule[]): boolean {
  const parts = rel.split("/");
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let excluded = false;
  for (const rule of rules) {
    if (candidates.some((c) => rule.regex.test(c))) excluded = !rule.negated;
  }
  return excluded;
}

/** The files `docker build .` would send: the tree minus what .dockerignore excludes. */
function buildContext(root: string): Set<string> {
  const rules = readDockerignore(path.join(root, ".dockerignore"));
  const files = new Set<string>();
  const canReinclude = (dir: string): boolean =>
    rules.some((r) => r.negated && (/[*?[]/.test(r.text) || r.text.startsWith(`${dir}/`)));
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = dir === "" ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!isExcluded(rel, rules) || canReinclude(rel)) walk(rel);
      } else if (!isExcluded(rel, rules)) files.add(rel);
    }
  };
  walk("");
  return files;
}

// ---------------------------------------------------------------------------------------------
// The replay.

interface Stage {
  name: string;
  base: string;
  /** Stands in for the image's file system root. */
  rootfs: string;
  workdir: string;
  env: Record<string, string>;
  entrypoint?: string[];
  cmd?: string[];
  user?: string;
  expose: number[];
  healthcheck?: string[];
  labels: string;
  args: Record<string, string>;
}

interface Replay {
  stages: Stage[];
  /** The RUN commands executed, in order, as written in the Dockerfile. */
  executed: string[];
  /** The RUN parts not executed here (system packages, ownership), as written. */
  skipped: string[];
  contextFiles: Set<string>;
}

/** RUN parts that change the system image, not /app: not replayed (tini comes from Debian). */
const SYSTEM_STEPS = [
  /^apt-get update$/,
  /^apt-get install -y --no-install-recommends( [a-z0-9.+-]+=\S+)+$/,
  /^rm -rf \/var\/lib\/apt\/lists\/\*$/,
  /^chown \d+:\d+( \/(etc|var)\/\S+)+$/,
];
/** Replayed inside the stage's stand-in root. */
const MKDIR_STEP = /^mkdir -p((?: \/(?:etc|var)\/\S+)+)$/;

/** Environment for replayed steps: ours without npm's own variables (a parent `npm test` sets
 * npm_config_local_prefix=<repo>, which would point a nested npm at this repository). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== "INIT_CWD" && !key.startsWith("SR_")) env[key] = value;
  }
  return { ...env, ...extra };
}

function inRoot(stage: Stage, containerPath: string): string {
  return path.join(stage.rootfs, path.posix.resolve(stage.workdir, containerPath));
}

function copyStep(stage: Stage, args: string, replay: Replay, root: string): void {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith("--"));
  const [dest, ...sourcesReversed] = words.filter((w) => !w.startsWith("--")).reverse();
  assert.ok(dest !== undefined && sourcesReversed.length > 0, `COPY ${args}: sources and dest`);
  const sources = sourcesReversed.reverse();
  const from = flags.find((f) => f.startsWith("--from="))?.slice("--from=".length);
  const destIsDir = dest.endsWith("/") || sources.length > 1;
  for (const source of sources) {
    assert.ok(!/[*?[]/.test(source), `COPY ${args}: wildcards are not replayed`);
    if (from !== undefined) {
      const origin = replay.stages.find((s) => s.name === from);
      assert.ok(origin, `COPY ${args}: no stage ${from}`);
      const src = inRoot(origin, source);
      assert.ok(existsSync(src), `COPY ${args}: ${source} not found in stage ${from}`);
      cpSync(src, inRoot(stage, destIsDir ? path.posix.join(dest, path.basename(source)) : dest), {
        recursive: true,
      });
      continue;
    }
    const rel = path.posix.normalize(source).replace(/^\.\/|\/$/g, "");
    if (replay.contextFiles.has(rel)) {
      const target = destIsDir ? path.posix.join(dest, path.posix.basename(rel)) : dest;
      mkdirSync(path.dirname(inRoot(stage, target)), { recursive: true });
      cpSync(path.join(root, rel), inRoot(stage, target));
      continue;
    }
    const inside = [...replay.contextFiles].filter((f) => f.startsWith(`${rel}/`));
    assert.ok(inside.length > 0, `COPY ${args}: ${source} is not in the build context`);
    for (const file of inside) {
      const target = inRoot(stage, path.posix.join(dest, file.slice(rel.length + 1)));
      mkdirSync(path.dirname(target), { recursive: true });
      cpSync(path.join(root, file), target);
    }
  }
}

async function runStep(stage: Stage, command: string, replay: Replay, cache: string) {
  const parts = command.split(/\s*&&\s*/);
  const system = parts.map((p) => SYSTEM_STEPS.some((re) => re.test(p)) || MKDIR_STEP.test(p));
  if (system.every(Boolean)) {
    for (const part of parts) {
      const mkdir = MKDIR_STEP.exec(part);
      if (mkdir) {
        for (const dir of (mkdir[1] as string).trim().split(/\s+/)) {
          mkdirSync(inRoot(stage, dir), { recursive: true });
        }
      } else replay.skipped.push(part);
    }
    return;
  }
  assert.ok(!system.some(Boolean), `RUN ${command}: mixes system and application steps`);
  const cwd = inRoot(stage, stage.workdir);
  mkdirSync(cwd, { recursive: true });
  const result = await run("/bin/sh", ["-c", command], {
    cwd,
    env: cleanEnv({ ...stage.env, npm_config_cache: cache }),
    timeoutMs: RUN_STEP_TIMEOUT_MS,
  });
  assert.equal(result.code, 0, `stage ${stage.name}: RUN ${command} failed:\n${result.output}`);
  replay.executed.push(command);
}

async function replayDockerfile(root: string, work: string): Promise<Replay> {
  const instructions = parseDockerfile(readFileSync(path.join(root, "Dockerfile"), "utf8"));
  const replay: Replay = {
    stages: [],
    executed: [],
    skipped: [],
    contextFiles: buildContext(root),
  };
  const cache = path.join(work, "npm-cache");
  let globalArgs: Record<string, string> = {};
  let stage: Stage | undefined;
  for (const { op, args } of instructions) {
    if (op === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      assert.ok(m, `FROM ${args}`);
      const name = m[2] ?? String(replay.stages.length);
      stage = {
        name,
        base: m[1] as string,
        rootfs: path.join(work, `stage-${name}`),
        workdir: "/",
        env: {},
        expose: [],
        labels: "",
        args: { ...globalArgs },
      };
      mkdirSync(stage.rootfs, { recursive: true });
      replay.stages.push(stage);
      continue;
    }
    if (!stage) {
      assert.equal(op, "ARG", `${op} before the first FROM`);
      globalArgs = { ...globalArgs, ...parseEnv(args) };
      continue;
    }
    switch (op) {
      case "WORKDIR":
        stage.workdir = path.posix.resolve(stage.workdir, args);
        mkdirSync(inRoot(stage, stage.workdir), { recursive: true });
        break;
      case "ENV":
        stage.env = { ...stage.env, ...parseEnv(args) };
        break;
      case "ARG":
        stage.args = { ...stage.args, ...parseEnv(args) };
        break;
      case "COPY":
        copyStep(stage, args, replay, root);
        break;
      case "RUN":
        await runStep(stage, args, replay, cache);
        break;
      case "ENTRYPOINT":
        stage.entrypoint = JSON.parse(args) as string[];
        break;
      case "CMD":
        stage.cmd = JSON.parse(args) as string[];
        break;
      case "USER":
        stage.user = args;
        break;
      case "EXPOSE":
        stage.expose.push(...args.split(/\s+/).map((p) => Number.parseInt(p, 10)));
        break;
      case "HEALTHCHECK": {
        const json = /\bCMD\s+(\[.*\])\s*$/.exec(args);
        assert.ok(json, "HEALTHCHECK: exec form CMD [...] expected");
        stage.healthcheck = JSON.parse(json[1] as string) as string[];
        break;
      }
      case "LABEL":
        stage.labels += ` ${args}`;
        break;
      case "VOLUME":
        break;
      default:
        assert.fail(`Dockerfile: ${op} is not replayed by this test; teach it or avoid it`);
    }
  }
  return replay;
}

/** An argv of the image, runnable here: node is this node, absolute paths are in the stand-in. */
function hostArgv(stage: Stage, argv: string[]): [string, string[]] {
  const mapped = argv.map((arg, i) =>
    i === 0 && arg === "node"
      ? process.execPath
      : arg.startsWith("/") && existsSync(inRoot(stage, arg))
        ? inRoot(stage, arg)
        : arg,
  );
  return [mapped[0] as string, mapped.slice(1)];
}

describe("container image - the Dockerfile replayed outside Docker", () => {
  test(
    "replay - builds in two stages, runs production dependencies only, replicates and stops on SIGTERM",
    { timeout: REPLAY_TIMEOUT_MS },
    async (t) => {
      const work = mkdtempSync(path.join(os.tmpdir(), "sr-container-"));
      tempDirs.push(work);
      const started = Date.now();
      const replay = await replayDockerfile(REPO, work);
      t.diagnostic(`replayed the Dockerfile in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      t.diagnostic(`executed: ${replay.executed.join(" | ")}`);
      t.diagnostic(`not replayed (system image): ${replay.skipped.join(" | ")}`);

      // The recipe: a build stage and a runtime stage on the same pinned Node 20 image.
      const [build, runtime] = replay.stages;
      assert.ok(build && runtime && replay.stages.length === 2, "two stages: build, runtime");
      assert.match(build.base, /^node:20\.\d+\.\d+-bookworm-slim$/, "exact node:20 tag");
      assert.equal(runtime.base, build.base, "both stages on the same base image");
      const nodeVersion = /^node:(\d+\.\d+\.\d+)/.exec(build.base)?.[1];
      assert.equal(process.versions.node.split(".")[0], "20", "replayed with Node 20");
      if (process.versions.node !== nodeVersion) {
        t.diagnostic(`replayed with node ${process.versions.node}, the image has ${nodeVersion}`);
      }
      assert.ok(
        replay.executed.some((c) => /^npm ci\b(?!.*--omit=dev)/.test(c)),
        "the build stage installs every dependency",
      );
      assert.ok(replay.executed.includes("npm run build"), "the build stage runs npm run build");
      assert.ok(
        replay.executed.some((c) => /^npm ci --omit=dev\b/.test(c)),
        "the runtime stage installs production dependencies",
      );
      assert.ok(
        replay.skipped.some((s) => /apt-get install .*\btini=/.test(s)),
        "tini comes from Debian",
      );
      const pkg = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as {
        version: string;
      };
      assert.equal(runtime.args.VERSION, pkg.version, "ARG VERSION (image label) = package.json");
      assert.match(runtime.labels, /org\.opencontainers\.image\.version="\$\{VERSION\}"/);

      // The build context holds what the build needs and nothing bulky.
      for (const dir of ["node_modules/", "dist/", "tools/", ".git/", ".tmp/", "bench/results/"]) {
        assert.ok(
          ![...replay.contextFiles].some((f) => f.startsWith(dir)),
          `${dir} is kept out of the build context`,
        );
      }

      // Runtime: dist/ from the build stage; exactly the lockfile's production packages.
      const app = inRoot(runtime, runtime.workdir);
      assert.ok(existsSync(path.join(app, "dist/src/main.js")), "dist/src/main.js");
      assert.ok(existsSync(path.join(app, "dist/package.json")), "dist/package.json");
      const lock = JSON.parse(readFileSync(path.join(REPO, "package-lock.json"), "utf8")) as {
        packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>;
      };
      for (const [where, meta] of Object.entries(lock.packages)) {
        if (!where.startsWith("node_modules/")) continue;
        const present = existsSync(path.join(app, where));
        if (meta.dev) assert.ok(!present, `dev dependency ${where} is not in the runtime image`);
        else if (!meta.optional && !meta.devOptional) {
          assert.ok(present, `production dependency ${where} is in the runtime image`);
        }
      }

      // The runtime stage's contract.
      assert.equal(runtime.user, "1000:1000", "USER: the node user, by uid");
      assert.deepEqual(runtime.expose, [9180]);
      assert.equal(runtime.env.SR_CONFIG, "/etc/stream-replicator/sr.yaml");
      assert.equal(runtime.env.SR_STATE_DIR, "/var/lib/stream-replicator");
      const entrypoint = runtime.entrypoint ?? [];
      assert.deepEqual(entrypoint.slice(0, 2), ["/usr/bin/tini", "--"], "tini is PID 1");
      const argv = [...entrypoint.slice(2), ...(runtime.cmd ?? [])];
      const [exe, exeArgs] = hostArgv(runtime, argv);
      assert.ok(runtime.healthcheck, "HEALTHCHECK");
      const [checkExe, checkArgs] = hostArgv(runtime, runtime.healthcheck);

      // Two real servers and a configuration at the image's SR_CONFIG path.
      const [source, target] = await Promise.all([
        startStan({ clusterId: "dc1" }),
        startStan({ clusterId: "dc2" }),
      ]);
      const configFile = inRoot(runtime, runtime.env.SR_CONFIG);
      mkdirSync(path.dirname(configFile), { recursive: true });
      writeFileSync(
        configFile,
        stringify({
          topics: {
            registrations: {
              topic: "container.registrations",
              source_url: source.url,
              source_cluster_id: "dc1",
              target_url: target.url,
              target_cluster_id: "dc2",
            },
          },
        }),
      );
      const port = await getFreePort();
      const mappedEnv = Object.fromEntries(
        Object.entries(runtime.env).map(([k, v]) => [
          k,
          v.startsWith("/") ? inRoot(runtime, v) : v,
        ]),
      );
      const env = cleanEnv({
        ...mappedEnv,
        SR_HTTP_HOST: "127.0.0.1",
        SR_HTTP_PORT: String(port),
      });

      // Arguments after the image name reach the replicator: --validate.
      const validate = await run(exe, [...exeArgs, "--validate"], {
        cwd: app,
        env,
        timeoutMs: 30_000,
      });
      assert.equal(validate.code, 0, validate.output);
      assert.match(validate.output, /valid \(topics: registrations\)/);

      // The HEALTHCHECK fails while nothing listens ...
      const before = await run(checkExe, checkArgs, { cwd: app, env, timeoutMs: 10_000 });
      assert.notEqual(before.code, 0, "HEALTHCHECK fails without a replicator");

      const child = spawn(exe, exeArgs, { cwd: app, env, stdio: ["ignore", "pipe", "pipe"] });
      children.add(child);
      let output = "";
      child.stdout.on("data", (d: Buffer) => (output += d.toString()));
      child.stderr.on("data", (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((resolve) =>
        child.on("exit", (code) => resolve(code)),
      );

      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200, {
        timeoutMs: 30_000,
        message: `/healthz 200; replicator output:\n${output}`,
      }).catch((err: Error) => assert.fail(`${err.message}\n${output}`));

      // ... and passes once it runs.
      const healthy = await run(checkExe, checkArgs, { cwd: app, env, timeoutMs: 10_000 });
      assert.equal(healthy.code, 0, `HEALTHCHECK: ${healthy.output}`);

      const payloads = numberedPayloads(200, "registration");
      await publishAll(source.url, "dc1", "container.registrations", payloads);
      const copied = await readAll(target.url, "dc2", "container.registrations", {
        expect: payloads.length,
        timeoutMs: 30_000,
        settleMs: 300,
      });
      assert.deepEqual(
        copied.map((m) => m.data.toString()),
        payloads.map((p) => p.toString()),
        "every message arrives on the target, in order, once",
      );

      // tini forwards SIGTERM; node drains, saves state under SR_STATE_DIR and exits 0.
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const code = await exited;
      clearTimeout(timer);
      children.delete(child);
      assert.equal(code, 0, `exit code after SIGTERM; output:\n${output}`);
    },
  );
});
