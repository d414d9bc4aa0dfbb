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
source "$root/scripts/ctest-suite.sh"
# The send-queue memory-bound tests compare RSS with the bytes queued; ASan's
# redzones and its quarantine of freed blocks are part of RSS here, so they
# run in the regular build (10-ctest-linux) only.
run_ctest_suite "$dir" -LE no_asan -E "send queue memory bound"
