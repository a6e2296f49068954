#!/usr/bin/env bash
# npm run demo: installs the real NATS Streaming server if missing, then runs the local demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-servers.sh
exec node --import tsx scripts/demo.ts "$@"
