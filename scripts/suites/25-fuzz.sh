#!/usr/bin/env bash
# libFuzzer on the framing decoders (clang): a bounded run that fails on any
# disagreement with the reference decoder, crash, leak or UB. Then libFuzzer
# on the server side of the TLS layer (tests/fuzz/tls_fuzz.cpp): random bytes
# as a hostile client's handshake and records; no crash, leak or UB
# (IOCPNET_TLS_FUZZ_SECONDS, default 30).
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
  passed=1 failed=0
else
  tail -n 40 "$out/fuzz.log"
  passed=0 failed=1
fi

tls_secs=${IOCPNET_TLS_FUZZ_SECONDS:-30}
mkdir -p "$out/tls-corpus"
if clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
     -I"$root/include" -I"$root/dll" "$root/tests/fuzz/tls_fuzz.cpp" "$root/dll/tls/tls_openssl.cpp" \
     "$root/dll/sendq.cpp" "$root/dll/errors.cpp" -lssl -lcrypto -o "$out/tls_fuzz" &&
   "$out/tls_fuzz" -max_total_time="$tls_secs" -max_len=8192 -print_final_stats=1 "$out/tls-corpus" 2>"$out/tls_fuzz.log"; then
  grep -E "^Done|stat::number_of_executed_units" "$out/tls_fuzz.log" | tail -2
  passed=$((passed + 1))
else
  tail -n 40 "$out/tls_fuzz.log" 2>/dev/null
  failed=$((failed + 1))
fi
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
