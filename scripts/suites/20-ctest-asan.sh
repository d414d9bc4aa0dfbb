#!/usr/bin/env bash
# Builds the asan variant (ASan + UBSan, Debug) and runs the ctest tests with
# leak detection; tests labelled no_asan (install, Python-driven e2e that
# cannot run an instrumented build) are left out.
# Last line: "ctest-asan: N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
name=ctest-asan
dir=$root/build/asan
if ! bash "$root/scripts/build.sh" asan; then
  echo "$name: build failed"
  echo "$name: 0 passed, 1 failed"
  exit 1
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}
export LSAN_OPTIONS=${LSAN_OPTIONS:-}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ctest --test-dir "$dir" -j2 --output-on-failure -LE no_asan 2>&1 | tee "$log"
line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
if [[ $line =~ ([0-9]+)%\ tests\ passed,\ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
  failed=${BASH_REMATCH[2]} total=${BASH_REMATCH[3]}
  passed=$((total - failed))
else
  echo "$name: no ctest summary (no tests found, or ctest crashed)"
  passed=0 failed=1
fi
echo "$name: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
