/**
 * What a configuration reload (SIGHUP) does: topics that did not change keep running, removed
 * ones stop, added ones start, changed ones restart with their durable. Process-level settings
 * (HTTP, logging, state directory) take a restart; the plan names them.
 */
import { isDeepStrictEqual } from "node:util";
import type { AppConfig } from "./config/types";

export interface ReloadPlan {
  unchanged: string[];
  added: string[];
  removed: string[];
  changed: string[];
  /** Settings that differ but only apply at a restart. */
  needRestart: string[];
}

export function planReload(current: AppConfig, next: AppConfig): ReloadPlan {
  const before = new Map(current.topics.map((t) => [t.key, t]));
  const after = new Map(next.topics.map((t) => [t.key, t]));
  const plan: ReloadPlan = { unchanged: [], added: [], removed: [], changed: [], needRestart: [] };
  for (const [key, topic] of after) {
    const old = before.get(key);
    if (old === undefined) plan.added.push(key);
    else if (isDeepStrictEqual(old, topic)) plan.unchanged.push(key);
    else plan.changed.push(key);
  }
  for (const key of before.keys()) if (!after.has(key)) plan.removed.push(key);
  const processLevel: Array<keyof AppConfig> = [
    "logLevel",
    "logFormat",
    "logfile",
    "stateDir",
    "stateSaveIntervalMs",
    "shutdownTimeoutMs",
    "http",
  ];
  for (const key of processLevel) {
    if (!isDeepStrictEqual(current[key], next[key])) plan.needRestart.push(key);
  }
  const monitors = (c: AppConfig) => c.topics.flatMap((t) => (t.monitor ? [t.monitor] : []));
  if (!isDeepStrictEqual(monitors(current), monitors(next))) plan.needRestart.push("monitor ports");
  return plan;
}
