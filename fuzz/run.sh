#!/usr/bin/env bash
# fuzz/run.sh [seconds]: fuzzes the SQL guard (sql::analyze) with afl++ for the given time
# (default 60). Builds fuzz/guard_fuzz with afl-clang-fast++ into its own build directory
# (build-fuzz/, or $DATAFIX_FUZZ_BUILD), seeds it with the data-driven cases of tests/sql/cases,
# runs afl-fuzz and prints what it found. Findings stay in build-fuzz/findings/default/{crashes,hangs}.
# Exit status: 0 when nothing was found, 1 when afl-fuzz saved a crash or a hang, 2 on a setup error.
set -euo pipefail

seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DATAFIX_FUZZ_BUILD:-$root/build-fuzz}

for tool in afl-clang-fast++ afl-fuzz cmake ninja; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "fuzz/run.sh: $tool not found" >&2
    echo "HINT: run scripts/install-deps.sh as root (it installs afl++, cmake and ninja)" >&2
    exit 2
  fi
done

# Only the harness and the layers it links are built, instrumented; tests and benchmarks are off.
CC=afl-clang-fast CXX=afl-clang-fast++ cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDATAFIX_BUILD_TESTS=OFF -DDATAFIX_BUILD_BENCH=OFF \
  -DDATAFIX_BUILD_FUZZ=ON >/dev/null
cmake --build "$build" --target guard_fuzz -j2 >/dev/null

seeds=$build/seeds
rm -rf "$seeds" "$build/findings"
"$build/fuzz/guard_fuzz" --write-seeds "$root/tests/sql/cases" "$seeds"

# Without a configured core pattern or CPU governor afl-fuzz refuses to start; these make it run
# anyway (findings are the same, only slower to come).
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export AFL_NO_AFFINITY=1 AFL_SKIP_CRASHES=1
# -t: a run over 2 s is a hang (the guard takes well under a second even on 1 MiB).
afl-fuzz -i "$seeds" -o "$build/findings" -V "$seconds" -t 2000 -m none \
  -- "$build/fuzz/guard_fuzz" >"$build/afl-fuzz.log" 2>&1 || {
  echo "fuzz/run.sh: afl-fuzz failed; the end of its log:" >&2
  tail -20 "$build/afl-fuzz.log" >&2
  exit 2
}

stats=$build/findings/default/fuzzer_stats
value() { awk -F' *: *' -v key="$1" '$1 == key { print $2 }' "$stats"; }
crashes=$(value saved_crashes)
hangs=$(value saved_hangs)
echo "fuzz/run.sh: ${seconds}s, $(value execs_done) runs ($(value execs_per_sec)/s), \
$(value corpus_count) inputs in the corpus, $(value bitmap_cvg) coverage"
echo "fuzz/run.sh: ${crashes:-0} crashes, ${hangs:-0} hangs"
for kind in crashes hangs; do
  for f in "$build"/findings/default/"$kind"/id:*; do
    [[ -e $f ]] && echo "  $kind: $f"
  done
done
if [[ ${crashes:-0} != 0 || ${hangs:-0} != 0 ]]; then
  exit 1
fi
