// Observability against real processes: two nats-streaming-server processes, the real CLI, and
// a real Prometheus scraping it every second. The Grafana dashboard's queries must parse and
// return data, `promtool check metrics` must accept /metrics, the counters must match what the
// target holds, /healthz must follow a killed source, and credentials must never leak.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { getFreePort, startStan, stopAll } from "../support/servers";
import type { StanServer } from "../support/servers";
import { closeStan, connectStan, publishAll, readAll, waitFor } from "../support/stan-client";
import type { Stan } from "node-nats-streaming";
import { startReplicator, topicConfig, waitForHealth } from "../support/replicator-process";
import type { ReplicatorProcess } from "../support/replicator-process";
import { metricSum, waitForCopied } from "../support/replication-helpers";
import { promtoolUnexpected } from "../support/promtool";

const REPO = path.resolve(__dirname, "..", "..");
const DASHBOARD_FILE = path.join(REPO, "grafana/dashboards/stream-replicator.json");
const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? "prometheus";
/** What `$__rate_interval` and `$__interval` stand for when the dashboard's queries run. */
const RATE_INTERVAL = "15s";

after(() => stopAll());

// ---------------------------------------------------------------------------------------------
// A Prometheus process of our own, on a free port, scraping one target every second.

interface Prometheus {
  url: string;
  output(): string;
  /** SIGKILL, waits for the exit, removes the data directory. Safe to call twice. */
  stop(): Promise<void>;
}

const livePrometheus = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of livePrometheus) child.kill("SIGKILL");
});

async function startPrometheus(scrapeTarget: string): Promise<Prometheus> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sr-prometheus-"));
  const port = await getFreePort();
  const config = path.join(dir, "prometheus.yml");
  writeFileSync(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "  evaluation_interval: 1s",
      "scrape_configs:",
      "  - job_name: stream-replicator",
      "    static_configs:",
      `      - targets: ["${scrapeTarget}"]`,
      "",
    ].join("\n"),
  );
  const child = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  livePrometheus.add(child);
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      livePrometheus.delete(child);
      resolve();
    });
    child.once("error", (err) => {
      out += `spawn error: ${err.message}\n`;
      exited = true;
      livePrometheus.delete(child);
      resolve();
    });
  });
  const prom: Prometheus = {
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    async stop() {
      if (!exited) child.kill("SIGKILL");
      await exit;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`prometheus exited: ${out.slice(-2000)}`);
        const res = await fetch(`${prom.url}/-/ready`, { signal: AbortSignal.timeout(1000) });
        return res.ok;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: "prometheus ready" },
    );
  } catch (err) {
    await prom.stop();
    throw new Error(`${(err as Error).message}\n${out.slice(-2000)}`);
  }
  return prom;
}

interface QueryAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: unknown }> };
}

