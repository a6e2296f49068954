/**
 * `promtool check metrics` on a /metrics text, minus the complaints we accept on purpose: the
 * original tool's counter names kept without `_total`, and prom-client's own nodejs_active_*
 * gauges. Used by the unit test of the metric definitions and by the integration test.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

const PROMTOOL_BIN = process.env.PROMTOOL_BIN ?? "promtool";

export type PromtoolResult = { kind: "missing" } | { kind: "checked"; unexpected: string[] };

export function promtoolUnexpected(text: string, legacyCounters: string[]): PromtoolResult {
  const res = spawnSync(PROMTOOL_BIN, ["check", "metrics"], { input: text, encoding: "utf8" });
  if (res.error && (res.error as NodeJS.ErrnoException).code === "ENOENT") {
    // A test may skip without promtool on a laptop, never in CI.
    if (process.env.CI) assert.fail("promtool is not installed (required when CI is set)");
    return { kind: "missing" };
  }
  // 0: clean, 3: lint problems only; anything else (1: parse error) is a failure.
  assert.ok(res.status === 0 || res.status === 3, `promtool exit ${res.status}: ${res.stderr}`);
  const accepted: Array<string | RegExp> = [
    ...legacyCounters.map((name) => `${name} counter metrics should have "_total" suffix`),
    /^nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/,
  ];
  const unexpected = `${res.stdout}\n${res.stderr}`
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .filter((p) => !accepted.some((a) => (typeof a === "string" ? a === p : a.test(p))));
  return { kind: "checked", unexpected };
}
