#!/usr/bin/env bash
# Installs the real servers used by the integration tests into <repo>/tools/bin, only when missing
# (a present tool costs one stat, plus one `--version` per server).
#   bash scripts/install-servers.sh           nats-streaming-server v0.25.6, nats-server v2.14.9
#   bash scripts/install-servers.sh --bench   also stan-bench v0.10.4 and, optionally, nats-replicator
# Works from any directory. Go is only required when something has to be built.
set -euo pipefail

STAN_SERVER_VERSION="v0.25.6"
STAN_SERVER_PKG="github.com/nats-io/nats-streaming-server@${STAN_SERVER_VERSION}"
# JetStream targets: nats-server with -js.
NATS_SERVER_VERSION="v2.14.9"
NATS_SERVER_PKG="github.com/nats-io/nats-server/v2@${NATS_SERVER_VERSION}"
STAN_BENCH_PKG="github.com/nats-io/stan.go/examples/stan-bench@v0.10.4"
REPLICATOR_PKG="github.com/nats-io/nats-replicator@latest"

usage() {
  sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

bench=0
for arg in "$@"; do
  case "$arg" in
    --bench) bench=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "install-servers: unknown option '$arg' (use --bench or --help)" >&2
      exit 2
      ;;
  esac
done

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$repo/tools/bin"
mkdir -p "$bin"

require_go() {
  if ! command -v go > /dev/null 2>&1; then
    echo "install-servers: 'go' was not found on PATH; install Go (https://go.dev/dl/) to build $1" >&2
    exit 1
  fi
}

# go_install <name> <module@version>: builds into $bin; retries once with -checklinkname=0, which
# newer Go toolchains need for old dependencies that use go:linkname on runtime internals.
go_install() {
  local name="$1" pkg="$2" log
  require_go "$name"
  log="$(mktemp)"
  if GOBIN="$bin" go install "$pkg" > "$log" 2>&1 \
    || GOBIN="$bin" go install -ldflags=-checklinkname=0 "$pkg" >> "$log" 2>&1; then
    rm -f "$log"
    return 0
  fi
  echo "install-servers: failed to build $pkg; last lines of the build output:" >&2
  tail -n 20 "$log" >&2
  rm -f "$log"
  exit 1
}

# install_versioned <name> <version> <module@version>: also re-installed when `<name> --version`
# names another version.
install_versioned() {
  local name="$1" version="$2" pkg="$3" exe="$bin/$1" current=""
  if [[ -x "$exe" ]]; then
    current="$("$exe" --version 2>&1 | head -n 1 || true)"
    if [[ "$current" =~ (^|[^0-9.])v?${version#v}([^0-9.]|$) ]]; then
      echo "$name: already present (${version})"
      return 0
    fi
  fi
  go_install "$name" "$pkg"
  if [[ -n "$current" ]]; then
    echo "$name: replaced '$current' with ${version}"
  else
    echo "$name: installed (${version})"
  fi
}

# install_if_missing <name> <module@version>
install_if_missing() {
  local name="$1" pkg="$2"
  if [[ -x "$bin/$name" ]]; then
    echo "$name: already present"
    return 0
  fi
  go_install "$name" "$pkg"
  echo "$name: installed (${pkg##*@})"
}

install_versioned nats-streaming-server "$STAN_SERVER_VERSION" "$STAN_SERVER_PKG"
install_versioned nats-server "$NATS_SERVER_VERSION" "$NATS_SERVER_PKG"
if [[ "$bench" == 1 ]]; then
  install_if_missing stan-bench "$STAN_BENCH_PKG"
  # Optional: the Go proxy may refuse it (403). The benchmark then uses its reference Go
  # replicator (bench/peer) as the peer, so a failure here is only a warning.
  if ! (install_if_missing nats-replicator "$REPLICATOR_PKG"); then
    echo "install-servers: warning: nats-replicator not installed; benchmarks use bench/peer instead" >&2
  fi
fi
