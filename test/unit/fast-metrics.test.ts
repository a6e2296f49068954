import { test } from "node:test";
import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { FastCounter, FastGauge, FastHistogram } from "../../src/metrics/fast-metrics";

const BUCKETS = [0.1, 0.25, 1];
const W = { name: "cmdb", worker: "cmdb_0" };

function fastHistogram(registry: Registry, buckets = BUCKETS) {
  return new FastHistogram({
    name: "h",
    help: "A histogram",
    labelNames: ["name", "worker"],
    buckets,
    registers: [registry],
  });
}

function fastCounter(registry: Registry) {
  return new FastCounter({
    name: "c",
    help: "A counter",
    labelNames: ["name", "worker"],
    registers: [registry],
  });
}

/** Values on, between, below and above the bounds, and sums that round in binary. */
const AWKWARD = [
  0,
  0.1,
  0.2,
  0.3,
  0.25,
  0.25000000000000006,
  1,
  1.0000001,
  7,
  60,
  0.7,
  0.1 + 0.2,
  1e-9,
  3.3333,
];

test("FastHistogram - buckets are cumulative, le inclusive, with _sum and _count", async () => {
  const registry = new Registry();
  const h = fastHistogram(registry).series(W);
  for (const v of [0.0625, 0.125, 0.25, 0.5, 2]) h.observe(v);
  const labels = 'name="cmdb",worker="cmdb_0"';
  assert.equal(
    await registry.metrics(),
    [
      "# HELP h A histogram",
      "# TYPE h histogram",
      `h_bucket{le="0.1",${labels}} 1`,
      `h_bucket{le="0.25",${labels}} 3`,
      `h_bucket{le="1",${labels}} 4`,
      `h_bucket{le="+Inf",${labels}} 5`,
      `h_sum{${labels}} 2.9375`,
      `h_count{${labels}} 5`,
      "",
    ].join("\n"),
  );
});

test("FastHistogram - same text as prom-client's observe(), with reads in between", async () => {
  const plain = new Registry();
  const fast = new Registry();
  const reference = new Histogram({
    name: "h",
    help: "A histogram",
    labelNames: ["name", "worker"],
    buckets: BUCKETS,
    registers: [plain],
  });
  const series = fastHistogram(fast).series(W);
  for (let round = 0; round < 5; round++) {
    for (const v of AWKWARD) {
      reference.observe(W, v * (round + 1));
      series.observe(v * (round + 1));
    }
    // Each read flushes; equal text after every round means nothing is counted twice.
    assert.equal(await fast.metrics(), await plain.metrics(), `round ${round}`);
    assert.equal(await fast.metrics(), await plain.metrics(), `round ${round}, read again`);
  }
  assert.match(await fast.metrics(), /^h_count\{name="cmdb",worker="cmdb_0"\} 70$/m);
});

test("FastHistogram - observe(labels) and the series add up on the same label set", async () => {
  const registry = new Registry();
  const h = fastHistogram(registry);
  const s = h.series(W);
  s.observe(0.05);
  h.observe(W, 0.5);
  await registry.metrics();
  s.observe(5);
  h.observe(W, 0.2);
  const text = await registry.metrics();
  assert.match(text, /^h_bucket\{le="0\.1",name="cmdb",worker="cmdb_0"\} 1$/m);
  assert.match(text, /^h_bucket\{le="0\.25",name="cmdb",worker="cmdb_0"\} 2$/m);
  assert.match(text, /^h_bucket\{le="1",name="cmdb",worker="cmdb_0"\} 3$/m);
  assert.match(text, /^h_bucket\{le="\+Inf",name="cmdb",worker="cmdb_0"\} 4$/m);
  assert.match(text, /^h_sum\{name="cmdb",worker="cmdb_0"\} 5\.75$/m);
  assert.match(text, /^h_count\{name="cmdb",worker="cmdb_0"\} 4$/m);
});

test("FastHistogram - after reset() only later observations count", async () => {
  const registry = new Registry();
  const h = fastHistogram(registry);
  const s = h.series(W);
  s.observe(0.5);
  await registry.metrics();
  h.reset();
  s.observe(0.05);
  const text = await registry.metrics();
  assert.match(text, /^h_bucket\{le="1",name="cmdb",worker="cmdb_0"\} 1$/m);
  assert.match(text, /^h_sum\{name="cmdb",worker="cmdb_0"\} 0\.05$/m);
  assert.match(text, /^h_count\{name="cmdb",worker="cmdb_0"\} 1$/m);
});

test("FastHistogram - rejects a value that is not finite, as prom-client does", async () => {
  const registry = new Registry();
  const s = fastHistogram(registry).series(W);
  assert.throws(() => s.observe(Number.NaN), TypeError);
  assert.throws(() => s.observe(Infinity), TypeError);
  assert.doesNotMatch(await registry.metrics(), /^h_/m);
});

