/** Turns the replicator's events for one topic into metric updates. */
import type { ReplicationObserver } from "../replicator/observer";
import type { SamplingHooks } from "../sampling/topic-sampler";
import type { Metrics } from "./metrics";

export function topicObserver(
  m: Metrics,
  name: string,
  workerLabel: (worker: number) => string,
  inspectKey?: string,
): ReplicationObserver {
  // received/copied/skipped/passed run for every message. They only add to numbers in memory
  // through series handles (fast-metrics.ts), made once per worker; prom-client gets the
  // totals when the registry is read, instead of hashing the labels on each update.
  const workers: WorkerSeries[] = [];
  const w = (worker: number): WorkerSeries =>
    (workers[worker] ??= workerSeries(m, { name, worker: workerLabel(worker) }));
  const latency = m.endToEndLatencySeconds.series({ name });
  const topic = { name };
  const limiter = { name, key: inspectKey ?? "" };
  const limited = {
    skipped: m.limiterMemorySkipped.series(limiter),
    passed: m.limiterMemoryPassed.series(limiter),
    errors: m.limiterMemoryErrors.series(limiter),
    notJson: m.limiterNotJsonMsgs.series(topic),
    noKey: m.limiterNoKeyMsgs.series(topic),
  };
  // "worker/side" pairs that were up before: only a later "up" is a reconnection, as in the
  // original (its counter was fed by the NATS reconnect handler, not by the first connect).
  const wasUp = new Set<string>();
  return {
    received(worker, bytes, sequence, redelivered) {
      const s = w(worker);
      s.receivedMsgs.inc();
      s.receivedBytes.inc(bytes);
      s.currentSequence.set(sequence);
      if (redelivered) s.redeliveredMsgs.inc();
    },
    copied(worker, bytes, latencyMs, processingMs) {
      const s = w(worker);
      s.copiedMsgs.inc();
      s.copiedBytes.inc(bytes);
      s.processingTime.observe(processingMs / 1000);
      latency.observe(Math.max(0, latencyMs) / 1000);
    },
    skipped() {
      limited.skipped.inc();
    },
    passed(_worker, reason) {
      if (reason === "not_json" || reason === "no_key") {
        limited.errors.inc();
        (reason === "not_json" ? limited.notJson : limited.noKey).inc();
      }
      limited.passed.inc();
    },
    duplicate(worker) {
      m.duplicatePublishes.inc(w(worker).labels);
    },
    publishFailed(worker, reason) {
      m.failedMsgs.inc(w(worker).labels);
      m.publishErrors.inc({ name, reason });
    },
    duplicateSuppressed(worker) {
      m.duplicatesSuppressed.inc(w(worker).labels);
    },
    lateDelivery(worker) {
      m.lateDeliveries.inc(w(worker).labels);
    },
    publishPaused(worker) {
      m.publishPauses.inc(w(worker).labels);
    },
    ackFailed(worker) {
      m.acksFailed.inc(w(worker).labels);
    },
    connection(worker, side, event) {
      const l = w(worker).labels;
      if (event === "up") {
        m.connectionUp.set({ ...l, side }, 1);
        const key = `${worker}/${side}`;
        if (wasUp.has(key)) m.connectionReconnections.inc(l);
        else wasUp.add(key);
      } else if (event === "down") {
        m.connectionUp.set({ ...l, side }, 0);
        m.connectionClosed.inc(l);
      } else {
        m.connectionUp.set({ ...l, side }, 0);
        m.connectionErrors.inc(l);
      }
    },
    stalled(isStalled) {
      m.topicStalled.set(topic, isStalled ? 1 : 0);
    },
  };
}

type WorkerSeries = ReturnType<typeof workerSeries>;

/** The per-message series of one worker (fast handles), and its labels for the rare events. */
function workerSeries(m: Metrics, labels: { name: string; worker: string }) {
  return {
    labels,
    receivedMsgs: m.receivedMsgs.series(labels),
    receivedBytes: m.receivedBytes.series(labels),
    currentSequence: m.currentSequence.series(labels),
    redeliveredMsgs: m.redeliveredMsgs.series(labels),
    copiedMsgs: m.copiedMsgs.series(labels),
    copiedBytes: m.copiedBytes.series(labels),
    processingTime: m.processingTime.series(labels),
  };
}

export function samplingHooks(m: Metrics, name: string, inspectKey: string): SamplingHooks {
  const topic = { name };
  const limiter = { name, key: inspectKey };
  return {
    tracked: (count) => {
      m.limiterTrackedValues.set(topic, count);
      m.limiterMemorySeen.set(limiter, count);
    },
    saved: (seconds) => m.stateSaveSeconds.observe(topic, seconds),
    advisory: (event) =>
      (event === "timeout"
        ? m.advisoriesTimeout
        : event === "recover"
          ? m.advisoriesRecover
          : m.advisoriesExpire
      ).inc(topic),
    advisoryFailed: () => m.advisoriesErrors.inc(topic),
  };
}
