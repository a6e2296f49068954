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
  // Label objects are built once per worker: this runs for every message.
  const labels = new Map<number, { name: string; worker: string }>();
  const w = (worker: number) => {
    let l = labels.get(worker);
    if (!l) labels.set(worker, (l = { name, worker: workerLabel(worker) }));
    return l;
  };
  const topic = { name };
  const limiter = { name, key: inspectKey ?? "" };
  // "worker/side" pairs that were up before: only a later "up" is a reconnection, as in the
  // original (its counter was fed by the NATS reconnect handler, not by the first connect).
  const wasUp = new Set<string>();
  return {
    received(worker, bytes, sequence, redelivered) {
      const l = w(worker);
      m.receivedMsgs.inc(l);
      m.receivedBytes.inc(l, bytes);
      m.currentSequence.set(l, sequence);
      if (redelivered) m.redeliveredMsgs.inc(l);
    },
    copied(worker, bytes, latencyMs, processingMs) {
      const l = w(worker);
      m.copiedMsgs.inc(l);
      m.copiedBytes.inc(l, bytes);
      m.processingTime.observe(l, processingMs / 1000);
      m.endToEndLatencySeconds.observe(topic, Math.max(0, latencyMs) / 1000);
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
      m.duplicatePublishes.inc(w(worker));
    },
    publishFailed(worker, reason) {
      m.failedMsgs.inc(w(worker));
      m.publishErrors.inc({ name, reason });
    },
    ackFailed(worker) {
      m.acksFailed.inc(w(worker));
    },
    connection(worker, side, event) {
      const l = w(worker);
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
