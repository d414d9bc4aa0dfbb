#!/usr/bin/env bash
# Builds the linux variant and runs every ctest test (API tests once per
# backend, ABI, install, e2e). Last line: "ctest-linux: N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
name=ctest-linux
dir=$root/build/linux
if ! bash "$root/scripts/build.sh" linux; then
  echo "$name: build failed"
  echo "$name: 0 passed, 1 failed"
  exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ctest --test-dir "$dir" -j2 --output-on-failure 2>&1 | tee "$log"
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
