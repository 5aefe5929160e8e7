#!/usr/bin/env bash
# Installs what is missing, builds datafix and runs every test against real PostgreSQL clusters
# that the tests start themselves. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
build=${DATAFIX_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"${DATAFIX_TEST_JOBS:-2}"
