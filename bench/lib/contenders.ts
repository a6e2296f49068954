/**
 * The replicators under test and how each is started against the benchmark's two clusters:
 * ours (dist/src/main.js) in several modes, the reference Go replicator (bench/peer, the same
 * algorithm as nats-replicator in 100 lines) and, when it could be built, nats-replicator itself.
 * With a JetStream target (`--jetstream`): ours with `target: jetstream` and the Go bridges of
 * js-contenders.ts.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { NODE_FLAGS } from "../../src/cli/node-flags";
import { saveState, stateFilePath } from "../../src/sampling/state-file";
import { getFreePort } from "../../test/support/servers";
import { jetStreamContenders, jetStreamOf, launchJsGo } from "./js-contenders";
import type { BenchOptions } from "./options";
import { startChild } from "./proc";
import type { Child } from "./proc";

export const REPO = path.resolve(__dirname, "..", "..");
export const BIN = path.join(REPO, "tools", "bin");
export const PEER_BIN = path.join(BIN, "sr-peer");
export const OFFICIAL_BIN = path.join(BIN, "nats-replicator");
export const OURS_MAIN = path.join(REPO, "dist", "src", "main.js");
/** Ours with STAN sessions over the official NATS client (the NATS-client A/B). */
const OURS_OFFICIAL_NATS_MAIN = path.join(REPO, "dist", "bench", "official-nats-main.js");

export const PEER_LABEL = "reference Go replicator (stan.go)";

export type ContenderKind = "ours" | "peer" | "official" | "js-peer" | "js-sync";

export interface ContenderSpec {
  id: string;
  label: string;
  kind: ContenderKind;
  /** Where the copies go: the target STAN cluster, or a JetStream stream. */
  target: "stan" | "jetstream";
  /** JetStream: every copy carries the message id `<source cluster>:<channel>:<sequence>`. */
  msgIds?: boolean;
  /** The contender reads the source with an ephemeral subscription (no durable). */
  ephemeral?: boolean;
  /** First arrivals on the target must follow the source order. */
  ordered: boolean;
  workers: number;
  /** inspect: sender, age: 1h; messages beyond the first of each sender are skipped. */
  limiter: boolean;
  /** Pre-seeds a limiter state file with this many entries and saves it every second. */
  stateSeed?: number;
  /** With stateSeed: saves every this long instead (a Go duration). */
  stateSaveInterval?: string;
  /** Runs node with --cpu-prof (drain only). */
  cpuProfile?: boolean;
  /** Ours' entry point, when not dist/src/main.js. */
  main?: string;
}

export interface Endpoint {
  url: string;
  clusterId: string;
}

export interface LaunchContext {
  source: Endpoint;
  target: Endpoint;
  /** JetStream contenders: the server and the stream (fresh per run) the copies go to. */
  jetstream?: { url: string; stream: string };
  channel: string;
  /** Unique per run: durable names and client ids. */
  runId: string;
  /** A directory for this run's files (config, state, profile). */
  dir: string;
}

export interface RunningContender {
  child: Child;
  /** Ours only: the sums of its /metrics counters by metric name. */
  metrics?(): Promise<Record<string, number>>;
  /** The CPU profile file (ours with cpuProfile), known after the process exited. */
  profileDir?: string;
}

/** Throws one line per tool that is not there, each with the command that makes it. */
export function requireTools(
  need: ReadonlyArray<[wanted: boolean, file: string, fix: string]>,
): void {
  const missing = need.filter(([wanted, file]) => wanted && !existsSync(file));
  if (missing.length > 0) {
    throw new Error(missing.map(([, file, fix]) => `${file} is missing (${fix})`).join("\n"));
  }
}

export const MAX_IN_FLIGHT = 1024;
/** Limiter state entries pre-seeded for the state-save contender (and limiter-memory.ts). */
export const STATE_SEED = 1_000_000;
const STATE_SAVE_INTERVAL = "1s";

