/**
 * The layering of src/, checked by `npm run lint` (STYLE.md, "The layers"). The core
 * (src/replicator/) owns the ports and knows no broker; adapters depend on the core, never the
 * reverse; the NATS client knows nothing of STAN; each library stays in its folder.
 */
const adapters = "^src/(stan|nats|jetstream)/";

/** `from` may not import `path`. */
function forbid(name, comment, from, path) {
  return { name, comment, severity: "error", from: { path: from }, to: { path } };
}

/** Only `folder` may import the npm package `pkg`. */
function onlyIn(pkg, folder) {
  return {
    name: `only-${folder.replace(/\W/g, "")}-imports-${pkg.replace(/\W/g, "")}`,
    comment: `${pkg} is used in ${folder} only`,
    severity: "error",
    from: { path: "^src/", pathNot: `^${folder}` },
    to: { path: `node_modules/${pkg}/` },
  };
}

module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      comment: "No import cycle in src/, type-only imports included",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    forbid(
      "core-imports-no-adapter",
      "src/replicator/ defines the ports; it imports no adapter, configuration or wiring",
      "^src/replicator/",
      `${adapters}|^src/(app|config|sampling|metrics|http|cli)(/|\\.ts$)`,
    ),
    forbid(
      "nats-knows-no-stan",
      "src/nats/ is a plain NATS client",
      "^src/nats/",
      "^src/(stan|jetstream)/",
    ),
    forbid(
      "adapters-apart",
      "a STAN and a JetStream adapter do not import each other",
      "^src/jetstream/",
      "^src/stan/",
    ),
    forbid(
      "stan-apart",
      "a STAN and a JetStream adapter do not import each other",
      "^src/stan/",
      "^src/jetstream/",
    ),
    forbid(
      "sampling-knows-no-broker",
      "sampling is pure logic behind the core's Sampler port",
      "^src/(sampling|value-table)/",
      `${adapters}|^src/(app|http|metrics|cli)(/|\\.ts$)`,
    ),
    forbid(
      "value-table-is-generic",
      "the value table knows nothing of sampling",
      "^src/value-table/",
      "^src/sampling/",
    ),
    forbid(
      "only-main-starts",
      "nothing imports the executable or the CLI",
      "^src/(?!main\\.ts$)(?!cli/)",
      "^src/(main\\.ts|cli/)",
    ),
    onlyIn("convict", "src/config/"),
    onlyIn("yaml", "src/config/"),
    onlyIn("winston", "src/logging/"),
    onlyIn("prom-client", "src/metrics/"),
    onlyIn("express", "src/http/"),
    onlyIn("commander", "src/cli/"),
    onlyIn("@nats-io", "src/jetstream/"),
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^(dist|test|bench|scripts)/" },
  },
};
