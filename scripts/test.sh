#!/usr/bin/env bash
# Installs what is missing, builds datafix and runs every test against real PostgreSQL clusters
# that the tests start themselves. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# The browser tests' npm package (playwright-core; the browser is Debian's chromium, never a
# download). Installed again only when the lock file changed, so offline runs work once it is there.
# The same for the sign-in tests' OpenID Connect provider (oidc-provider, run on loopback).
for dir in tests/web tests/oidc; do
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.datafix-lock"; then
    (cd "$dir" && npm ci --no-audit --no-fund && cp package-lock.json node_modules/.datafix-lock)
  fi
done
build=${DATAFIX_BUILD_DIR:-build}
# Ninja when the build directory is new or already Ninja's (an existing Make tree is kept).
generator=()
if [[ ! -f "$build/CMakeCache.txt" ]] || grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja' "$build/CMakeCache.txt"; then
  generator=(-G Ninja)
fi
# Warnings are errors here, so CI fails on a new one (-DDATAFIX_WERROR, CMakeLists.txt).
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDATAFIX_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"${DATAFIX_TEST_JOBS:-2}"
