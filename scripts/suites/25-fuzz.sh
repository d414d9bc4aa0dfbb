#!/usr/bin/env bash
# libFuzzer on the framing decoders (clang): a bounded run that fails on any
# disagreement with the reference decoder, crash, leak or UB. Then libFuzzer
# on the WebSocket session (handshake parser and frame decoder, whole against
# cut streams) and on the server side of the TLS layer (tests/fuzz/tls_fuzz.cpp):
# random bytes as a hostile client's handshake and records; no crash, leak or
# UB (IOCPNET_TLS_FUZZ_SECONDS, default 30).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/fuzz
mkdir -p "$out/corpus"
secs=${IOCPNET_FUZZ_SECONDS:-30}
tls_secs=${IOCPNET_TLS_FUZZ_SECONDS:-20}
# target: name, seconds, -max_len, then its sources (and libraries).
passed=0 failed=0
fuzz_one() {
  local name=$1 t=$2 maxlen=$3; shift 3
  mkdir -p "$out/corpus-$name"
  if ! clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
       -I"$root/include" -I"$root/dll" "$@" -o "$out/$name"; then
    failed=$((failed + 1)); return
  fi
  # -malloc_limit_mb: an allocation sized from an announced length fails the run.
  if "$out/$name" -max_total_time="$t" -max_len="$maxlen" -malloc_limit_mb=256 -print_final_stats=1 \
       "$out/corpus-$name" 2>"$out/$name.log"; then
    grep -E "^Done|stat::number_of_executed_units" "$out/$name.log" | tail -2
    passed=$((passed + 1))
  else
    tail -n 40 "$out/$name.log"
    failed=$((failed + 1))
  fi
}
fuzz_one framing_fuzz "$secs" 4096 "$root/tests/fuzz/framing_fuzz.cpp" "$root/dll/bytebuf.cpp"
fuzz_one ws_fuzz "$secs" 4096 "$root/tests/fuzz/ws_fuzz.cpp" "$root"/dll/ws/*.cpp "$root/dll/errors.cpp"
fuzz_one tls_fuzz "$tls_secs" 8192 "$root/tests/fuzz/tls_fuzz.cpp" "$root/dll/tls/tls_openssl.cpp" \
  "$root/dll/sendq.cpp" "$root/dll/errors.cpp" -lssl -lcrypto
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
