/**
 * prom-client metrics with a fast path for per-message updates.
 *
 * prom-client hashes the label set on every inc()/observe(), even through a bound child
 * (`.labels(...)`); at replication rates that cost about 10% of the CPU per message. Here
 * `series(labels)` returns a handle whose updates only add to numbers in memory. The metric's
 * collect() hook hands them to prom-client's own storage, and prom-client runs that hook
 * before every read: registry.metrics() (/metrics), getSingleMetricAsString(),
 * getMetricsAsJSON() and get(). Every read therefore sees exact values, and the usual API
 * (inc(labels), observe(labels, v), ...) still works on the same metric.
 *
 * Like prom-client, a series appears in the output with its first update, not before.
 * A reset() of the metric drops what was handed over, not updates that were still pending.
 */
import { Counter, Gauge, Histogram } from "prom-client";
import type { CounterConfiguration, GaugeConfiguration, HistogramConfiguration } from "prom-client";

/** A configuration without `collect`: these metrics use that hook themselves. */
type Config<C> = Omit<C, "collect">;
/** One value for each label name: a series handle is for one complete label set. */
export type SeriesLabels<L extends string> = Record<L, string>;

/** A counter series: inc() adds to a number; the sum reaches prom-client on the next read. */
export class CounterSeries {
  private pending = 0;
  private touched = false;

  constructor(private readonly child: { inc(value: number): void }) {}

  /** Adds `value` (default 1). As in prom-client, inc(0) makes the series appear at 0. */
  inc(value = 1): void {
    if (!(value >= 0 && value < Infinity))
      throw new TypeError(`Invalid counter increment: ${value}`);
    this.pending += value;
    this.touched = true;
  }

  /** Called from collect(). Integer increments (messages, bytes) add up to the same value. */
  flush(): void {
    if (!this.touched) return;
    const value = this.pending;
    this.pending = 0;
    this.touched = false;
    this.child.inc(value);
  }
}

/** A gauge series: set() keeps the value; prom-client gets the last one on the next read. */
export class GaugeSeries {
  private value = 0;
  private changed = false;

  constructor(private readonly child: { set(value: number): void }) {}

  set(value: number): void {
    this.value = value;
    this.changed = true;
  }

  flush(): void {
    if (!this.changed) return;
    this.changed = false;
    this.child.set(this.value);
  }
}

/** What prom-client 15 stores for one histogram series (lib/histogram.js createBaseValues). */
interface StoredHistogram {
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/**
 * A histogram series: observe() counts the value in its bucket (non-cumulative, as prom-client
 * stores them; it adds them up when writing the `le` lines) and adds it to the sum.
 */
export class HistogramSeries {
  /** Observations per bucket since the last flush; the last slot is above every bound. */
  private readonly pending: Float64Array;
  private pendingCount = 0;
  /** The stored sum at the last flush plus each later observation, one at a time. */
  private sum = 0;
  /** The stored sum right after the last flush. */
  private flushedSum = 0;
  /** Sum of the observations since the last flush. */
  private pendingSum = 0;

  constructor(
    private readonly bounds: readonly number[],
    private readonly stored: () => StoredHistogram,
  ) {
    this.pending = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++; // first bucket with value <= le
    this.pending[i]! += 1;
    this.pendingCount += 1;
    this.sum += value;
    this.pendingSum += value;
  }

  flush(): void {
    if (this.pendingCount === 0) return;
    const s = this.stored();
    for (let i = 0; i < this.bounds.length; i++) {
      const le = this.bounds[i]!;
      s.bucketValues[le] = (s.bucketValues[le] ?? 0) + this.pending[i]!;
    }
    s.count += this.pendingCount;
    // prom-client adds one value at a time; adding pendingSum at once could round differently.
    // So while nothing else changed the stored sum, store our running sum, which continued
    // from it one value at a time. Otherwise (an observe() with the same labels, a reset()),
    // add pendingSum: exact after a reset(), when the stored sum starts again from 0.
    s.sum = s.sum === this.flushedSum ? this.sum : s.sum + this.pendingSum;
    this.flushedSum = s.sum;
    this.sum = s.sum;
    this.pendingSum = 0;
    this.pending.fill(0);
    this.pendingCount = 0;
  }
}

export class FastCounter<L extends string> extends Counter<L> {
  readonly #series: SeriesMap<CounterSeries, L>;

