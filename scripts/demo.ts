/**
 * `npm run demo`: two local STAN clusters (dc1 -> dc2), the replicator running
 * examples/demo.yaml as a real child process, a publisher of sample node registrations, and a
 * live progress line read from /metrics. Ctrl-C stops everything it started.
 * `npm run demo -- --seconds 20` stops by itself (used by the test suite).
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { NODE_FLAGS } from "../src/cli/node-flags";
import { getFreePort, startStan, stopAll } from "../test/support/servers";
import { connectStan, closeStan } from "../test/support/stan-client";

const REPO = path.resolve(__dirname, "..");
const CONFIG = path.join(REPO, "examples/demo.yaml");
/** The ports examples/demo.yaml names; `--free-ports` swaps them for free ones (tests). */
const PORTS = { dc1: 14222, dc2: 14223, dc1Monitor: 18222, http: 9180 };
const HOSTS = 300;
const RATE_PER_SECOND = 500;

function parseSeconds(argv: string[]): number | undefined {
  const i = argv.indexOf("--seconds");
  return i >= 0 ? Number(argv[i + 1]) : undefined;
}

/** Sums every sample of a metric family in Prometheus text, optionally filtered by a label. */
function sum(text: string, metric: string, label?: string): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    if (label && !line.includes(label)) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1)) || 0;
  }
  return total;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const seconds = parseSeconds(argv);
  const dir = path.join(REPO, ".tmp/demo");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let config = CONFIG;
  const ports = { ...PORTS };
  if (argv.includes("--free-ports")) {
    let yaml = readFileSync(CONFIG, "utf8");
    for (const key of Object.keys(ports) as Array<keyof typeof ports>) {
      ports[key] = await getFreePort();
      yaml = yaml.replaceAll(`:${PORTS[key]}`, `:${ports[key]}`); // URLs
      yaml = yaml.replaceAll(`: ${PORTS[key]}\n`, `: ${ports[key]}\n`); // http_port
    }
    config = path.join(dir, "demo.yaml");
    writeFileSync(config, yaml);
  }
  const metricsUrl = `http://127.0.0.1:${ports.http}/metrics`;

  console.log(
    `starting NATS Streaming dc1 on 127.0.0.1:${ports.dc1} and dc2 on 127.0.0.1:${ports.dc2}`,
  );
  const dc1 = await startStan({
    clusterId: "dc1",
    port: ports.dc1,
    store: "FILE",
    monitorPort: ports.dc1Monitor,
  });
  await startStan({ clusterId: "dc2", port: ports.dc2, store: "FILE" });

  console.log(`starting the replicator: stream-replicator --config ${path.relative(REPO, config)}`);
  const replicator = spawn(
    process.execPath,
    [...NODE_FLAGS, "--import", "tsx", path.join(REPO, "src/main.ts"), "--config", config],
    {
      cwd: REPO,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, SR_LOG_LEVEL: "warn" },
    },
  );
  const exited = new Promise<number | null>((resolve) => replicator.on("exit", resolve));

  const publisher = await connectStan(dc1.url, "dc1", "demo-publisher");
  let published = 0;
  const publishTimer = setInterval(() => {
    for (let i = 0; i < RATE_PER_SECOND / 10; i++) {
      const n = published++;
      const doc = {
        sender: `node${n % HOSTS}.dc1.example.net`,
        changed: n % 97 === 0,
        facts: { os: "debian", uptime: n },
        time: new Date().toISOString(),
      };
      publisher.publish("demo.registrations", Buffer.from(JSON.stringify(doc)));
    }
  }, 100);

  console.log(
    `publishing ${RATE_PER_SECOND} registrations/s from ${HOSTS} nodes to dc1 demo.registrations`,
  );
  console.log(
    `metrics: ${metricsUrl}   health: http://127.0.0.1:${ports.http}/healthz   Ctrl-C to stop\n`,
  );

  let last = { received: 0, copied: 0, skipped: 0 };
  const progressTimer = setInterval(async () => {
    try {
      const text = await (await fetch(metricsUrl)).text();
      const now = {
        received: sum(text, "stream_replicator_received_msgs"),
        copied: sum(text, "stream_replicator_copied_msgs"),
        skipped: sum(text, "stream_replicator_limiter_memory_skipped"),
      };
      const advisories = sum(text, "stream_replicator_advisories_timeout");
      console.log(
        `received ${now.received - last.received}/s  copied ${now.copied - last.copied}/s  ` +
          `skipped ${now.skipped - last.skipped}/s  | totals: received ${now.received} copied ${now.copied} ` +
          `skipped ${now.skipped} timeout-advisories ${advisories}`,
      );
      last = now;
    } catch {
      console.log("waiting for the replicator's /metrics ...");
    }
  }, 1000);

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(publishTimer);
    clearInterval(progressTimer);
    console.log("\nstopping: replicator, publisher, servers");
    replicator.kill("SIGTERM");
    const code = await exited;
    await closeStan(publisher).catch(() => undefined);
    await stopAll();
    process.exit(code === 0 ? 0 : 1);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  void exited.then(() => {
    if (!stopping) {
      console.error("the replicator exited unexpectedly");
      void stop();
    }
  });
  if (seconds !== undefined) setTimeout(() => void stop(), seconds * 1000);
}

main().catch(async (err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  await stopAll();
  process.exit(1);
});
