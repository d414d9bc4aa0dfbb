#!/usr/bin/env bash
# ThreadSanitizer: builds the tsan variant (only the library, api_tests and
# the API fuzzer) and runs, under TSan, the API suite (ctest label "api":
# every case once per backend) and the API fuzzer for a bounded time once
# per backend (IOCPNET_TSAN_FUZZ_SECONDS, default 20). Any data race, lock
# order inversion or misuse fails the test that showed it. Suppressions
# (tests/stress/tsan.supp) only name code outside the engine, each with its
# reason. Last line: "tsan: N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
name=tsan
dir=$root/build/tsan
secs=${IOCPNET_TSAN_FUZZ_SECONDS:-20}
if ! bash "$root/scripts/build.sh" tsan iocpnet api_tests api_fuzzer; then
  echo "$name: build failed"
  echo "$name: 0 passed, 1 failed"
  exit 1
fi
# halt_on_error: the first report fails the test; second_deadlock_stack:
# both stacks of a lock-order inversion; exitcode 66 tells a TSan report
# apart from a test failure in the logs.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 exitcode=66 history_size=4 suppressions=$root/tests/stress/tsan.supp${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
passed=0 failed=0

logdir=$root/build/test-logs/tsan
mkdir -p "$logdir"

# 1. The API suite, both backends (ctest registers every case per backend).
source "$root/scripts/ctest-suite.sh"
# The send-queue memory-bound tests compare RSS with the bytes queued, and
# TSan's shadow memory is RSS here: they run in the regular build only.
name=tsan-api run_ctest_suite "$dir" -L api -E "send queue memory bound" 2>&1 | tee "$logdir/api.log"
summary=$(tail -n 1 "$logdir/api.log")
if [[ $summary =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
  passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
else
  failed=$((failed + 1))
fi

# 2. The API fuzzer, bounded, both backends.
source "$root/scripts/fuzzer-run.sh"
for backend in io_uring epoll; do
  if run_api_fuzzer "api_fuzzer under TSan" "$dir/tests/stress/api_fuzzer" "$backend" "$secs" "$logdir/api_fuzzer-$backend.log"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "$name: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