async function promQuery(prom: Prometheus, expr: string): Promise<QueryAnswer> {
  const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(expr)}`, {
    signal: AbortSignal.timeout(5000),
  });
  return (await res.json()) as QueryAnswer;
}

/** The number an instant query answers when its result is one sample, else undefined. */
async function promScalar(prom: Prometheus, expr: string): Promise<number | undefined> {
  const answer = await promQuery(prom, expr);
  const first = answer.data?.result[0];
  if (answer.status !== "success" || answer.data?.result.length !== 1 || !first) return undefined;
  return Number((first.value as [number, string])[1]);
}

// ---------------------------------------------------------------------------------------------
// The dashboard's queries

interface DashboardPanel {
  type?: string;
  title?: string;
  panels?: DashboardPanel[];
  targets?: Array<{ expr?: string; refId?: string }>;
}

/** Every target expression of every data panel, with Grafana's variables replaced. */
function dashboardQueries(topic: string): Array<{ where: string; expr: string }> {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, "utf8")) as {
    panels?: DashboardPanel[];
  };
  const out: Array<{ where: string; expr: string }> = [];
  const walk = (panels: DashboardPanel[]): void => {
    for (const p of panels) {
      if (p.type === "row") walk(p.panels ?? []);
      for (const t of p.targets ?? []) {
        out.push({ where: `"${p.title}" ${t.refId}`, expr: substitute(t.expr ?? "", topic) });
      }
    }
  };
  walk(dashboard.panels ?? []);
  return out;
}

function substitute(expr: string, topic: string): string {
  return expr
    .replace(/\$\{topic(?::[a-z]+)?\}|\$topic\b/g, topic)
    .replace(/\$\{?__rate_interval\}?|\$\{?__interval\}?/g, RATE_INTERVAL);
}

// ---------------------------------------------------------------------------------------------
// promtool: the only accepted complaints are the original counters kept without `_total`
// (same list as test/unit/metrics.test.ts) and prom-client's own nodejs_active_*_total gauges.

const ORIGINAL_COUNTERS = [
  "received_msgs",
  "received_bytes",
  "copied_msgs",
  "copied_bytes",
  "failed_msgs",
  "acks_failed",
  "connection_reconnections",
  "connection_closed",
  "connection_errors",
  "limiter_memory_skipped",
  "limiter_memory_passed",
  "limiter_memory_errors",
  "advisories_timeout",
  "advisories_recover",
  "advisories_expire",
  "advisories_errors",
].map((n) => `stream_replicator_${n}`);

// ---------------------------------------------------------------------------------------------
// Helpers

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function metricsText(proc: ReplicatorProcess): Promise<string> {
  const res = await proc.get("/metrics");
  assert.equal(res.status, 200, "/metrics answers 200");
  return res.body;
}

async function healthBody(proc: ReplicatorProcess): Promise<{ status: number; body: string }> {
  return proc.get("/healthz");
}

/** Publishes `payloads` in batches of `batch`, one batch per `intervalMs`, on one client. */
async function publishPaced(
  server: StanServer,
  channel: string,
  payloads: Buffer[],
  batch: number,
  intervalMs: number,
): Promise<void> {
  const client: Stan = await connectStan(server.url, server.clusterId, undefined, {
    timeoutMs: 10_000,
  });
  try {
    const started = Date.now();
    for (let i = 0, n = 0; i < payloads.length; i += batch, n++) {
      const due = started + n * intervalMs;
      if (due > Date.now()) await delay(due - Date.now());
      await publishAll(server.url, server.clusterId, channel, payloads.slice(i, i + batch), {
        client,
      });
    }
  } finally {
    await closeStan(client);
  }
}

// ---------------------------------------------------------------------------------------------
// 1-3: one replication with the sampling limiter, scraped by Prometheus

/** Messages published; each sender sends MSGS_PER_SENDER in a row, so the limiter (age 10 s)
 * copies the first of each and skips the others. */
const MESSAGES = 3000;
const MSGS_PER_SENDER = 6;
const SENDERS = MESSAGES / MSGS_PER_SENDER;
const TOPIC = "obs";
const CHANNEL = "obs.registrations";

function senderOf(i: number): string {
  return `node-${Math.floor(i / MSGS_PER_SENDER)}`;
}

function registrations(): Buffer[] {
  return Array.from({ length: MESSAGES }, (_, i) =>
    Buffer.from(JSON.stringify({ sender: senderOf(i), i })),
  );
}

describe(
  "observability - a sampled replication scraped by Prometheus",
  { timeout: 180_000 },
  () => {
    let source: StanServer;
    let target: StanServer;
    let proc: ReplicatorProcess;
    let prom: Prometheus | undefined;
    let stateDir: string;
    let published: Buffer[];

    before(
      async () => {
        [source, target] = await Promise.all([
          startStan({ clusterId: "obs-src", monitorPort: true }),
          startStan({ clusterId: "obs-tgt" }),
        ]);
        stateDir = mkdtempSync(path.join(os.tmpdir(), "sr-obs-state-"));
        proc = await startReplicator({
          config: {
            log_level: "info",
            state_dir: stateDir,
            state_save_interval: "1s",
            topics: {
              [TOPIC]: topicConfig(source, target, CHANNEL, {
                name: TOPIC,
                inspect: "sender",
                age: "10s",
                source_monitor_url: source.monitorUrl,
              }),
            },
          },
        });
        prom = await startPrometheus(`127.0.0.1:${proc.port}`);
        await waitForHealth(proc, 200, 30_000);
        published = registrations();
        // About 10 s of traffic, so Prometheus sees rates and the lag poller (every 10 s) runs.
        await publishPaced(source, CHANNEL, published, 300, 1000);
        await waitFor(
          async () => {
            const text = await metricsText(proc);
            const received = metricSum(text, "stream_replicator_received_msgs", { name: TOPIC });
            const copied = metricSum(text, "stream_replicator_copied_msgs", { name: TOPIC });
            const skipped = metricSum(text, "stream_replicator_limiter_memory_skipped", {
              name: TOPIC,
            });
            return received === MESSAGES && copied + skipped === received;
          },
          {
            timeoutMs: 30_000,
            intervalMs: 100,
            message: `every message received and settled:\n${proc?.output().slice(-3000)}`,
          },
        );
      },
      { timeout: 120_000 },
    );

    after(async () => {
      await prom?.stop();
      await proc?.stop();
      if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    });

    test("prometheus - every dashboard query parses and returns data", async (t) => {
      const p = prom as Prometheus;
      // Several samples of the replicator first (scraped every second).
      await waitFor(
        async () =>
          ((await promScalar(p, 'count_over_time(up{job="stream-replicator"}[1m])')) ?? 0) >= 5 &&
          (await promScalar(p, 'up{job="stream-replicator"}')) === 1,
        {
          timeoutMs: 30_000,
          intervalMs: 250,
          message: `prometheus has 5 samples of the replicator:\n${p.output().slice(-2000)}`,
        },
      );
      const queries = dashboardQueries(TOPIC);
      assert.ok(queries.length >= 10, `${queries.length} queries in the dashboard`);
      // Series such as the lag (polled every 10 s) may appear a little later: each query is
      // retried until it returns data or the common deadline passes. A parse error fails at once.
      const deadline = Date.now() + 30_000;
      const failures: string[] = [];
      let nanResults = 0;
      for (const q of queries) {
        for (;;) {
          const answer = await promQuery(p, q.expr);
          if (answer.status !== "success") {
            failures.push(`${q.where}: ${q.expr}\n    -> ${answer.status}: ${answer.error}`);
            break;
          }
          const result = answer.data?.result ?? [];
          if (result.length > 0) {
            if (result.some((r) => (r.value as [number, string])[1] === "NaN")) nanResults++;
            break;
          }
          if (Date.now() > deadline) {
            failures.push(`${q.where}: ${q.expr}\n    -> empty result`);
            break;
          }
          await delay(500);
        }
      }
      t.diagnostic(`${queries.length} queries, ${nanResults} with NaN samples`);
      assert.ok(failures.length === 0, `dashboard queries that failed:\n${failures.join("\n")}`);
    });

    test("metrics - received, copied and skipped match the publisher and the target", async (t) => {
      const text = await metricsText(proc);
      const sum = (metric: string): number => metricSum(text, metric, { name: TOPIC });
      const received = sum("stream_replicator_received_msgs");
      const copied = sum("stream_replicator_copied_msgs");
      const skipped = sum("stream_replicator_limiter_memory_skipped");
      const onTarget = await readAll(target.url, target.clusterId, CHANNEL, {
        expect: copied,
        settleMs: 1000,
        timeoutMs: 20_000,
      });
      t.diagnostic(`received ${received}, copied ${copied}, skipped ${skipped}`);
      assert.equal(received, MESSAGES, "received == messages published");
      assert.equal(copied, onTarget.length, "copied == messages read on the target");
      assert.equal(skipped, MESSAGES - copied, "skipped == received - copied");
      assert.equal(copied, SENDERS, "one message copied per sender (age 10 s)");
      const expected = published.filter((_, i) => i % MSGS_PER_SENDER === 0).map(String);
      assert.deepEqual(
        onTarget.map((m) => m.data.toString()),
        expected,
        "the target holds the first message of every sender, in order",
      );
      assert.equal(sum("stream_replicator_limiter_memory_passed"), copied, "passed == copied");
      assert.equal(sum("stream_replicator_failed_msgs"), 0, "no failed message");
      // Gauges refreshed every second: nothing in flight, no oldest message.
      await waitFor(
        async () => {
          const now = await metricsText(proc);
          return (
            metricSum(now, "stream_replicator_inflight_messages", { name: TOPIC }) === 0 &&
            metricSum(now, "stream_replicator_oldest_inflight_age_seconds", { name: TOPIC }) === 0
          );
        },
        { timeoutMs: 5_000, intervalMs: 200, message: "in-flight gauges back to 0" },
      );
      assert.equal(
        sum("stream_replicator_current_sequence"),
        MESSAGES,
        "current sequence is the channel's last",
      );
      // Prometheus stores the same numbers (after its next scrape).
      const p = prom as Prometheus;
      await waitFor(
        async () =>
          (await promScalar(p, `sum(stream_replicator_copied_msgs{name="${TOPIC}"})`)) === copied &&
          (await promScalar(p, `sum(stream_replicator_received_msgs{name="${TOPIC}"})`)) ===
            MESSAGES,
        { timeoutMs: 10_000, intervalMs: 250, message: "prometheus agrees with /metrics" },
      );
      // Everything is acknowledged: the next poll of the source's monitoring port (every 10 s)
      // reports no lag.
      const lagLine = new RegExp(
        `^stream_replicator_replication_lag_messages\\{name="${TOPIC}"\\} 0$`,
        "m",
      );
      await waitFor(async () => lagLine.test(await metricsText(proc)), {
        timeoutMs: 15_000,
        intervalMs: 250,
        message: "replication_lag_messages 0 once everything is copied",
      });
    });

    test("promtool check metrics - only the original counters without _total are flagged", async (t) => {
      const result = promtoolUnexpected(await metricsText(proc), ORIGINAL_COUNTERS);
      if (result.kind === "missing") return t.skip("promtool not installed");
      assert.deepEqual(
        result.unexpected,
        [],
        "promtool complaints besides the documented legacy names",
      );
    });
  },
);

// ---------------------------------------------------------------------------------------------
// 4: readiness follows the source

interface HealthJson {
  status: string;
  topics: Array<{
    name: string;
    healthy: boolean;
    problems: string[];
    workers: Array<{
      source: { state: string; lastError?: string };
      target: { state: string; lastError?: string };
    }>;
  }>;
}

test(
  "healthz - 503 naming the source within 15 s of a kill -9, 200 within 30 s of its restart",
  { timeout: 120_000 },
  async (t) => {
    const [source, target] = await Promise.all([
      startStan({ clusterId: "health-src", store: "FILE" }),
      startStan({ clusterId: "health-tgt" }),
    ]);
    const proc = await startReplicator({
      config: {
        log_level: "info",
        topics: { health: topicConfig(source, target, "health.events", { name: "health" }) },
      },
    });
    try {
      await waitForHealth(proc, 200, 30_000);
      await publishAll(source.url, source.clusterId, "health.events", 50);
      await waitForCopied(proc, "health", 50);

      const reconnections = async (): Promise<number> =>
        metricSum(await metricsText(proc), "stream_replicator_connection_reconnections", {
          name: "health",
        });
      assert.equal(await reconnections(), 0, "the first connections are no reconnections");

      await source.kill();
      const killedAt = Date.now();
      let first503: number | undefined;
      // The first 503 may come a moment before the worker has marked its sides down (it
      // does so once the lost session is closed); the body must name the source by 15 s.
      const down = await waitFor(
        async () => {
          const res = await healthBody(proc);
          if (res.status !== 503) return undefined;
          first503 ??= Date.now() - killedAt;
          const body = JSON.parse(res.body) as HealthJson;
          const source = body.topics.find((x) => x.name === "health")?.workers[0]?.source;
          return source && source.state !== "up" && source.lastError ? res : undefined;
        },
        {
          timeoutMs: 15_000,
          intervalMs: 100,
          message: "/healthz 503 naming the source after the source was killed",
        },
      );
      t.diagnostic(
        `first 503 after ${first503} ms, naming the source after ${Date.now() - killedAt} ms`,
      );
      const body = JSON.parse(down.body) as HealthJson;
      assert.equal(body.status, "unhealthy");
      const topic = body.topics.find((x) => x.name === "health");
      assert.ok(topic, down.body);
      assert.equal(topic.healthy, false);
      const worker = topic.workers[0];
      assert.ok(worker, down.body);
      assert.match(worker.source.state, /^(connecting|reconnecting)$/, down.body);
      assert.ok(
        typeof worker.source.lastError === "string" && worker.source.lastError.length > 0,
        `source side has a last error: ${down.body}`,
      );
      assert.ok(
        topic.problems.some((p) => /\bsource\b/.test(p)),
        `a problem line names the source: ${down.body}`,
      );
      await waitFor(
        async () =>
          metricSum(await metricsText(proc), "stream_replicator_connection_up", {
            name: "health",
            side: "source",
          }) === 0,
        { timeoutMs: 5_000, message: "connection_up{side=source} 0 while the source is down" },
      );

      await source.restart();
      const restartedAt = Date.now();
      await waitForHealth(proc, 200, 30_000);
      t.diagnostic(`200 again ${Date.now() - restartedAt} ms after the restart`);
      const text = await metricsText(proc);
      assert.equal(
        metricSum(text, "stream_replicator_connection_up", { name: "health", side: "source" }),
        1,
      );
      assert.ok((await reconnections()) >= 1, "the reconnection after the restart is counted");
      assert.equal(await proc.stop(), 0);
    } finally {
      await proc.kill();
    }
  },
);

// ---------------------------------------------------------------------------------------------
// 5: credentials

const USER = "user";
const PASSWORD = "s3cretPa55";
const WRONG_PASSWORD = "wr0ngPa55";

function withCredentials(server: StanServer, password: string): string {
  return server.url.replace("nats://", `nats://${USER}:${password}@`);
}

