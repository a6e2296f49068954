/**
 * The STAN -> JetStream contenders (`--jetstream`, or their ids in `--only`), each on a fresh
 * channel and a fresh stream: the reference Go bridge (bench/jsbridge: asynchronous publishes,
 * the same in-flight limit as ours), stan2js's synchronous copy loop (bench/jssync), and ours
 * with `target: jetstream`, ordered, queued and, for the A/B of the publish path, ordered with
 * the official client publishing (official-jetstream.ts, `--js-ab`).
 */
import * as path from "node:path";
import type { ContenderSpec, LaunchContext } from "./contenders";
import type { BenchOptions } from "./options";
import { startChild } from "./proc";
import type { Child } from "./proc";

const REPO = path.resolve(__dirname, "..", "..");
export const JSBRIDGE_BIN = path.join(REPO, "tools", "bin", "sr-jsbridge");
export const JSSYNC_BIN = path.join(REPO, "tools", "bin", "sr-jssync");
export const JSLIVE_BIN = path.join(REPO, "tools", "bin", "sr-jslive");
/** Ours with JetStream copies published through the official client. */
export const OURS_OFFICIAL_JS_MAIN = path.join(REPO, "dist", "bench", "official-jetstream-main.js");

export const JS_PEER_LABEL = "reference Go bridge (stan.go + nats.go, async publish)";
export const JS_SYNC_LABEL =
  "stan2js's copy loop in Go (bench/jssync: one synchronous publish per round trip; stan2js itself is not served by the Go proxy)";

type OursSpec = (id: string, label: string, extra: Partial<ContenderSpec>) => ContenderSpec;

/** The JetStream contenders the options ask for, in table order. */
export function jetStreamContenders(o: BenchOptions, ours: OursSpec): ContenderSpec[] {
  const wanted = (id: string): boolean => o.jetstream || (o.only?.includes(id) ?? false);
  const js = { target: "jetstream", msgIds: true } as const;
  const all: ContenderSpec[] = [
    {
      id: "js-peer",
      label: "js-peer: reference Go bridge (bench/jsbridge)",
      kind: "js-peer",
      ...js,
      ordered: true,
      workers: 1,
      limiter: false,
    },
    {
      id: "js-sync",
      label: "js-sync: stan2js's copy loop in Go (bench/jssync)",
      kind: "js-sync",
      target: "jetstream",
      msgIds: false,
      ephemeral: true,
      ordered: true,
      workers: 1,
      limiter: false,
    },
    ours("ours-js-ordered", "ours -> JetStream: ordered (workers 1)", js),
    ours("ours-js-queued-4", "ours -> JetStream: queued, 4 workers", {
      ...js,
      ordered: false,
      workers: 4,
    }),
  ];
  const list = all.filter((c) => wanted(c.id));
  const ab = (id: string): boolean => o.jsAb || (o.only?.includes(id) ?? false);
  if (ab("ours-js-ordered-official-publish")) {
    list.push(
      ours(
        "ours-js-ordered-official-publish",
        "ours -> JetStream: ordered, publishing with @nats-io/jetstream",
        { ...js, main: OURS_OFFICIAL_JS_MAIN },
      ),
    );
  }
  // --profile: where the CPU goes on each publish path, during the drain.
  if (o.profile && wanted("ours-js-ordered-cpuprof")) {
    list.push(
      ours("ours-js-ordered-cpuprof", "ours -> JetStream: ordered under --cpu-prof (drain only)", {
        ...js,
        cpuProfile: true,
      }),
    );
  }
  if (o.profile && ab("ours-js-ordered-official-publish-cpuprof")) {
    list.push(
      ours(
        "ours-js-ordered-official-publish-cpuprof",
        "ours -> JetStream: ordered, publishing with @nats-io/jetstream, under --cpu-prof (drain only)",
        { ...js, main: OURS_OFFICIAL_JS_MAIN, cpuProfile: true },
      ),
    );
  }
  return list;
}

export function jetStreamOf(ctx: LaunchContext): { url: string; stream: string } {
  if (!ctx.jetstream) throw new Error("a JetStream contender without a JetStream server");
  return ctx.jetstream;
}

/** Starts the Go bridge (js-peer) or the synchronous copy (js-sync). */
export function launchJsGo(spec: ContenderSpec, ctx: LaunchContext, maxInFlight: number): Child {
  const js = jetStreamOf(ctx);
  const common = [
    ...["-src-url", ctx.source.url, "-src-cluster", ctx.source.clusterId],
    ...["-js-url", js.url, "-channel", ctx.channel, "-stream", js.stream],
  ];
  if (spec.kind === "js-sync") {
    return startChild(spec.id, JSSYNC_BIN, [...common, "-client-id", `jssync_${ctx.runId}`]);
  }
  return startChild(spec.id, JSBRIDGE_BIN, [
    ...common,
    ...["-durable", `jsbridge_${ctx.runId}`, "-client-id", `jsbridge_${ctx.runId}`],
    ...["-max-inflight", String(maxInFlight), "-max-pending", String(maxInFlight)],
  ]);
}
