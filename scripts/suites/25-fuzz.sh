#!/usr/bin/env bash
# libFuzzer on the framing decoders (clang): a bounded run that fails on any
# disagreement with the reference decoder, crash, leak or UB.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/fuzz
mkdir -p "$out/corpus"
secs=${IOCPNET_FUZZ_SECONDS:-60}
# target: name, then its sources. ws_fuzz: the WebSocket handshake parser
# and frame decoder (dll/ws), whole against cut streams.
passed=0 failed=0
fuzz_one() {
  local name=$1; shift
  mkdir -p "$out/corpus-$name"
  if ! clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
       -I"$root/include" -I"$root/dll" "$@" -o "$out/$name"; then
    failed=$((failed + 1)); return
  fi
  # -malloc_limit_mb: an allocation sized from an announced length fails the run.
  if "$out/$name" -max_total_time="$secs" -max_len=4096 -malloc_limit_mb=256 -print_final_stats=1 \
       "$out/corpus-$name" 2>"$out/$name.log"; then
    grep -E "^Done|stat::number_of_executed_units" "$out/$name.log" | tail -2
    passed=$((passed + 1))
  else
    tail -n 40 "$out/$name.log"
    failed=$((failed + 1))
  fi
}
fuzz_one framing_fuzz "$root/tests/fuzz/framing_fuzz.cpp"
fuzz_one ws_fuzz "$root/tests/fuzz/ws_fuzz.cpp" "$root"/dll/ws/*.cpp "$root/dll/errors.cpp"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
