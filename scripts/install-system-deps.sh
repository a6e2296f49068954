#!/usr/bin/env bash
# Installs the Debian packages the tests use, only when one is missing: prometheus and promtool
# (the dashboard is proven against a real Prometheus), docker-compose (compose.yaml is validated
# offline and run), docker.io (the Docker engine the container test builds and runs the image
# with) and mmdebstrap (it makes the stand-in Debian base image there). Needs root and apt-get;
# otherwise it says what to install and fails.
set -euo pipefail
missing=0
for tool in prometheus promtool docker-compose dockerd mmdebstrap; do
  command -v "$tool" > /dev/null 2>&1 || missing=1
done
[[ "$missing" == 0 ]] && exit 0
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get > /dev/null 2>&1; then
  echo "install-system-deps: prometheus, promtool, docker-compose, dockerd and mmdebstrap are needed" >&2
  echo "by the tests; install them (Debian: apt-get install prometheus docker-compose docker.io" >&2
  echo "mmdebstrap) and run again" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Another apt-get may run at the same time (a second test run): wait for its lock.
apt-get -o DPkg::Lock::Timeout=300 update -q
apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends \
  prometheus docker-compose docker.io mmdebstrap > /dev/null
# Where an init system runs, the packages may start services: the tests run their own Prometheus
# on a free port, so that one stops; a running dockerd is used as it is.
systemctl stop prometheus 2> /dev/null || true
echo "install-system-deps: installed prometheus, docker-compose, docker.io, mmdebstrap"
