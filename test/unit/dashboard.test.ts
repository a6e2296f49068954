// Static checks of the Grafana dashboard and its provisioning (grafana/): the JSON is valid, has
// the topic variable, every panel queries something, and every metric and label a query names
// exists in the metric definitions (src/metrics/metrics.ts plus prom-client's defaults).
// test/integration/observability.test.ts runs the same queries against a real Prometheus.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { Registry } from "prom-client";
import { parse } from "yaml";
import { createMetrics } from "../../src/metrics/metrics";
import type { Metrics } from "../../src/metrics/metrics";

const REPO = path.resolve(__dirname, "..", "..");
const DASHBOARD_FILE = path.join(REPO, "grafana/dashboards/stream-replicator.json");
const DATASOURCE_FILE = path.join(REPO, "grafana/provisioning/datasources/prometheus.yaml");
const PROVIDER_FILE = path.join(REPO, "grafana/provisioning/dashboards/dashboards.yaml");

/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = ["instance", "job"];
/** PromQL words that are neither metrics nor functions. */
const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "inf",
  "nan",
]);

interface Target {
  expr?: string;
  refId?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: Array<Record<string, unknown>> };
}

function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, "utf8")) as Dashboard;
}

/** Every panel that shows data (rows excluded, panels inside collapsed rows included). */
function dataPanels(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  const walk = (list: Panel[]): void => {
    for (const p of list) {
      if (p.type === "row") walk(p.panels ?? []);
      else out.push(p);
    }
  };
  walk(d.panels ?? []);
  return out;
}

/** `{ panel, expr }` for every target of every data panel. */
function panelQueries(d: Dashboard): Array<{ panel: string; refId: string; expr: string }> {
  return dataPanels(d).flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      panel: `${p.title ?? "?"} (id ${p.id ?? "?"})`,
      refId: t.refId ?? "?",
      expr: t.expr ?? "",
    })),
  );
}

/** Known series names and their label names, from a fresh registry with every metric. */
async function knownSeries(): Promise<Map<string, Set<string>>> {
  const registry = new Registry();
  createMetrics(registry);
  const known = new Map<string, Set<string>>();
  for (const { name, type, values } of await registry.getMetricsAsJSON()) {
    const declared = registry.getSingleMetric(name) as unknown as { labelNames?: string[] };
    const labels = new Set([...(declared.labelNames ?? []), ...TARGET_LABELS]);
    // Default metrics may label their values without declaring labelNames.
    for (const v of values) for (const k of Object.keys(v.labels)) labels.add(k);
    if (String(type) === "histogram") {
      known.set(`${name}_bucket`, new Set([...labels, "le"]));
      known.set(`${name}_sum`, labels);
      known.set(`${name}_count`, labels);
    } else {
      known.set(name, labels);
    }
  }
  return known;
}

interface ParsedQuery {
  /** Metric names the expression selects. */
  metrics: string[];
  /** Label names used in matchers, per selected metric (only selectors with braces). */
  matchers: Array<{ metric: string; labels: string[] }>;
  /** Label names in by / without / on / ignoring / group_left / group_right clauses. */
  grouping: string[];
}