test("FastCounter - reading twice does not count twice", async () => {
  const registry = new Registry();
  const s = fastCounter(registry).series(W);
  for (let i = 0; i < 3; i++) s.inc();
  s.inc(120);
  const line = /^c\{name="cmdb",worker="cmdb_0"\} (\d+)$/m;
  assert.equal((await registry.metrics()).match(line)?.[1], "123");
  assert.equal((await registry.metrics()).match(line)?.[1], "123");
  s.inc(2);
  assert.equal((await registry.metrics()).match(line)?.[1], "125");
});

test("FastCounter - series and inc(labels) add up, each label set apart", async () => {
  const registry = new Registry();
  const c = fastCounter(registry);
  c.inc(W, 0);
  c.series(W).inc(4);
  c.inc(W, 10);
  c.series({ name: "cmdb", worker: "cmdb_1" }).inc();
  assert.equal(
    await registry.metrics(),
    [
      "# HELP c A counter",
      "# TYPE c counter",
      'c{name="cmdb",worker="cmdb_0"} 14',
      'c{name="cmdb",worker="cmdb_1"} 1',
      "",
    ].join("\n"),
  );
});

test("FastCounter - a series appears with its first update, inc(0) included", async () => {
  const registry = new Registry();
  const c = fastCounter(registry);
  const s = c.series(W);
  assert.doesNotMatch(await registry.metrics(), /^c\{/m);
  s.inc(0);
  assert.match(await registry.metrics(), /^c\{name="cmdb",worker="cmdb_0"\} 0$/m);
  assert.throws(() => s.inc(-1), TypeError);
});

test("FastCounter - the same labels give the same handle; wrong labels throw", () => {
  const c = fastCounter(new Registry());
  assert.equal(c.series(W), c.series({ worker: "cmdb_0", name: "cmdb" }));
  assert.notEqual(c.series(W), c.series({ ...W, worker: "cmdb_1" }));
  const wrong = { ...W, side: "source" } as unknown as typeof W;
  assert.throws(() => c.series(wrong), /"side" is not declared/);
  const missing = { name: "cmdb" } as unknown as typeof W;
  assert.throws(() => c.series(missing), /"worker" has no value/);
});

test("FastGauge - the last value set is read, also when read twice", async () => {
  const registry = new Registry();
  const g = new FastGauge({
    name: "g",
    help: "A gauge",
    labelNames: ["name"],
    registers: [registry],
  });
  const s = g.series({ name: "cmdb" });
  assert.doesNotMatch(await registry.metrics(), /^g\{/m);
  s.set(41);
  s.set(42);
  assert.match(await registry.metrics(), /^g\{name="cmdb"\} 42$/m);
  assert.match(await registry.metrics(), /^g\{name="cmdb"\} 42$/m);
  s.set(7);
  assert.match(await registry.metrics(), /^g\{name="cmdb"\} 7$/m);
});

test("pending updates show in every way of reading the registry", async () => {
  const registry = new Registry();
  const c = fastCounter(registry);
  const h = fastHistogram(registry);
  const read: [string, () => Promise<string>][] = [
    ["metrics()", () => registry.metrics()],
    ["getSingleMetricAsString()", () => registry.getSingleMetricAsString("c")],
    ["getMetricsAsJSON()", async () => JSON.stringify(await registry.getMetricsAsJSON())],
    ["get()", async () => JSON.stringify(await c.get())],
  ];
  let expected = 0;
  for (const [how, text] of read) {
    c.series(W).inc(5);
    expected += 5;
    const out = await text();
    if (how.startsWith("get")) {
      const value = how === "getSingleMetricAsString()" ? / (\d+)$/m : /"value":(\d+)/;
      assert.equal(out.match(value)?.[1], String(expected), how);
    } else assert.match(out, new RegExp(`^c\\{[^}]+\\} ${expected}$`, "m"), how);
  }
  h.series(W).observe(0.2);
  assert.match(await registry.getSingleMetricAsString("h"), /^h_count\{[^}]+\} 1$/m);
  h.series(W).observe(0.2);
  const json = await h.get();
  assert.equal(json.values.find((v) => v.metricName === "h_count")?.value, 2);
});

test("Fast metrics keep prom-client's name, type and help", async () => {
  const registry = new Registry();
  const reference = new Registry();
  fastCounter(registry).series(W).inc();
  new Counter({
    name: "c",
    help: "A counter",
    labelNames: ["name", "worker"],
    registers: [reference],
  }).inc(W);
  new FastGauge({ name: "g", help: "A gauge", registers: [registry] }).series({}).set(1);
  new Gauge({ name: "g", help: "A gauge", registers: [reference] }).set(1);
  assert.equal(await registry.metrics(), await reference.metrics());
});
