# Sourced by the ctest-based suites: runs ctest in build dir $1 with the
# remaining arguments, then prints "$name: N passed, M failed" from ctest's
# summary and returns non-zero unless everything passed. The counts stay in
# suite_passed and suite_failed for a suite that checks more afterwards.
run_ctest_suite() {
  local dir=$1; shift
  local log line passed failed total
  log=$(mktemp)
  ctest --test-dir "$dir" -j2 --output-on-failure "$@" 2>&1 | tee "$log"
  line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
  rm -f "$log"
  if [[ $line =~ ([0-9]+)%\ tests\ passed,\ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
    failed=${BASH_REMATCH[2]} total=${BASH_REMATCH[3]}
    passed=$((total - failed))
  else
    echo "$name: no ctest summary (no tests found, or ctest crashed)"
    passed=0 failed=1
  fi
  echo "$name: $passed passed, $failed failed"
  suite_passed=$passed suite_failed=$failed
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}
