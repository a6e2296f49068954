/**
 * The Sampler port (src/replicator/ports.ts) over a Limiter, the adapter the copy step calls for
 * every message: one limiter decision; the inspect key's value handed to `seen` (the advisor);
 * the claim's ticket turned into the `confirm` / `release` the copy step calls once the publish
 * has settled.
 */
import type { SampleDecision, Sampler } from "../replicator/ports";
import type { Limiter } from "./limiter";

/** `seen`, when given, is called with the value of every message that has the inspect key. */
export function createSampler(limiter: Limiter, seen?: (value: string) => void): Sampler {
  return {
    decide(data: Buffer): SampleDecision {
      const d = limiter.decide(data);
      if (d.value !== undefined && seen) seen(d.value);
      if (d.action === "skip") return { copy: false };
      const ticket = d.ticket;
      if (!ticket) return { copy: true, reason: d.reason };
      return {
        copy: true,
        reason: d.reason,
        confirm: () => limiter.confirm(ticket),
        release: () => limiter.release(ticket),
      };
    },
  };
}
