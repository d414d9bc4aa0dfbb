#!/usr/bin/env bash
# The stateful API fuzzer (tests/stress/api_fuzzer.cpp) under ASan + UBSan:
# builds it in the asan variant and runs it for a bounded time once per
# Linux backend (io_uring, epoll). Each run is one pass or one failure; a
# failure prints the seed to replay it with. Time per backend:
# IOCPNET_STRESS_SECONDS (default 60). Last line: "stress: N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
name=stress
dir=$root/build/asan
secs=${IOCPNET_STRESS_SECONDS:-45}
if ! bash "$root/scripts/build.sh" asan api_fuzzer; then
  echo "$name: build failed"
  echo "$name: 0 passed, 1 failed"
  exit 1
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}
logdir=$root/build/test-logs/stress
mkdir -p "$logdir"
passed=0 failed=0
source "$root/scripts/fuzzer-run.sh"
for backend in io_uring epoll; do
  if run_api_fuzzer "api_fuzzer" "$dir/tests/stress/api_fuzzer" "$backend" "$secs" "$logdir/api_fuzzer-$backend.log"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "$name: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
