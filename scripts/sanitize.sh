#!/usr/bin/env bash
# Builds datafix with sanitizers in a build directory of its own and runs the tests under them.
# Every process a test starts (the test, the datafix servers and CLI commands it spawns, their guard
# workers) is built with the sanitizers, and a report from any of them fails that test
# (tests/sanitizers/run_test.sh).
#
#   scripts/sanitize.sh address,undefined [CTEST_ARG...]   # build-asan: every test
#   scripts/sanitize.sh thread [CTEST_ARG...]              # build-tsan: the server's tests
#
# address,undefined runs the whole suite except the container image's tests (label `image`): the
# image's root file system holds the Debian runtime packages only, not the sanitizers' runtimes.
# thread runs the ctest entries that exercise threads: `server` (the event hub, the operations
# endpoints), `e2e` (real servers: the HTTP worker pool and its queue, event streams, concurrent
# claims, live runs, run leases taken over between two servers, the outbox), and `core` and `sql`
# (the threads that parse a large file in pieces).
# Extra arguments go to ctest, e.g. `-R '^e2e$'`; DATAFIX_BUILD_DIR picks another directory.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizers=${1:?usage: scripts/sanitize.sh address,undefined|thread [CTEST_ARG...]}
shift
case $sanitizers in
  address,undefined | address | undefined)
    build=${DATAFIX_BUILD_DIR:-build-asan}
    selection=(-LE image)
    ;;
  thread)
    build=${DATAFIX_BUILD_DIR:-build-tsan}
    selection=(-R '^(server|e2e|core|sql)$')
    ;;
  *)
    echo "sanitize: unknown sanitizers '$sanitizers'" >&2
    echo "HINT: use address,undefined or thread" >&2
    exit 2
    ;;
esac
if (($# > 0)); then
  selection=("$@")
fi

bash scripts/install-deps.sh
for dir in tests/web tests/oidc; do
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.datafix-lock"; then
    (cd "$dir" && npm ci --no-audit --no-fund && cp package-lock.json node_modules/.datafix-lock)
  fi
done
# -O1 -g1: about a third less compile time than -O2 -g, and line tables are all a report's stack
# traces need.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDATAFIX_SANITIZE="$sanitizers" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" >/dev/null
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"${DATAFIX_TEST_JOBS:-2}" "${selection[@]}"