  constructor(config: Config<CounterConfiguration<L>>) {
    const series = new SeriesMap<CounterSeries, L>(config.labelNames ?? []);
    super({ ...config, collect: () => series.flush() });
    this.#series = series;
  }

  /** The fast handle of one label set (the same handle for the same labels). */
  series(labels: SeriesLabels<L>): CounterSeries {
    return this.#series.get(labels, () => new CounterSeries(this.labels(labels)));
  }
}

export class FastGauge<L extends string> extends Gauge<L> {
  readonly #series: SeriesMap<GaugeSeries, L>;

  constructor(config: Config<GaugeConfiguration<L>>) {
    const series = new SeriesMap<GaugeSeries, L>(config.labelNames ?? []);
    super({ ...config, collect: () => series.flush() });
    this.#series = series;
  }

  series(labels: SeriesLabels<L>): GaugeSeries {
    return this.#series.get(labels, () => new GaugeSeries(this.labels(labels)));
  }
}

export class FastHistogram<L extends string> extends Histogram<L> {
  readonly #series: SeriesMap<HistogramSeries, L>;
  readonly #bounds: readonly number[];
  readonly #name: string;

  constructor(config: Config<HistogramConfiguration<L>> & { buckets: number[] }) {
    const series = new SeriesMap<HistogramSeries, L>(config.labelNames ?? []);
    super({ ...config, collect: () => series.flush() });
    this.#series = series;
    this.#bounds = [...config.buckets];
    this.#name = config.name;
  }

  series(labels: SeriesLabels<L>): HistogramSeries {
    return this.#series.get(labels, (key) => {
      const own = { ...labels };
      return new HistogramSeries(this.#bounds, () => this.#stored(key, own));
    });
  }

  /** prom-client's stored state for the label set, created at zero when missing. */
  #stored(key: string, labels: SeriesLabels<L>): StoredHistogram {
    // prom-client offers no public way to add bucket counts; its storage is `hashMap`, keyed
    // as storageKey() does. test/unit/fast-metrics.test.ts compares with observe() output.
    const storage = (this as unknown as { hashMap: Record<string, StoredHistogram | undefined> })
      .hashMap;
    if (!storage[key]) this.zero(labels);
    const s = storage[key];
    if (!s) throw new Error(`${this.#name}: prom-client's histogram storage is not as expected`);
    return s;
  }
}

/** The series handles of one metric, by prom-client's key of their label set. */
class SeriesMap<S extends { flush(): void }, L extends string> {
  private readonly byKey = new Map<string, S>();
  private readonly sortedNames: readonly string[];

  constructor(private readonly labelNames: readonly string[]) {
    this.sortedNames = [...labelNames].sort();
  }

  get(labels: SeriesLabels<L>, create: (key: string) => S): S {
    const values: Record<string, string> = labels;
    for (const name of this.labelNames) {
      if (typeof values[name] !== "string") throw new Error(`Label "${name}" has no value`);
    }
    for (const name of Object.keys(values)) {
      if (!this.labelNames.includes(name)) throw new Error(`Label "${name}" is not declared`);
    }
    const key = storageKey(this.sortedNames, values);
    let s = this.byKey.get(key);
    if (!s) this.byKey.set(key, (s = create(key)));
    return s;
  }

  flush(): void {
    for (const s of this.byKey.values()) s.flush();
  }
}

/** prom-client 15's key of a label set (lib/util.js hashObject with the sorted label names). */
function storageKey(sortedNames: readonly string[], labels: Record<string, string>): string {
  let key = "";
  for (const name of sortedNames) key += `${name}:${labels[name]},`;
  return key;
}
