/**
 * `npm run demo`: NATS Streaming dc1 -> the replicator -> NATS Streaming dc2, with
 * examples/demo.yaml. `npm run demo -- --jetstream`: dc1 -> the replicator -> a JetStream server
 * (nats-server -js), with examples/demo-jetstream.yaml: the migration bridge.
 *
 * The replicator runs as a real child process; a publisher sends node registrations to dc1 and
 * each second one line per topic says what it received, copied and skipped (from /metrics).
 * Ctrl-C (or `--seconds N`) stops the publisher, lets the replicator copy what is left, stops it,
 * reads every target back and ends with one summary line whose "lost" comes from that reading.
 * A second Ctrl-C stops everything at once. `--free-ports` takes free ports instead of the ones
 * the example names (the tests use it). The pieces are in scripts/demo/.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { NODE_FLAGS } from "../src/cli/node-flags";
import { getFreePorts } from "../test/support/servers";
import { TopicCheck, passed, summaryLine } from "./demo/check";
import type { TopicResult } from "./demo/check";
import {
  killAll,
  startJetStreamServer,
  startReplicator,
  startStanServer,
  stopChild,
} from "./demo/processes";
import type { DemoServer } from "./demo/processes";
import { readTarget } from "./demo/read-back";
import { fetchCounts, legend, loadTopics, progressLines } from "./demo/topics";
import type { DemoTopic, TopicCounts } from "./demo/topics";
import { HOSTS, RATE_PER_SECOND, Traffic } from "./demo/traffic";

const REPO = path.resolve(__dirname, "..");
const CHANNEL = "demo.registrations";
/** How long the replicator may take to copy what was published before it stopped. */
const DRAIN_TIMEOUT_MS = 30_000;

/** The ports each example names; `--free-ports` swaps every one for a free one. */
const VARIANTS = {
  stan: {
    config: "examples/demo.yaml",
    ports: { dc1: 14222, dc1Monitor: 18222, target: 14223, targetMonitor: 18223, http: 9180 },
  },
  jetstream: {
    config: "examples/demo-jetstream.yaml",
    ports: { dc1: 14222, dc1Monitor: 18222, target: 14224, targetMonitor: 18224, http: 9180 },
  },
};
type Ports = (typeof VARIANTS)["stan"]["ports"];

interface Args {
  jetstream: boolean;
  seconds?: number;
  freePorts: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { jetstream: false, freePorts: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--jetstream") args.jetstream = true;
    else if (arg === "--free-ports") args.freePorts = true;
    else if (arg === "--seconds") {
      args.seconds = Number(argv[++i]);
      if (!(args.seconds > 0)) usage(`--seconds needs a positive number`);
    } else usage(arg === "--help" || arg === "-h" ? undefined : `unknown option ${arg}`);
  }
  return args;
}

function usage(problem?: string): never {
  if (problem) console.error(`demo: ${problem}`);
  console.error("usage: npm run demo [-- [--jetstream] [--seconds N] [--free-ports]]");
  process.exit(problem ? 2 : 0);
}

