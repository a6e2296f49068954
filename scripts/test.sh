#!/usr/bin/env bash
# The README's test command (npm test): installs the Debian packages and the real servers the
# tests use if missing, type-checks, then runs unit and integration tests with node's test
# runner (its summary is printed last).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
bash scripts/install-servers.sh
npx tsc -p tsconfig.json --noEmit
files=$(find test/unit test/integration -name '*.test.ts' | sort)
# Integration tests start real servers on free ports; run files one at a time to keep the
# 2-core machine from starving server processes (timing faults would become flaky failures).
# A test file that hangs is killed after 20 minutes (node 20 applies the timeout per file) and
# counted as failed.
exec node --import tsx --test --test-concurrency=1 --test-timeout=1200000 --test-reporter=spec $files
