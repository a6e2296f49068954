#!/usr/bin/env bash
# npm run bench [-- options]: builds stream-replicator (dist/), installs the servers (the streaming
# server, nats-server for JetStream) and stan-bench, builds the reference Go replicator (bench/peer
# -> tools/bin/sr-peer, nats-replicator's algorithm in 100 lines), the load generator
# (bench/loadgen -> tools/bin/sr-loadgen) and the JetStream helpers (bench/jsbridge, bench/jssync,
# bench/jslive), then runs bench/run.ts. Options: npm run bench -- --help (or bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

# npm run bench -- --failover [options] (also npm run bench:failover): the failover stall of
# bench/failover.ts. It runs each checkout's src/main.ts with tsx and needs only the streaming
# server: nothing else is built.
if [[ "${1:-}" == "--failover" ]]; then
  shift
  bash scripts/install-servers.sh
  exec node --import tsx bench/failover.ts "$@"
fi

for arg in "$@"; do
  if [[ "$arg" == "-h" || "$arg" == "--help" ]]; then exec node --import tsx bench/run.ts --help; fi
done

npm run build --silent
bash scripts/install-servers.sh --bench
(cd bench/peer && go build -o "$repo/tools/bin/sr-peer" .)
(cd bench/loadgen && go build -o "$repo/tools/bin/sr-loadgen" .)
echo "sr-peer, sr-loadgen: built (bench/peer, bench/loadgen)"
# STAN -> JetStream (--jetstream): the reference Go bridge, stan2js's synchronous copy loop (the
# Go proxy answers 403 for github.com/nats-io/stan2js itself) and the live probe on the stream.
(cd bench/jsbridge && go build -o "$repo/tools/bin/sr-jsbridge" .)
(cd bench/jssync && go build -o "$repo/tools/bin/sr-jssync" .)
(cd bench/jslive && go build -o "$repo/tools/bin/sr-jslive" .)
echo "sr-jsbridge, sr-jssync, sr-jslive: built (bench/jsbridge, bench/jssync, bench/jslive)"

# The official nats-replicator: `go install ...@latest` fails here (the Go proxy answers 403 for
# the version list, and v0.1.0's pinned dependencies are not all served), but the module
# v0.1.0 itself downloads; it is built with its dependencies resolved afresh. Never fatal: the
# reference Go replicator (bench/peer) is the peer either way.
if [[ ! -x tools/bin/nats-replicator ]] && command -v go > /dev/null 2>&1; then
  (cd "$(mktemp -d)" && go mod download github.com/nats-io/nats-replicator@v0.1.0 > /dev/null 2>&1) || true
  src="$(ls -d "$(go env GOMODCACHE)"/github.com/nats-io/nats-replicator@v* 2> /dev/null | sort -V | tail -n 1 || true)"
  if [[ -n "$src" ]]; then
    tmp="$(mktemp -d)"
    cp -r "$src"/. "$tmp" && chmod -R u+w "$tmp" && rm -rf "$tmp/vendor"
    if (cd "$tmp" && GOFLAGS=-mod=mod go build -o "$repo/tools/bin/nats-replicator" . > "$tmp.log" 2>&1); then
      echo "nats-replicator: built from the module cache (${src##*@})"
      echo "${src##*@}" > tools/bin/nats-replicator.version
    else
      echo "bench: warning: nats-replicator from ${src} did not build; see $tmp.log" >&2
    fi
    rm -rf "$tmp"
  fi
fi

exec node --import tsx bench/run.ts "$@"
