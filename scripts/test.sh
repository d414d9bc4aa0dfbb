#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite in
# scripts/suites/ (in name order). Each suite prints, as its last line,
# "<suite>: N passed, M failed". This script ends with the totals.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh" || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
logdir=$root/build/test-logs
mkdir -p "$logdir"
total_pass=0 total_fail=0
for suite in "$root"/scripts/suites/*.sh; do
  name=$(basename "$suite" .sh)
  echo "=== $name"
  start=$(date +%s)
  bash "$suite" 2>&1 | tee "$logdir/$name.log"
  last=$(grep -E '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed' "$logdir/$name.log" | tail -n 1)
  if [[ $last =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
  else
    p=0 f=1; echo "$name: no result line (crashed or did not build)"
  fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  echo "=== $name: $p passed, $f failed in $(( $(date +%s) - start ))s"
done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