/** The contenders of a run, in order, as selected by the options. */
export function contenderList(o: BenchOptions): ContenderSpec[] {
  const ours = (id: string, label: string, extra: Partial<ContenderSpec>): ContenderSpec => ({
    id,
    label,
    kind: "ours",
    target: "stan",
    ordered: true,
    workers: 1,
    limiter: false,
    ...extra,
  });
  const list: ContenderSpec[] = [
    {
      id: "peer",
      label: "peer: reference Go replicator (stan.go)",
      kind: "peer",
      target: "stan",
      ordered: true,
      workers: 1,
      limiter: false,
    },
  ];
  // nats-replicator itself, when scripts/bench.sh could build it from a copy of its source in
  // the local Go module cache (the Go proxy refuses to serve it).
  if (existsSync(OFFICIAL_BIN)) {
    const versionFile = `${OFFICIAL_BIN}.version`;
    const version = existsSync(versionFile) ? ` ${readFileSync(versionFile, "utf8").trim()}` : "";
    list.push({
      id: "official",
      label: `nats-replicator${version} (official; source from the Go module cache)`,
      kind: "official",
      target: "stan",
      ordered: true,
      workers: 1,
      limiter: false,
    });
  }
  list.push(ours("ours-ordered", "ours: ordered (workers 1)", {}));
  if (o.natsAb || o.only?.includes("ours-ordered-official-nats")) {
    list.push(
      ours("ours-ordered-official-nats", "ours: ordered, STAN over @nats-io/nats-core", {
        main: OURS_OFFICIAL_NATS_MAIN,
      }),
    );
  }
  list.push(
    ours("ours-queued-4", "ours: queued, 4 workers", { ordered: false, workers: 4 }),
    ours("ours-queued-10", "ours: queued, 10 workers", { ordered: false, workers: 10 }),
    ours("ours-limiter", `ours: ordered + limiter (${o.senders} senders; received msg/s)`, {
      limiter: true,
    }),
  );
  if (o.limiter) {
    list.push(
      ours("ours-limiter-state-1m", "ours: ordered + limiter, saving 1M-entry state every 1s", {
        limiter: true,
        stateSeed: STATE_SEED,
      }),
    );
  }
  if (o.profile) {
    list.push(
      ours("ours-ordered-cpuprof", "ours: ordered under --cpu-prof (drain only)", {
        cpuProfile: true,
      }),
    );
  }
  list.push(...jetStreamContenders(o, ours));
  return list.filter((c) => !o.only || o.only.includes(c.id));
}

export async function launch(spec: ContenderSpec, ctx: LaunchContext): Promise<RunningContender> {
  mkdirSync(ctx.dir, { recursive: true });
  switch (spec.kind) {
    case "ours":
      return launchOurs(spec, ctx);
    case "peer":
      return { child: launchPeer(ctx) };
    case "official":
      return { child: launchOfficial(ctx) };
    case "js-peer":
    case "js-sync":
      return { child: launchJsGo(spec, ctx, MAX_IN_FLIGHT) };
  }
}

async function launchOurs(spec: ContenderSpec, ctx: LaunchContext): Promise<RunningContender> {
  const port = await getFreePort();
  const name = `sr_${ctx.runId}`;
  const topic: Record<string, unknown> = {
    topic: ctx.channel,
    name,
    source_url: ctx.source.url,
    source_cluster_id: ctx.source.clusterId,
    ...(spec.target === "jetstream"
      ? {
          target: "jetstream",
          target_url: jetStreamOf(ctx).url,
          jetstream: { stream: jetStreamOf(ctx).stream, create: true },
        }
      : { target_url: ctx.target.url, target_cluster_id: ctx.target.clusterId }),
    workers: spec.workers,
    max_in_flight: MAX_IN_FLIGHT,
  };
  if (spec.limiter) Object.assign(topic, { inspect: "sender", age: "1h" });
  const config: Record<string, unknown> = {
    log_level: "warn",
    http_host: "127.0.0.1",
    http_port: port,
    topics: { bench: topic },
  };
  if (spec.stateSeed !== undefined) {
    const stateDir = path.join(ctx.dir, "state");
    mkdirSync(stateDir, { recursive: true });
    await seedState(stateFilePath(stateDir, name), name, spec.stateSeed);
    Object.assign(config, {
      state_dir: stateDir,
      state_save_interval: spec.stateSaveInterval ?? STATE_SAVE_INTERVAL,
    });
  }
  const file = path.join(ctx.dir, "sr.yaml");
  writeFileSync(file, stringify(config));
  const profileDir = spec.cpuProfile ? path.join(ctx.dir, "cpuprofile") : undefined;
  // Ours runs as shipped: with the flags of the image's ENTRYPOINT.
  const nodeArgs = [
    ...NODE_FLAGS,
    ...(profileDir ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : []),
  ];
  const main = spec.main ?? OURS_MAIN;
  const child = startChild(spec.id, process.execPath, [...nodeArgs, main, "--config", file], {
    cwd: REPO,
  });
  return { child, metrics: () => scrapeMetrics(port), profileDir };
}

