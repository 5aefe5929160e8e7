#!/usr/bin/env bash
# Runs one ctest entry of a sanitizer build (-DDATAFIX_SANITIZE=...) and fails it when any process
# the test started wrote a sanitizer report: the test binary, but also the datafix servers and CLI
# commands it spawned and the server's guard worker, whose failures a test may not see (a CLI error
# path expects a non-zero exit, a server is stopped at the end of a test and its exit status is not
# read, a crashed worker is reported as a refused change).
#
#   tests/sanitizers/run_test.sh REPORT_DIR COMMAND [ARG...]
#
# Every report goes to REPORT_DIR/<sanitizer>.<pid> rather than to a stderr the test may capture
# and throw away; the directory is emptied first, and its reports are printed at the end.
# Suppressions for findings in third-party libraries only are in this folder, each with its reason.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: run_test.sh REPORT_DIR COMMAND [ARG...]}
shift
rm -rf "$dir"
mkdir -p "$dir"
# Processes the tests start as another OS user (PostgreSQL's) write here too.
chmod 1777 "$dir"

# halt_on_error: the first finding ends the process (the build also has -fno-sanitize-recover).
# Options already in the environment come last, so they can add to these.
export ASAN_OPTIONS="log_path=$dir/asan:halt_on_error=1:detect_leaks=1:strict_init_order=1:check_initialization_order=1:suppressions=$here/asan.supp${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="log_path=$dir/ubsan:halt_on_error=1:print_stacktrace=1:suppressions=$here/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export TSAN_OPTIONS="log_path=$dir/tsan:halt_on_error=1:second_deadlock_stack=1:suppressions=$here/tsan.supp${TSAN_OPTIONS:+:$TSAN_OPTIONS}"

"$@"
status=$?

shopt -s nullglob
reports=("$dir"/asan.* "$dir"/ubsan.* "$dir"/tsan.*)
if ((${#reports[@]} > 0)); then
  for report in "${reports[@]}"; do
    echo "==== sanitizer report $(basename "$report") ===="
    cat "$report"
  done
  echo "FAILED: ${#reports[@]} sanitizer report(s) from the processes of this test (in $dir)" >&2
  ((status != 0)) || status=1
fi
exit "$status"