/** The example's YAML with every port (and the state directory) moved. */
async function movedConfig(file: string, dir: string, ports: Ports): Promise<Ports> {
  let yaml = readFileSync(file, "utf8").replace(/^state_dir: .*$/m, `state_dir: ${dir}/state`);
  const keys = Object.keys(ports) as Array<keyof Ports>;
  const free = await getFreePorts(keys.length);
  const moved = { ...ports };
  keys.forEach((key, i) => {
    moved[key] = free[i] ?? 0;
    yaml = yaml.replaceAll(`:${ports[key]}`, `:${moved[key]}`); // URLs
    yaml = yaml.replaceAll(`: ${ports[key]}\n`, `: ${moved[key]}\n`); // http_port
  });
  writeFileSync(path.join(dir, "demo.yaml"), yaml);
  return moved;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const variant = VARIANTS[args.jetstream ? "jetstream" : "stan"];
  // Tests run with free ports beside a demo someone may be running: a directory of their own.
  const dir = path.join(REPO, args.freePorts ? `.tmp/demo-${process.pid}` : ".tmp/demo");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (args.freePorts) process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  let config = path.join(REPO, variant.config);
  let ports = variant.ports;
  if (args.freePorts) {
    ports = await movedConfig(config, path.relative(REPO, dir), ports);
    config = path.join(dir, "demo.yaml");
  }
  const { topics } = loadTopics(config);
  const metricsUrl = `http://127.0.0.1:${ports.http}/metrics`;

  const dc1Ports = { client: ports.dc1, monitor: ports.dc1Monitor };
  const targetPorts = { client: ports.target, monitor: ports.targetMonitor };
  const where = args.jetstream ? "a JetStream server (nats-server -js)" : "NATS Streaming dc2";
  console.log(
    `starting NATS Streaming dc1 on 127.0.0.1:${ports.dc1} and ${where} on 127.0.0.1:${ports.target}`,
  );
  const logs = path.join(dir, "logs");
  const dc1 = await startStanServer("dc1", dc1Ports, logs);
  const target = args.jetstream
    ? await startJetStreamServer("js", targetPorts, logs)
    : await startStanServer("dc2", targetPorts, logs);

  console.log(`starting the replicator: stream-replicator --config ${path.relative(REPO, config)}`);
  const replicator = startReplicator(config, NODE_FLAGS);
  const exited = new Promise<number | null>((resolve) => replicator.once("exit", resolve));
  const traffic = await Traffic.start(dc1.url, "dc1", CHANNEL);
  for (const line of legend(topics, `dc1 ${CHANNEL}`)) console.log(line);
  console.log(
    `publishing ${RATE_PER_SECOND} registrations/s from ${HOSTS} nodes to dc1 ${CHANNEL}`,
  );
  console.log(
    `metrics: ${metricsUrl}   health: http://127.0.0.1:${ports.http}/healthz   Ctrl-C to stop\n`,
  );

  let stopping = false;
  const started = Date.now();
  let last = { at: started, published: 0, counts: new Map<string, TopicCounts>() };
  const progressTimer = setInterval(() => {
    void fetchCounts(metricsUrl).then(
      (counts) => {
        if (stopping) return;
        const at = Date.now();
        const seconds = (at - last.at) / 1000;
        const rate = Math.round((traffic.published - last.published) / seconds);
        const elapsed = String(Math.round((at - started) / 1000)).padStart(3);
        console.log(`[${elapsed} s] published ${rate}/s, ${traffic.published} in all`);
        const lines = progressLines(topics, counts, { counts: last.counts, seconds });
        for (const line of lines) console.log(line);
        last = { at, published: traffic.published, counts };
      },
      () => {
        if (!stopping) console.log("waiting for the replicator's /metrics ...");
      },
    );
  }, 1000);

  const stop = async (): Promise<void> => {
    if (stopping) {
      console.log("\nstopping everything at once (the targets are not read back)");
      killAll();
      process.exit(130);
    }
    stopping = true;
    clearInterval(progressTimer);
    let ok = true;
    try {
      await traffic.stop();
      console.log(
        `\nstopping: publisher (${traffic.acked} published); the replicator copies the rest ` +
          `(Ctrl-C again to stop at once)`,
      );
      await drain(dc1.monitorUrl, CHANNEL, topics);
      const counts = await fetchCounts(metricsUrl);
      for (const line of progressLines(topics, counts)) console.log(line);
      console.log("stopping: replicator");
      const code = await stopChild(replicator);
      if (code !== 0) {
        console.log(`the replicator exited with code ${code}`);
        ok = false;
      }
      console.log("reading the targets back");
      const results: TopicResult[] = [];
      for (const t of topics) {
        const check = new TopicCheck(t, traffic);
        await readTarget(t.config, target, check.visit);
        const result = check.result(counts.get(t.name));
        console.log(result.line);
        results.push(result);
      }
      await stopServers([dc1, target]);
      ok = passed(results) && ok;
      console.log(summaryLine(traffic, results, counts));
    } catch (err) {
      console.log(`the demo's check failed: ${err instanceof Error ? err.message : String(err)}`);
      ok = false;
    }
    killAll();
    process.exit(ok ? 0 : 1);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  void exited.then((code) => {
    if (stopping) return;
    console.error(`the replicator exited unexpectedly (code ${code})`);
    killAll();
    process.exit(1);
  });
  if (args.seconds !== undefined) setTimeout(() => void stop(), args.seconds * 1000);
}

/**
 * Waits until the source has delivered every message of the channel to each topic's durable
 * (a queue group counts as one) and has its acknowledgement: the source's own view, so
 * redeliveries cannot make it look done early.
 */
async function drain(monitorUrl: string, channel: string, topics: DemoTopic[]): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let behind = "the source's monitoring endpoint did not answer";
  for (;;) {
    try {
      const res = await fetch(`${monitorUrl}/streaming/channelsz?channel=${channel}&subs=1`);
      const info = (await res.json()) as {
        last_seq: number;
        subscriptions?: Array<{
          durable_name?: string;
          queue_name?: string;
          last_sent: number;
          pending_count: number;
        }>;
      };
      const groups = new Map<string, { sent: number; pending: number }>();
      for (const sub of info.subscriptions ?? []) {
        const key = sub.queue_name || sub.durable_name || "";
        const g = groups.get(key) ?? { sent: 0, pending: 0 };
        groups.set(key, {
          sent: Math.max(g.sent, sub.last_sent),
          pending: g.pending + sub.pending_count,
        });
      }
      const open = [...groups.entries()].filter(([, g]) => g.sent < info.last_seq || g.pending > 0);
      const readers = topics.filter((t) => t.config.topic === channel).length;
      if (groups.size >= readers && open.length === 0) return;
      behind = `${readers - groups.size + open.length} of ${readers} topics still copying`;
    } catch {
      // asked again below
    }
    if (Date.now() > deadline) {
      console.log(`not caught up within ${DRAIN_TIMEOUT_MS} ms: ${behind}`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function stopServers(servers: DemoServer[]): Promise<void> {
  await Promise.all(servers.map((s) => stopChild(s.child)));
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  killAll();
  process.exit(1);
});
