/**
 * createApp(config, deps): wires topics, their limiters and advisories, metrics and the HTTP
 * server. Everything stateful is created here with its dependencies; nothing is global.
 */
import { version } from "../package.json";
import { productConnectors } from "./adapters";
import type { ConnectorsFor, TopicConnectors } from "./adapters";
import { systemClock } from "./clock";
import type { Clock } from "./clock";
import type { AppConfig, TopicConfig } from "./config/types";
import { createHttpServer } from "./http/server";
import type { HttpServer } from "./http/server";
import { AdvisoryChannel } from "./sampling/advisory-channel";
import { TopicSampler } from "./sampling/topic-sampler";
import type { Logger } from "./logging/logger";
import { createLagPoller } from "./metrics/lag-poller";
import type { LagPoller } from "./metrics/lag-poller";
import { Registry, createMetrics, initTopicMetrics } from "./metrics/metrics";
import type { Metrics } from "./metrics/metrics";
import { samplingHooks, topicObserver } from "./metrics/observer";
import { isStandby } from "./replicator/status";
import type { TopicStatus } from "./replicator/status";
import { Topic, workerName } from "./replicator/topic";
import { redactUrl } from "./util/redact";

export interface AppDeps {
  logger: Logger;
  registry?: Registry;
  clock?: Clock;
  /** Each topic's connectors; default: the product's adapters (tests and benchmarks inject). */
  connectorsFor?: ConnectorsFor;
}

export interface App {
  /** Checks targets, starts HTTP, loads limiter state, starts every topic; rejects on a start-up error. */
  start(): Promise<void>;
  /** Stops taking messages, settles in-flight ones (bounded), saves state, closes. */
  stop(): Promise<void>;
  /** Resolves when stop() has finished. */
  readonly stopped: Promise<void>;
  status(): TopicStatus[];
  /** HTTP ports actually bound (after start). */
  ports(): number[];
}

const GAUGE_REFRESH_MS = 1_000;
const LAG_POLL_MS = 10_000;

interface TopicParts {
  topic: Topic;
  prepare?: () => Promise<string | undefined>;
  sampling?: TopicSampler;
  advisoryChannel?: AdvisoryChannel;
  lagPoller?: LagPoller;
}

export function createApp(config: AppConfig, deps: AppDeps): App {
  const clock = deps.clock ?? systemClock;
  const now = (): number => clock.now();
  const registry = deps.registry ?? new Registry();
  const metrics = createMetrics(registry, { version });
  const log = deps.logger.child({ component: "app" });
  const connectorsFor = deps.connectorsFor ?? productConnectors();
  const parts = config.topics.map((t) =>
    buildTopic(t, config, deps.logger, connectorsFor(t), metrics, now),
  );
  const status = (): TopicStatus[] => parts.map((p) => p.topic.status());

  const http: HttpServer = createHttpServer({
    host: config.http.host,
    port: config.http.port,
    ...(config.http.tls ? { tls: config.http.tls } : {}),
    ...(config.http.basicAuth ? { basicAuth: config.http.basicAuth } : {}),
    extraPorts: config.topics.flatMap((t) => (t.monitor ? [t.monitor] : [])),
    registry,
    status,
    logger: deps.logger.child({ component: "http" }),
  });

  let boundPorts: number[] = [];
  let refresher: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));

  const refreshGauges = (): void => {
    const at = now();
    for (const { topic, sampling } of parts) {
      sampling?.refreshGauges();
      for (const { worker, count } of topic.inflightByWorker()) {
        metrics.inflightMessages.set(
          { name: topic.name, worker: workerName(topic.name, worker) },
          count,
        );
      }
      const workers = topic.status().workers;
      metrics.standby.set(
        { name: topic.name },
        workers.length > 0 && workers.every(isStandby) ? 1 : 0,
      );
      const oldest = topic.inflight().oldestStartedMs;
      metrics.oldestInflightAgeSeconds.set(
        { name: topic.name },
        oldest === undefined ? 0 : (at - oldest) / 1000,
      );
    }
  };

  return {
    stopped,
    status,
    ports: () => boundPorts,
    async start() {
      for (const p of parts) {
        const warning = await p.prepare?.();
        if (warning !== undefined) log.warn("target not checked at start", { reason: warning });
      }
      boundPorts = (await http.start()).ports;
      log.info("listening", { host: config.http.host, ports: boundPorts });
      for (const p of parts) await p.sampling?.start();
      for (const p of parts) {
        p.topic.start(config.shutdownTimeoutMs);
        p.lagPoller?.start();
      }
      refresher = setInterval(refreshGauges, GAUGE_REFRESH_MS);
      refresher.unref();
      log.info("started", { topics: parts.map((p) => p.topic.name) });
    },
    stop() {
      stopping ??= (async () => {
        if (refresher) clearInterval(refresher);
        await Promise.all(parts.map((p) => p.topic.stop()));
        await Promise.all(
          parts.map(async (p) => {
            await p.lagPoller?.stop();
            await p.sampling?.stop(config.shutdownTimeoutMs);
            await p.advisoryChannel?.close();
          }),
        );
        await http.stop();
        log.info("stopped");
        markStopped();
      })();
      return stopping;
    },
  };
}

function buildTopic(
  t: TopicConfig,
  config: AppConfig,
  logger: Logger,
  connectors: TopicConnectors,
  metrics: Metrics,
  now: () => number,
): TopicParts {
  const log = logger.child({ component: "topic", topic: t.name });
  const { source, target } = connectors;
  initTopicMetrics(metrics, {
    name: t.name,
    workers: Array.from({ length: t.workers }, (_, n) => workerName(t.name, n)),
    inspectKey: t.inspect,
  });
  let sampling: TopicSampler | undefined;
  let advisoryChannel: AdvisoryChannel | undefined;
  if (t.inspect !== undefined && t.ageMs !== undefined) {
    const advisory = t.advisory;
    if (advisory) {
      const cluster = advisory.cluster === "source" ? source : target;
      advisoryChannel = new AdvisoryChannel(() => cluster.openPublisher());
    }
    sampling = new TopicSampler({
      topic: t,
      stateDir: config.stateDir,
      saveIntervalMs: config.stateSaveIntervalMs,
      clock: { now },
      log: log.child({ component: "limiter" }),
      hooks: samplingHooks(metrics, t.name, t.inspect),
      publishAdvisory: advisoryChannel?.publish,
    });
  }
  const topic = new Topic(t, {
    source,
    target,
    observer: topicObserver(metrics, t.name, (n) => workerName(t.name, n), t.inspect),
    sampler: sampling?.sampler,
    log,
    now,
    redactUrl,
    // Status and logs show the client id; metric labels keep the stable `<name>_<n>`.
    clientId: connectors.clientId,
  });
  const lagPoller = t.sourceMonitorUrl
    ? createLagPoller({
        name: t.name,
        monitorUrl: t.sourceMonitorUrl,
        channel: t.topic,
        durable: t.name,
        queueGroup: t.queued ? t.queueGroup : undefined,
        intervalMs: LAG_POLL_MS,
        metrics,
        logger: log.child({ component: "lag" }),
      })
    : undefined;
  return {
    topic,
    sampling,
    advisoryChannel,
    lagPoller,
    ...(connectors.prepare ? { prepare: connectors.prepare } : {}),
  };
}
