#!/usr/bin/env bash
# libFuzzer on the framing decoders (clang): a bounded run that fails on any
# disagreement with the reference decoder, crash, leak or UB.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/fuzz
mkdir -p "$out/corpus"
secs=${IOCPNET_FUZZ_SECONDS:-60}
if ! clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
     -I"$root/include" -I"$root/dll" "$root/tests/fuzz/framing_fuzz.cpp" -o "$out/framing_fuzz"; then
  echo "fuzz: 0 passed, 1 failed"; exit 1
fi
if "$out/framing_fuzz" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 "$out/corpus" 2>"$out/fuzz.log"; then
  grep -E "^Done|stat::number_of_executed_units" "$out/fuzz.log" | tail -2
  echo "fuzz: 1 passed, 0 failed"
else
  tail -n 40 "$out/fuzz.log"
  echo "fuzz: 0 passed, 1 failed"; exit 1
fi
