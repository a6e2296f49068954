#!/usr/bin/env bash
# Installs the Debian packages the tests use, only when one is missing: prometheus and promtool
# (the dashboard is proven against a real Prometheus) and docker-compose (compose.yaml is
# validated offline). Needs root and apt-get; otherwise it says what to install and fails.
set -euo pipefail
missing=0
for tool in prometheus promtool docker-compose; do
  command -v "$tool" > /dev/null 2>&1 || missing=1
done
[[ "$missing" == 0 ]] && exit 0
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get > /dev/null 2>&1; then
  echo "install-system-deps: prometheus, promtool and docker-compose are needed by the tests;" >&2
  echo "install them (Debian: apt-get install prometheus docker-compose) and run again" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends prometheus docker-compose > /dev/null
# The package may start a prometheus service on :9090 where an init system runs; the tests run
# their own instance on a free port.
systemctl stop prometheus 2> /dev/null || true
echo "install-system-deps: installed prometheus, docker-compose"
