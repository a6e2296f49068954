/**
 * The broker's own share of the live latency: sr-loadgen publishes to and subscribes on the
 * source server alone, no replicator (one hop: into the store, out to a subscriber). A
 * replicated message makes two such hops plus the replicator's, so twice the one-hop p99 is
 * roughly the floor for any replicator on this machine and store.
 */
import { runLive } from "./load";
import type { LiveResult } from "./load";
import type { RunResult, ScenarioContext } from "./scenario";

/** The low-load probe runs at this fraction of the main probe's rate. */
export const LOW_LOAD_FRACTION = 0.1;

export interface BrokerLatency extends Partial<LiveResult> {
  hops: 1;
  /** "contender": the live rate ours-ordered used (or --live-rate); "low": LOW_LOAD_FRACTION of it. */
  load: "contender" | "low";
  targetRate: number;
  channel: string;
  error?: string;
}

/** ours-ordered's live rate, else --live-rate; undefined: no probe. */
export function probeRate(runs: RunResult[], liveRate: number | undefined): number | undefined {
  return runs.find((r) => r.id === "ours-ordered")?.live?.targetRate ?? liveRate;
}

/** Both probes, one after the other, each on a fresh channel of the source server. */
export async function measureBrokerLatency(
  ctx: ScenarioContext,
  rate: number,
): Promise<BrokerLatency[]> {
  const probes = [
    { load: "contender", targetRate: rate, channel: `bench.${ctx.tag}_onehop` },
    { load: "low", targetRate: rate * LOW_LOAD_FRACTION, channel: `bench.${ctx.tag}_onehop_low` },
  ] as const;
  const results: BrokerLatency[] = [];
  for (const p of probes) {
    ctx.log(`broker latency: one hop on the source at ${Math.round(p.targetRate)} msgs/s`);
    const expect = Math.max(1, Math.round(p.targetRate * ctx.liveSeconds));
    const base = { hops: 1, ...p } as const;
    results.push(
      await runLive(ctx.source, ctx.source, p.channel, p.targetRate, ctx.liveSeconds, expect, {
        size: ctx.size,
        senders: ctx.senders,
      }).then(
        (live): BrokerLatency => ({ ...base, ...live }),
        (err: unknown): BrokerLatency => ({ ...base, error: String(err) }),
      ),
    );
  }
  return results;
}
