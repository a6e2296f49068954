/**
 * The demo's traffic: node registrations published to the source channel at a steady rate, the
 * same documents as compose's traffic generator (examples/compose/traffic.mjs). Message `n` is
 * the n-th published (its `facts.uptime`), so the target can be checked message by message:
 * `outcome(n)` says whether the source acknowledged it.
 */
import type { Stan } from "node-nats-streaming";
import { closeStan, connectStan } from "../../test/support/stan-client";

export const HOSTS = 300;
export const RATE_PER_SECOND = 500;
const TICK_MS = 100;
/** Publishes awaiting their ack beyond which a tick is skipped (the source is slow or gone). */
const MAX_OUTSTANDING = 5000;
const DRAIN_TIMEOUT_MS = 10_000;

export interface Registration {
  sender: string;
  changed: boolean;
  facts: { os: string; uptime: number };
  time: string;
}

export function registration(n: number): Registration {
  return {
    sender: `node${n % HOSTS}.dc1.example.net`,
    changed: n % 97 === 0,
    facts: { os: "debian", uptime: n },
    time: new Date().toISOString(),
  };
}

/** The `n` of a registration's bytes, or undefined for anything else. */
export function registrationNumber(data: Uint8Array): number | undefined {
  try {
    const n = (JSON.parse(Buffer.from(data).toString()) as Partial<Registration>).facts?.uptime;
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

const PENDING = 0;
const ACKED = 1;
const FAILED = 2;

export class Traffic {
  /** Per message n: PENDING, ACKED or FAILED (one byte each: an hour at 500/s is 1.8 MB). */
  private states = new Uint8Array(64 * 1024);
  private timer: NodeJS.Timeout | undefined;
  published = 0;
  acked = 0;
  failed = 0;
  lastError: string | undefined;

  private constructor(
    private readonly client: Stan,
    readonly channel: string,
  ) {}

  static async start(url: string, clusterId: string, channel: string): Promise<Traffic> {
    const traffic = new Traffic(await connectStan(url, clusterId, "demo-publisher"), channel);
    traffic.timer = setInterval(() => traffic.tick(), TICK_MS);
    return traffic;
  }

  get outstanding(): number {
    return this.published - this.acked - this.failed;
  }

  /** Whether the source acknowledged message n. */
  acknowledged(n: number): boolean {
    return n < this.published && this.states[n] === ACKED;
  }

  private tick(): void {
    if (this.outstanding > MAX_OUTSTANDING) return;
    for (let i = 0; i < (RATE_PER_SECOND * TICK_MS) / 1000; i++) this.publishOne();
  }

  private publishOne(): void {
    const n = this.published++;
    if (n >= this.states.length) {
      const grown = new Uint8Array(this.states.length * 2);
      grown.set(this.states);
      this.states = grown;
    }
    const data = Buffer.from(JSON.stringify(registration(n)));
    this.client.publish(this.channel, data, (err: unknown) => {
      // node-nats-streaming may call back twice for one publish; the first answer counts.
      if (this.states[n] !== PENDING) return;
      if (err) {
        this.states[n] = FAILED;
        this.failed++;
        this.lastError = err instanceof Error ? err.message : String(err);
      } else {
        this.states[n] = ACKED;
        this.acked++;
      }
    });
  }

  /** Stops publishing and waits (bounded) for the acks of what was published. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (this.outstanding > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await closeStan(this.client).catch(() => undefined);
  }
}
