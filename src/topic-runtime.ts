/**
 * One configured topic with everything it runs: the replicator's Topic (its workers), the
 * sampling limiter and advisories, the advisory channel and the lag poller. Started, stopped
 * and rebuilt as one, at start and stop and when a configuration reload changes the topic.
 */
import type { TopicConnectors } from "./adapters";
import type { AppConfig, TopicConfig } from "./config/types";
import type { Logger } from "./logging/logger";
import { createLagPoller } from "./metrics/lag-poller";
import type { LagPoller } from "./metrics/lag-poller";
import { initTopicMetrics } from "./metrics/metrics";
import type { Metrics } from "./metrics/metrics";
import { samplingHooks, topicObserver } from "./metrics/observer";
import { isStandby } from "./replicator/status";
import type { TopicStatus } from "./replicator/status";
import { Topic, workerName } from "./replicator/topic";
import { AdvisoryChannel } from "./sampling/advisory-channel";
import { TopicSampler } from "./sampling/topic-sampler";
import { redactUrl } from "./util/redact";

const LAG_POLL_MS = 10_000;

export interface TopicRuntimeDeps {
  /** Process-level settings the topic uses (state directory, save interval). */
  settings: Pick<AppConfig, "stateDir" | "stateSaveIntervalMs">;
  logger: Logger;
  connectors: TopicConnectors;
  metrics: Metrics;
  now(): number;
}

export class TopicRuntime {
  private readonly topic: Topic;
  private readonly sampling?: TopicSampler;
  private readonly advisoryChannel?: AdvisoryChannel;
  private readonly lagPoller?: LagPoller;

  constructor(
    readonly config: TopicConfig,
    private readonly deps: TopicRuntimeDeps,
  ) {
    const t = config;
    const { connectors, metrics, now } = deps;
    const log = deps.logger.child({ component: "topic", topic: t.name });
    initTopicMetrics(metrics, {
      name: t.name,
      workers: Array.from({ length: t.workers }, (_, n) => workerName(t.name, n)),
      inspectKey: t.inspect,
    });
    if (t.inspect !== undefined && t.ageMs !== undefined) {
      const advisory = t.advisory;
      if (advisory) {
        const cluster = advisory.cluster === "source" ? connectors.source : connectors.target;
        this.advisoryChannel = new AdvisoryChannel(() => cluster.openPublisher());
      }
      this.sampling = new TopicSampler({
        topic: t,
        stateDir: deps.settings.stateDir,
        saveIntervalMs: deps.settings.stateSaveIntervalMs,
        clock: { now },
        log: log.child({ component: "limiter" }),
        hooks: samplingHooks(metrics, t.name, t.inspect),
        publishAdvisory: this.advisoryChannel?.publish,
      });
    }
    this.topic = new Topic(t, {
      source: connectors.source,
      target: connectors.target,
      observer: topicObserver(metrics, t.name, (n) => workerName(t.name, n), t.inspect),
      sampler: this.sampling?.sampler,
      log,
      now,
      redactUrl,
      // Status and logs show the client id; metric labels keep the stable `<name>_<n>`.
      clientId: connectors.clientId,
    });
    if (t.sourceMonitorUrl) {
      this.lagPoller = createLagPoller({
        name: t.name,
        monitorUrl: t.sourceMonitorUrl,
        channel: t.topic,
        durable: t.name,
        queueGroup: t.queued ? t.queueGroup : undefined,
        intervalMs: LAG_POLL_MS,
        metrics,
        logger: log.child({ component: "lag" }),
      });
    }
  }

  get name(): string {
    return this.topic.name;
  }

  /** What the target needs checked at start; a warning when it could not be checked yet. */
  prepare(): Promise<string | undefined> {
    return this.deps.connectors.prepare?.() ?? Promise.resolve(undefined);
  }

  /** Loads the limiter state, then starts the workers and the lag poller. */
  async start(shutdownTimeoutMs: number): Promise<void> {
    await this.sampling?.start();
    this.topic.start(shutdownTimeoutMs);
    this.lagPoller?.start();
  }

  /** Stops the workers (in-flight settled, bounded), then saves state and closes the rest. */
  async stop(shutdownTimeoutMs: number): Promise<void> {
    await this.topic.stop();
    await this.lagPoller?.stop();
    await this.sampling?.stop(shutdownTimeoutMs);
    await this.advisoryChannel?.close();
  }

  status(): TopicStatus {
    return this.topic.status();
  }

  refreshGauges(at: number): void {
    const { metrics } = this.deps;
    const name = this.topic.name;
    this.sampling?.refreshGauges();
    for (const { worker, count } of this.topic.inflightByWorker()) {
      metrics.inflightMessages.set({ name, worker: workerName(name, worker) }, count);
    }
    const workers = this.topic.status().workers;
    metrics.standby.set({ name }, workers.length > 0 && workers.every(isStandby) ? 1 : 0);
    const oldest = this.topic.inflight().oldestStartedMs;
    metrics.oldestInflightAgeSeconds.set({ name }, oldest === undefined ? 0 : (at - oldest) / 1000);
  }
}
