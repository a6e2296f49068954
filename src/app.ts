/**
 * createApp(config, deps): wires the topics (src/topic-runtime.ts), metrics and the HTTP server,
 * and applies a new configuration without a restart (src/reload.ts). Everything stateful is
 * created here with its dependencies; nothing is global.
 */
import { version } from "../package.json";
import { productConnectors } from "./adapters";
import type { ConnectorsFor } from "./adapters";
import { systemClock } from "./clock";
import type { Clock } from "./clock";
import type { AppConfig, TopicConfig } from "./config/types";
import { createHttpServer } from "./http/server";
import type { HttpServer } from "./http/server";
import type { Logger } from "./logging/logger";
import { errorText } from "./errors";
import { Registry, createMetrics } from "./metrics/metrics";
import { planReload } from "./reload";
import type { ReloadPlan } from "./reload";
import type { TopicStatus } from "./replicator/status";
import { TopicRuntime } from "./topic-runtime";

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
  /**
   * Runs with the configuration `load` returns from now on: unchanged topics keep running,
   * removed ones stop, added ones start, changed ones restart. One reload at a time. When `load`
   * throws (an invalid file) or a new topic's target fails its check, nothing changes: one log
   * line, and the result is undefined.
   */
  reload(load: () => AppConfig): Promise<ReloadPlan | undefined>;
  status(): TopicStatus[];
  /** HTTP ports actually bound (after start). */
  ports(): number[];
}

const GAUGE_REFRESH_MS = 1_000;

export function createApp(config: AppConfig, deps: AppDeps): App {
  const clock = deps.clock ?? systemClock;
  const now = (): number => clock.now();
  const registry = deps.registry ?? new Registry();
  const metrics = createMetrics(registry, { version });
  const log = deps.logger.child({ component: "app" });
  const connectorsFor = deps.connectorsFor ?? productConnectors();
  let current = config;
  const runtime = (t: TopicConfig): TopicRuntime =>
    new TopicRuntime(t, {
      settings: config,
      logger: deps.logger,
      connectors: connectorsFor(t),
      metrics,
      now,
    });
  /** By topic key, in file order. */
  let topics = new Map(config.topics.map((t) => [t.key, runtime(t)]));
  const status = (): TopicStatus[] => [...topics.values()].map((r) => r.status());

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
  let reloading: Promise<unknown> = Promise.resolve();
  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));

  const prepare = async (runtimes: Iterable<TopicRuntime>): Promise<void> => {
    for (const r of runtimes) {
      const warning = await r.prepare();
      if (warning !== undefined)
        log.warn("target not checked at start", { topic: r.name, reason: warning });
    }
  };

  const applyReload = async (next: AppConfig): Promise<ReloadPlan> => {
    const plan = planReload(current, next);
    const byKey = new Map(next.topics.map((t) => [t.key, t]));
    const fresh = [...plan.added, ...plan.changed].map((key) => {
      const t = byKey.get(key);
      if (t === undefined) throw new Error(`reload: topic ${key} vanished`);
      return runtime(t);
    });
    await prepare(fresh); // a StartupError here leaves everything as it was
    await Promise.all(
      [...plan.removed, ...plan.changed].map((key) =>
        topics.get(key)?.stop(current.shutdownTimeoutMs),
      ),
    );
    const started = new Map(fresh.map((r) => [r.config.key, r]));
    topics = new Map(
      next.topics.map((t) => [t.key, started.get(t.key) ?? (topics.get(t.key) as TopicRuntime)]),
    );
    for (const r of fresh) await r.start(next.shutdownTimeoutMs);
    current = next;
    return plan;
  };

  return {
    stopped,
    status,
    ports: () => boundPorts,
    async start() {
      await prepare(topics.values());
      boundPorts = (await http.start()).ports;
      log.info("listening", { host: config.http.host, ports: boundPorts });
      for (const r of topics.values()) await r.start(config.shutdownTimeoutMs);
      refresher = setInterval(() => {
        const at = now();
        for (const r of topics.values()) r.refreshGauges(at);
      }, GAUGE_REFRESH_MS);
      refresher.unref();
      log.info("started", { topics: [...topics.values()].map((r) => r.name) });
    },
    reload(load) {
      const run = reloading.then(async () => {
        let plan: ReloadPlan;
        try {
          plan = await applyReload(load());
        } catch (err) {
          metrics.configReloads.inc({ result: "rejected" });
          log.error("configuration not reloaded; running on the previous one", {
            reason: errorText(err),
          });
          return undefined;
        }
        metrics.configReloads.inc({ result: "applied" });
        log.info("configuration reloaded", { ...plan });
        return plan;
      });
      reloading = run;
      return run;
    },
    stop() {
      stopping ??= (async () => {
        if (refresher) clearInterval(refresher);
        await reloading;
        await Promise.all([...topics.values()].map((r) => r.stop(current.shutdownTimeoutMs)));
        await http.stop();
        log.info("stopped");
        markStopped();
      })();
      return stopping;
    },
  };
}
