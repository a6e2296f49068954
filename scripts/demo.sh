#!/usr/bin/env bash
# npm run demo [-- --jetstream] [-- --seconds N]: installs the real servers if missing
# (nats-streaming-server, and nats-server for --jetstream), then runs the local demo
# (scripts/demo.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-servers.sh
exec node --import tsx scripts/demo.ts "$@"