/** A valid state file (src/limiter/state-file.ts format) of `count` recent senders that the
 * benchmark's payloads never use, so the limiter tracks them without skipping because of them. */
async function seedState(file: string, name: string, count: number): Promise<void> {
  const now = Date.now();
  function* entries(): Generator<[string, number]> {
    for (let i = 0; i < count; i++) {
      yield [`seed-host-${String(i).padStart(7, "0")}.example.net`, now - 60_000];
    }
  }
  await saveState(file, entries(), { topic: name, inspect: "sender" }, now);
}

function launchPeer(ctx: LaunchContext): Child {
  if (!existsSync(PEER_BIN)) throw new Error(`${PEER_BIN} missing: run scripts/bench.sh`);
  return startChild("peer", PEER_BIN, [
    ...["-src-url", ctx.source.url, "-src-cluster", ctx.source.clusterId],
    ...["-dst-url", ctx.target.url, "-dst-cluster", ctx.target.clusterId],
    ...["-channel", ctx.channel, "-durable", `peer_${ctx.runId}`],
    ...["-client-id", `peer_${ctx.runId}`, "-max-inflight", String(MAX_IN_FLIGHT)],
  ]);
}

/** nats-replicator's own configuration format (NATS conf), one StanToStan connector. */
function launchOfficial(ctx: LaunchContext): Child {
  const id = `nr_${ctx.runId}`;
  const hostPort = (url: string): string => url.replace(/^nats:\/\//, "");
  const conf = `
reconnectinterval: 5000
logging: { time: true, debug: false, trace: false, colors: false, pid: false }
nats: [
  { name: "src", servers: ["${hostPort(ctx.source.url)}"], connecttimeout: 5000, maxreconnects: 5, reconnectwait: 1000 },
  { name: "dst", servers: ["${hostPort(ctx.target.url)}"], connecttimeout: 5000, maxreconnects: 5, reconnectwait: 1000 }
]
stan: [
  { name: "ssrc", natsconnection: "src", clusterid: "${ctx.source.clusterId}", clientid: "${id}" },
  { name: "sdst", natsconnection: "dst", clusterid: "${ctx.target.clusterId}", clientid: "${id}" }
]
connect: [
  { type: "StanToStan", id: "bench", incomingconnection: "ssrc", outgoingconnection: "sdst",
    incomingchannel: "${ctx.channel}", outgoingchannel: "${ctx.channel}",
    incoming_durable_name: "${id}", incoming_max_in_flight: ${MAX_IN_FLIGHT} }
]
`;
  const file = path.join(ctx.dir, "nats-replicator.conf");
  writeFileSync(file, conf);
  return startChild("official", OFFICIAL_BIN, ["-c", file]);
}

/** Sums the samples of each metric (histogram buckets left out), by metric name. */
async function scrapeMetrics(port: number): Promise<Record<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  const sums: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m?.[1] || !m[2] || m[1].endsWith("_bucket")) continue;
    const value = Number(m[2]);
    if (Number.isFinite(value)) sums[m[1]] = (sums[m[1]] ?? 0) + value;
  }
  return sums;
}