/** A small PromQL scan: enough for the dashboard's queries, not a parser. */
function parseQuery(expr: string): ParsedQuery {
  const matchers: ParsedQuery["matchers"] = [];
  for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)) {
    const labels = [...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map(
      (l) => l[1] as string,
    );
    matchers.push({ metric: m[1] as string, labels });
  }
  let rest = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ");
  const grouping: string[] = [];
  rest = rest.replace(
    /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    (_all, list: string) => {
      grouping.push(
        ...list
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      );
      return " ";
    },
  );
  const metrics: string[] = [];
  for (const m of rest.matchAll(/(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const word = m[1] as string;
    if (m[2] !== undefined) continue; // a function or an aggregation
    if (KEYWORDS.has(word.toLowerCase())) continue;
    metrics.push(word);
  }
  return { metrics, matchers, grouping };
}

test("dashboard - valid JSON with a uid, a title and schemaVersion 39", () => {
  const d = loadDashboard();
  assert.equal(d.uid, "stream-replicator");
  assert.equal(typeof d.title, "string");
  assert.ok(
    typeof d.schemaVersion === "number" && d.schemaVersion >= 36 && d.schemaVersion <= 41,
    `schemaVersion ${d.schemaVersion}`,
  );
  const ids = dataPanels(d).map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
});

test("dashboard - has the topic variable from stream_replicator_received_msgs names", () => {
  const vars = loadDashboard().templating?.list ?? [];
  const topic = vars.find((v) => v.name === "topic");
  assert.ok(topic, "a template variable named topic");
  assert.equal(topic.type, "query");
  const query = topic.query as string | { query?: string };
  const text = typeof query === "string" ? query : query.query;
  assert.equal(text, "label_values(stream_replicator_received_msgs, name)");
  const ds = vars.find((v) => v.name === "DS_PROMETHEUS");
  assert.ok(ds, "a datasource variable DS_PROMETHEUS");
  assert.equal(ds.type, "datasource");
  assert.equal(ds.query, "prometheus");
  assert.equal(
    (ds.current as { value?: string }).value,
    "prometheus",
    "defaults to the provisioned uid",
  );
});

test("dashboard - every panel has a target with an expression and a Prometheus datasource", () => {
  const panels = dataPanels(loadDashboard());
  assert.ok(panels.length >= 10, `${panels.length} panels`);
  const okUid = (uid: string | undefined): boolean =>
    uid === "${DS_PROMETHEUS}" || uid === "prometheus";
  for (const p of panels) {
    const where = `panel "${p.title}" (id ${p.id})`;
    assert.ok((p.targets ?? []).length > 0, `${where} has no target`);
    assert.ok(okUid(p.datasource?.uid), `${where}: datasource uid ${p.datasource?.uid}`);
    for (const t of p.targets ?? []) {
      assert.ok(t.expr && t.expr.trim() !== "", `${where} target ${t.refId} has no expr`);
      assert.ok(okUid(t.datasource?.uid), `${where} target ${t.refId}: datasource`);
    }
  }
});

test("dashboard - every metric and label in every query exists in the metric definitions", async () => {
  const known = await knownSeries();
  const problems: string[] = [];
  for (const q of panelQueries(loadDashboard())) {
    const where = `${q.panel} ${q.refId}: ${q.expr}`;
    const parsed = parseQuery(q.expr);
    if (parsed.metrics.length === 0) problems.push(`${where}: selects no metric`);
    const usable = new Set<string>(TARGET_LABELS);
    for (const metric of parsed.metrics) {
      const labels = known.get(metric);
      if (!labels) problems.push(`${where}: unknown metric ${metric}`);
      else for (const l of labels) usable.add(l);
    }
    for (const { metric, labels } of parsed.matchers) {
      const allowed = known.get(metric);
      for (const l of labels) {
        if (allowed && !allowed.has(l)) problems.push(`${where}: ${metric} has no label ${l}`);
      }
    }
    for (const l of parsed.grouping) {
      if (!usable.has(l)) problems.push(`${where}: no metric of the query has label ${l}`);
    }
  }
  assert.deepEqual(problems, []);
});

test("dashboard - the query scan finds metrics, matchers and grouping labels", () => {
  const p = parseQuery(
    'sum by (name, le) (rate(a_bucket{name=~"$topic"}[$__rate_interval])) and on (instance) b',
  );
  assert.deepEqual(p.metrics, ["a_bucket", "b"]);
  assert.deepEqual(p.matchers, [{ metric: "a_bucket", labels: ["name"] }]);
  assert.deepEqual(p.grouping, ["name", "le", "instance"]);
  assert.deepEqual(parseQuery("count(x == 0) or vector(0)").metrics, ["x"]);
});

/** `src/` files other than the metric definitions, concatenated. */
function productSourcesExceptDefinitions(): string {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith(".ts") && full !== path.join(REPO, "src/metrics/metrics.ts")) {
        out.push(readFileSync(full, "utf8"));
      }
    }
  };
  walk(path.join(REPO, "src"));
  return out.join("\n");
}

test("dashboard - every stream_replicator metric it shows is updated by the product code", async () => {
  // A metric that is only created at zero (initTopicMetrics) draws a flat line forever and
  // hides real failures. Heuristic: its Metrics field is used outside src/metrics/metrics.ts.
  const registry = new Registry();
  const m = createMetrics(registry, { defaultMetrics: false });
  const fieldOf = new Map<string, keyof Metrics>();
  for (const key of Object.keys(m) as (keyof Metrics)[]) {
    const name = (m[key] as unknown as { name: string }).name;
    fieldOf.set(name, key);
    for (const suffix of ["_bucket", "_sum", "_count"]) fieldOf.set(`${name}${suffix}`, key);
  }
  const src = productSourcesExceptDefinitions();
  const unused = new Set<string>();
  for (const q of panelQueries(loadDashboard())) {
    for (const metric of parseQuery(q.expr).metrics) {
      const key = fieldOf.get(metric);
      if (key === undefined || key === "buildInfo") continue; // build_info is set at creation
      if (!new RegExp(`\\.${key}\\b`).test(src)) unused.add(`${metric} (Metrics.${key})`);
    }
  }
  assert.deepEqual([...unused], [], "metrics never incremented or set by src/");
});

test("provisioning - datasource uid prometheus at http://prometheus:9090, dashboards from a file path", () => {
  const ds = parse(readFileSync(DATASOURCE_FILE, "utf8")) as {
    datasources: Array<{ uid: string; type: string; url: string }>;
  };
  const prom = ds.datasources.find((d) => d.uid === "prometheus");
  assert.ok(prom, "a datasource with uid prometheus");
  assert.equal(prom.type, "prometheus");
  assert.equal(prom.url, "http://prometheus:9090");
  const providers = parse(readFileSync(PROVIDER_FILE, "utf8")) as {
    providers: Array<{ type: string; options: { path: string } }>;
  };
  const file = providers.providers.find((p) => p.type === "file");
  assert.ok(file, "a file provider");
  assert.equal(file.options.path, "/var/lib/grafana/dashboards");
});
