# Sourced by the suites that run the API fuzzer (30-stress, 35-tsan):
# run_api_fuzzer LABEL EXE BACKEND SECONDS LOG runs it once, bounded, prints
# PASS/FAIL with its summary or its report (the seed line to replay first),
# and returns its status.
run_api_fuzzer() {
  local label=$1 exe=$2 backend=$3 secs=$4 log=$5 st took start
  start=$(date +%s)
  # The fuzzer's own watchdog reports hangs; timeout(1) only guards against
  # a hang it cannot see (e.g. at exit).
  IOCPNET_BACKEND=$backend timeout --signal=KILL $((secs + 120)) "$exe" --seconds "$secs" >"$log" 2>&1
  st=$?
  took=$(( $(date +%s) - start ))
  if [ $st = 0 ]; then
    echo "PASS $label [$backend] in ${took}s"
    grep -E '^api_fuzzer: ' "$log" | sed 's/^/    /'
    return 0
  fi
  echo "FAIL $label [$backend] (exit $st$([ $st = 66 ] && echo ": ThreadSanitizer report")) in ${took}s; full log: $log"
  [ "$(wc -l <"$log")" -gt 60 ] && head -n 1 "$log" | sed 's/^/    /'
  if grep -q 'WARNING: ThreadSanitizer' "$log"; then
    sed -n '/WARNING: ThreadSanitizer/,/^SUMMARY: ThreadSanitizer/p' "$log" | head -n 80 | sed 's/^/    /'
  else
    tail -n 60 "$log" | sed 's/^/    /'
  fi
  return 1
}
