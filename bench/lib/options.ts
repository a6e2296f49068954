/** Command-line options of bench/run.ts. */
import { parseArgs } from "node:util";
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
      results: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  const quick = values.quick ?? false;
  const store = (values.store ?? "FILE").toUpperCase();
  if (store !== "FILE" && store !== "MEMORY")
    throw new Error(`--store: "${values.store}" is not FILE or MEMORY`);
  return {
    count: positiveInt("count", values.count, quick ? 10_000 : 100_000),
    size: positiveInt("size", values.size, 1024, MIN_PAYLOAD_SIZE),
    store,
    liveSeconds: positiveInt("live-seconds", values["live-seconds"], quick ? 0 : 10, 0),
    liveFraction: fraction(values["live-fraction"]),
    liveRate:
      values["live-rate"] === undefined
        ? undefined
        : positiveInt("live-rate", values["live-rate"], 0),
    senders: positiveInt("senders", values.senders, 10_000),
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
    results: values.results,
    help: values.help ?? false,
  };
}
