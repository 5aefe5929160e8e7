#!/usr/bin/env bash
# Runs clang-tidy with the committed .clang-tidy over datafix's own sources and exits non-zero on
# any finding, so "clang-tidy reports nothing new" can be checked. Too slow for every test run
# (scripts/test.sh does not call it): see the time in the developer section of README.md.
#
#   scripts/tidy.sh                 # src/, bench/ and fuzz/
#   scripts/tidy.sh '/src/core/'    # only the files whose path matches these regexes
#
# It reads the compile commands CMake exports (CMAKE_EXPORT_COMPILE_COMMANDS) from a build
# directory of its own, configured without precompiled headers: clang cannot read GCC's .gch
# files, and without them every file includes what it uses. Configuring compiles nothing.
# DATAFIX_TIDY_BUILD_DIR picks another directory, DATAFIX_TIDY_JOBS the parallel runs (2).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${DATAFIX_TIDY_BUILD_DIR:-build-tidy}
jobs=${DATAFIX_TIDY_JOBS:-2}
files=("$@")
if ((${#files[@]} == 0)); then
  files=('/src/' '/bench/' '/fuzz/')
fi

if ! command -v run-clang-tidy >/dev/null 2>&1; then
  echo "tidy: run-clang-tidy not found" >&2
  echo "HINT: run scripts/install-deps.sh as root (it installs Debian's clang-tidy)" >&2
  exit 2
fi

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON >/dev/null

output=$(mktemp)
trap 'rm -f "$output"' EXIT
status=0
run-clang-tidy -p "$build" -j"$jobs" -quiet "${files[@]}" >"$output" 2>&1 || status=$?
# run-clang-tidy always asks for colours: strip them. A finding in a header is reported once per
# file that includes it: print each once.
findings=$(sed -E 's/\x1b\[[0-9;]*m//g' "$output" |
  grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' | sort -u || true)
if [[ -n $findings ]]; then
  echo "$findings"
  echo "tidy: $(wc -l <<<"$findings") finding(s)" >&2
  exit 1
fi
if ((status != 0)); then
  cat "$output" >&2
  echo "tidy: run-clang-tidy failed (status $status)" >&2
  exit 1
fi
echo "tidy: no findings"
