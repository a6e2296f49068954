/** Command-line options of bench/run.ts. */
import { parseArgs } from "node:util";
import { parseDuration } from "../../src/config/duration";
import { MIN_PAYLOAD_SIZE } from "./payload";

export const USAGE = `Usage: npm run bench -- [options]

  --count N          messages per run (default 100000; --quick: 10000)
  --size BYTES       payload size: 100, 1024 (default) or 16384 (any value >= ${MIN_PAYLOAD_SIZE})
  --store FILE|MEMORY  store of the two streaming servers (default FILE)
  --live-seconds S   live phase length (default 10; 0 skips it)
  --live-fraction F  live rate as a fraction of each contender's drain rate (default 0.5)
  --live-rate N      live rate in msg/s, the same for every contender (overrides --live-fraction)
  --senders N        distinct senders for the limiter contender (default 10000)
  --quick            10,000 messages, no live phase: a smoke run
  --only IDS         comma-separated contender ids (ceiling, peer, official, ours-ordered,
                     ours-queued-4, ours-queued-10, ours-limiter, ours-limiter-state-1m,
                     ours-ordered-cpuprof, ours-ordered-official-nats; JetStream: js-peer,
                     js-sync, ours-js-ordered, ours-js-queued-4,
                     ours-js-ordered-official-publish); ceiling includes the broker
                     latency rows
  --nats-ab          also: ours ordered with STAN over the official NATS client (A/B of
                     the project's own NATS client; bench/lib/official-nats.ts)
  --jetstream        also: STAN -> JetStream rows against a nats-server -js target (js-peer,
                     js-sync, ours-js-ordered, ours-js-queued-4)
  --js-ab            also: ours ordered to JetStream publishing through @nats-io/jetstream
                     (A/B of the JetStream publish path; bench/lib/official-jetstream.ts)
  --limiter          also: limiter-memory.ts (1M senders) and a drain while 1M entries are saved
  --profile          also: CPU profile of ours, ordered, during the backlog drain (with
                     --jetstream also ours-js-ordered-cpuprof, and with --js-ab
                     ours-js-ordered-official-publish-cpuprof)
  --soak DURATION    instead of the contenders: ours ordered with the limiter (--senders,
                     default 100000) saving state every 10 s, live traffic at --live-fraction
                     of its drain rate (a first drain of --count, default 500000; or
                     --live-rate) for DURATION (e.g. 20m), the target restarted every
                     --restart-every (default 4m); RSS, event-loop blocks, nothing lost
  --restart-every D  with --soak: time between target restarts (default 4m)
  --max-load L       with --soak: first wait until the 1-minute load average is below L
                     (polled every minute, at most 20 minutes, then measured anyway)
  --results DIR      where the JSON goes (default bench/results)
  -h, --help`;

export interface BenchOptions {
  count: number;
  size: number;
  store: "FILE" | "MEMORY";
  liveSeconds: number;
  liveFraction: number;
  /** A fixed live rate for every contender, msg/s. */
  liveRate?: number;
  senders: number;
  quick: boolean;
  only?: string[];
  limiter: boolean;
  profile: boolean;
  natsAb: boolean;
  /** STAN -> JetStream contenders. */
  jetstream: boolean;
  /** The A/B of the JetStream publish path. */
  jsAb: boolean;
  /** Soak instead of the contenders: its length, ms. */
  soakMs?: number;
  /** With soakMs: time between target restarts, ms. */
  restartEveryMs: number;
  /** With soakMs: wait for the 1-minute load average to fall below this first. */
  maxLoad?: number;
  results?: string;
  help: boolean;
}

function positiveInt(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${name}: "${text}" is not an integer >= ${min}`);
  return n;
}

function duration(name: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0)
    throw new Error(`--${name}: "${text}" is not a duration (e.g. 20m)`);
  return ms;
}

function fraction(text: string | undefined): number {
  if (text === undefined) return 0.5;
  const n = Number(text);
  if (!(n > 0 && n <= 1)) throw new Error(`--live-fraction: "${text}" is not in (0, 1]`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: "string" },
      size: { type: "string" },
      store: { type: "string" },
      "live-seconds": { type: "string" },
      "live-fraction": { type: "string" },
      "live-rate": { type: "string" },
      senders: { type: "string" },
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      limiter: { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      "nats-ab": { type: "boolean", default: false },
      jetstream: { type: "boolean", default: false },
      "js-ab": { type: "boolean", default: false },
      soak: { type: "string" },
      "restart-every": { type: "string" },
      "max-load": { type: "string" },
      results: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  const quick = values.quick ?? false;
  const store = (values.store ?? "FILE").toUpperCase();
  if (store !== "FILE" && store !== "MEMORY")
    throw new Error(`--store: "${values.store}" is not FILE or MEMORY`);
  const soak = values.soak !== undefined;
  const maxLoad = values["max-load"] === undefined ? undefined : Number(values["max-load"]);
  if (maxLoad !== undefined && !(maxLoad > 0))
    throw new Error(`--max-load: "${values["max-load"]}" is not a positive number`);
  return {
    count: positiveInt("count", values.count, quick ? 10_000 : soak ? 500_000 : 100_000),
    size: positiveInt("size", values.size, 1024, MIN_PAYLOAD_SIZE),
    store,
    liveSeconds: positiveInt("live-seconds", values["live-seconds"], quick ? 0 : 10, 0),
    liveFraction: fraction(values["live-fraction"]),
    liveRate:
      values["live-rate"] === undefined
        ? undefined
        : positiveInt("live-rate", values["live-rate"], 0),
    senders: positiveInt("senders", values.senders, soak ? 100_000 : 10_000),
    quick,
    only: values.only
      ?.split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
    limiter: values.limiter ?? false,
    profile: values.profile ?? false,
    natsAb: values["nats-ab"] ?? false,
    jetstream: values.jetstream ?? false,
    jsAb: values["js-ab"] ?? false,
    soakMs: values.soak === undefined ? undefined : duration("soak", values.soak),
    restartEveryMs: duration("restart-every", values["restart-every"] ?? "4m"),
    maxLoad,
    results: values.results,
    help: values.help ?? false,
  };
}
