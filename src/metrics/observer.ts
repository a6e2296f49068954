/** Turns the replicator's events for one topic into metric updates. */
import type { ReplicationObserver } from "../replicator/observer";
import type { SamplingHooks } from "../limiter/sampling";
import type { Metrics } from "./metrics";

export function topicObserver(
  m: Metrics,
  name: string,
  workerLabel: (worker: number) => string,
  inspectKey?: string,
): ReplicationObserver {
  // Label objects and bound children are made once per worker, as received/copied run for
  // every message. prom-client still hashes the labels on each update (metrics are about 10%
  // of the CPU per message); plain counters exported at scrape time would remove that.
  const bound = new Map<number, ReturnType<typeof bindWorker>>();
  const w = (worker: number) => {
    let b = bound.get(worker);
    if (!b) bound.set(worker, (b = bindWorker(m, { name, worker: workerLabel(worker) })));
    return b;
  };
  const latency = m.endToEndLatencySeconds.labels({ name });
  const topic = { name };
  const limiter = { name, key: inspectKey ?? "" };
  // "worker/side" pairs that were up before: only a later "up" is a reconnection, as in the
  // original (its counter was fed by the NATS reconnect handler, not by the first connect).
  const wasUp = new Set<string>();
  return {
    received(worker, bytes, sequence, redelivered) {
      const b = w(worker);
      b.receivedMsgs.inc();
      b.receivedBytes.inc(bytes);
      b.currentSequence.set(sequence);
      if (redelivered) b.redeliveredMsgs.inc();
    },
    copied(worker, bytes, latencyMs, processingMs) {
      const b = w(worker);
      b.copiedMsgs.inc();
      b.copiedBytes.inc(bytes);
      b.processingTime.observe(processingMs / 1000);
      latency.observe(Math.max(0, latencyMs) / 1000);
    },
    skipped() {
      m.limiterMemorySkipped.inc(limiter);
    },
    passed(_worker, reason) {
      if (reason === "not_json" || reason === "no_key") {
        m.limiterMemoryErrors.inc(limiter);
        (reason === "not_json" ? m.limiterNotJsonMsgs : m.limiterNoKeyMsgs).inc(topic);
      }
      m.limiterMemoryPassed.inc(limiter);
    },
    duplicate(worker) {
      m.duplicatePublishes.inc(w(worker).labels);
    },
    publishFailed(worker, reason) {
      m.failedMsgs.inc(w(worker).labels);
      m.publishErrors.inc({ name, reason });
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

/** The per-message series of one worker, bound to its labels. */
function bindWorker(m: Metrics, labels: { name: string; worker: string }) {
  return {
    labels,
    receivedMsgs: m.receivedMsgs.labels(labels),
    receivedBytes: m.receivedBytes.labels(labels),
    currentSequence: m.currentSequence.labels(labels),
    redeliveredMsgs: m.redeliveredMsgs.labels(labels),
    copiedMsgs: m.copiedMsgs.labels(labels),
    copiedBytes: m.copiedBytes.labels(labels),
    processingTime: m.processingTime.labels(labels),
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