test(
  "credentials - never in /healthz, /metrics or the debug output; replication still works",
  { timeout: 120_000 },
  async (t) => {
    const auth = ["--user", USER, "--pass", PASSWORD];
    const [source, target] = await Promise.all([
      startStan({ clusterId: "auth-src", monitorPort: true, extraArgs: auth }),
      startStan({ clusterId: "auth-tgt", extraArgs: auth }),
    ]);
    const src = { url: withCredentials(source, PASSWORD), clusterId: source.clusterId };
    const tgt = { url: withCredentials(target, PASSWORD), clusterId: target.clusterId };
    const badSrc = { url: withCredentials(source, WRONG_PASSWORD), clusterId: source.clusterId };
    const monitorUrl = (source.monitorUrl as string).replace(
      "http://",
      `http://${USER}:${PASSWORD}@`,
    );
    const proc = await startReplicator({
      config: {
        log_level: "debug",
        topics: {
          auth: topicConfig(src, tgt, "auth.events", {
            name: "auth",
            source_monitor_url: monitorUrl,
          }),
          // Refused by the source: its errors are logged and shown in /healthz.
          badauth: topicConfig(badSrc, tgt, "auth.events", {
            name: "badauth",
            target_topic: "auth.never",
          }),
        },
      },
    });
    try {
      const payloads = await publishAll(src.url, src.clusterId, "auth.events", 200);
      await waitForCopied(proc, "auth", payloads.length, 30_000);
      const onTarget = await readAll(tgt.url, tgt.clusterId, "auth.events", {
        expect: payloads.length,
        settleMs: 300,
        timeoutMs: 20_000,
      });
      assert.deepEqual(
        onTarget.map((m) => m.data.toString()),
        payloads.map(String),
      );

      // A target outage: session resets, connect errors and reconnects get logged too.
      await target.kill();
      await proc.waitForOutput(/session reset/, 15_000);
      await target.restart();
      const more = await publishAll(src.url, src.clusterId, "auth.events", 100);
      await waitForCopied(proc, "auth", payloads.length + more.length, 30_000);

      // The refused topic has reported its error by now (first attempt is immediate).
      const health = await waitFor(
        async () => {
          const res = await healthBody(proc);
          const body = JSON.parse(res.body) as HealthJson;
          const bad = body.topics.find((x) => x.name === "badauth");
          return bad?.workers[0]?.source.lastError ? res : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 200, message: "badauth reports its source error" },
      );
      assert.equal(health.status, 503, "the refused topic makes the replicator unready");
      const metrics = await metricsText(proc);
      assert.equal(await proc.stop(), 0);
      const output = proc.output();
      assert.match(output, /debug/i, "debug logging is on");

      const secrets = [
        PASSWORD,
        WRONG_PASSWORD,
        Buffer.from(`${USER}:${PASSWORD}`).toString("base64"),
        encodeURIComponent(PASSWORD),
      ];
      const places: Array<[string, string]> = [
        ["/healthz", health.body],
        ["/metrics", metrics],
        ["stdout+stderr", output],
      ];
      for (const [where, text] of places) {
        for (const secret of secrets) {
          const at = text.indexOf(secret);
          assert.equal(
            at,
            -1,
            `${where} contains a secret: ...${text.slice(Math.max(0, at - 200), at + 50)}...`,
          );
        }
      }
      t.diagnostic(`checked ${output.length} bytes of output, /healthz and /metrics`);
    } finally {
      await proc.kill();
    }
  },
);
