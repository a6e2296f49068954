/**
 * The harness's load: the backlog publisher and the paced live publisher with its latency
 * probe on the target are tools/bin/sr-loadgen (bench/loadgen, Go), so the measuring instrument
 * costs little CPU next to the contender on a small machine. `connect` is the harness's own
 * node client, used only by the (untimed) verification.
 */
import * as path from "node:path";
import type { Stan } from "node-nats-streaming";
import { connectStan, uniqueClientId } from "../../test/support/stan-client";
import { BIN } from "./contenders";
import type { Endpoint } from "./contenders";
import { JSLIVE_BIN } from "./js-contenders";
import { runToEnd } from "./proc";

export const LOADGEN_BIN = path.join(BIN, "sr-loadgen");
const TIMEOUT_MS = 900_000;

export async function connect(url: string, clusterId: string, prefix: string): Promise<Stan> {
  return connectStan(url, clusterId, uniqueClientId(prefix), { timeoutMs: 10_000 });
}

function lastJsonLine<T>(label: string, output: string): T {
  const line = output
    .trimEnd()
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("{"));
  if (!line) throw new Error(`${label}: no JSON result in:\n${output.slice(-2000)}`);
  return JSON.parse(line) as T;
}

export interface PayloadSpec {
  size: number;
  senders: number;
}

/** Publishes backlog ids 0..count-1 as fast as acks allow; resolves with msgs/s. */
export async function publishBacklog(
  source: Endpoint,
  channel: string,
  count: number,
  p: PayloadSpec,
): Promise<number> {
  const out = await runToEnd(
    "sr-loadgen fill",
    LOADGEN_BIN,
    [
      "fill",
      ...["-url", source.url, "-cluster", source.clusterId, "-channel", channel],
      ...["-n", String(count), "-size", String(p.size), "-senders", String(p.senders)],
    ],
    TIMEOUT_MS,
  );
  return lastJsonLine<{ rate: number }>("sr-loadgen fill", out).rate;
}

/**
 * Live traffic to the source only, at `rate` msgs/s for `seconds` (phase L, ids 0..): no
 * subscriber of the harness anywhere, so the target may restart meanwhile (the soak).
 */
export async function publishPaced(
  source: Endpoint,
  channel: string,
  rate: number,
  seconds: number,
  p: PayloadSpec,
): Promise<{ published: number; rate: number; seconds: number }> {
  const out = await runToEnd(
    "sr-loadgen fill -rate",
    LOADGEN_BIN,
    [
      "fill",
      ...["-url", source.url, "-cluster", source.clusterId, "-channel", channel],
      ...["-n", String(Math.max(1, Math.round(rate * seconds))), "-rate", String(rate)],
      ...["-phase", "L", "-size", String(p.size), "-senders", String(p.senders)],
    ],
    seconds * 1000 + TIMEOUT_MS,
  );
  return lastJsonLine("sr-loadgen fill -rate", out);
}

export interface LatencyStats {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export interface LiveResult {
  published: number;
  /** Achieved publish rate (msgs/s); below the target when the generator could not keep up. */
  rate: number;
  seconds: number;
  /** Distinct live messages expected on the target, and how many arrived. */
  expected: number;
  arrived: number;
  complete: boolean;
  /** Arrival on the target − publish call on the source, ms, first arrivals only. */
  latency?: LatencyStats;
}

/** Live traffic at `rate` msgs/s for `seconds`, with latency measured on the target. */
export async function runLive(
  source: Endpoint,
  target: Endpoint,
  channel: string,
  rate: number,
  seconds: number,
  expect: number,
  p: PayloadSpec,
): Promise<LiveResult> {
  const out = await runToEnd(
    "sr-loadgen live",
    LOADGEN_BIN,
    [
      "live",
      ...["-src-url", source.url, "-src-cluster", source.clusterId],
      ...["-dst-url", target.url, "-dst-cluster", target.clusterId, "-channel", channel],
      ...["-rate", String(rate), "-seconds", String(seconds), "-expect", String(expect)],
      ...["-size", String(p.size), "-senders", String(p.senders), "-timeout", "30s"],
    ],
    TIMEOUT_MS,
  );
  return lastJsonLine<LiveResult>("sr-loadgen live", out);
}

/**
 * Live traffic to the source at `rate` msgs/s for `seconds`, with latency measured on a
 * JetStream stream (tools/bin/sr-jslive, bench/jslive: an ordered consumer of new messages).
 */
export async function runJsLive(
  source: Endpoint,
  channel: string,
  js: { url: string; stream: string },
  rate: number,
  seconds: number,
  expect: number,
  p: PayloadSpec,
): Promise<LiveResult> {
  const out = await runToEnd(
    "sr-jslive",
    JSLIVE_BIN,
    [
      ...["-src-url", source.url, "-src-cluster", source.clusterId, "-channel", channel],
      ...["-js-url", js.url, "-stream", js.stream],
      ...["-rate", String(rate), "-seconds", String(seconds), "-expect", String(expect)],
      ...["-size", String(p.size), "-senders", String(p.senders), "-timeout", "30s"],
    ],
    TIMEOUT_MS,
  );
  return lastJsonLine<LiveResult>("sr-jslive", out);
}
