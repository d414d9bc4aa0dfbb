#!/usr/bin/env bash
# Java binding: builds the engine (scripts/build.sh linux) and the jar
# (bindings/java/build.sh), runs the JUnit 5 tests through Debian's console
# launcher, a program with only the jar on its class path, the
# -Diocpnet.library.path override, and ChatClient against the C chat server.
# Last line: "java: N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
name=java
out=$root/build/java
junit=/usr/share/java/junit-platform-console-standalone.jar
passed=0 failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }
finish() { echo "$name: $passed passed, $failed failed"; [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; exit; }

if ! bash "$root/scripts/build.sh" linux; then fail "engine build"; finish; fi
if ! bash "$root/bindings/java/build.sh"; then fail "java build"; finish; fi
# With the Windows build present (scripts/suites/40-wine.sh made it), the jar
# also carries native/windows-x86_64/iocpnet_jni.dll, checked under Wine.
if [ -f "$root/build/mingw/libiocpnet_internal.a" ]; then
  if bash "$root/bindings/java/build-mingw.sh" && bash "$root/bindings/java/build.sh" &&
     jar tf "$(ls "$out"/iocpnet-*.jar)" | grep -q "native/windows-x86_64/iocpnet_jni.dll"; then
    pass "Windows JNI library built, loads under Wine, packed in the jar"
  else
    fail "Windows JNI library (bindings/java/build-mingw.sh)"
  fi
fi
jar=$(ls "$out"/iocpnet-*.jar)
[ -f "$junit" ] || { fail "no $junit (apt-get install junit5)"; finish; }

# 1. JUnit: one pass or fail per test, from the launcher's summary.
log=$(mktemp)
tmp=$(mktemp -d)
trap 'rm -rf "$log" "$tmp"' EXIT
timeout 900 java -jar "$junit" --class-path "$jar:$out/test-classes" --select-package org.iocpnet \
    --disable-banner --disable-ansi-colors --details=tree --reports-dir "$out/junit-reports" 2>&1 | tee "$log"
ok=$(sed -nE 's/^\[ *([0-9]+) tests successful *\]$/\1/p' "$log" | tail -n 1)
bad=$(sed -nE 's/^\[ *([0-9]+) tests failed *\]$/\1/p' "$log" | tail -n 1)
aborted=$(sed -nE 's/^\[ *([0-9]+) tests aborted *\]$/\1/p' "$log" | tail -n 1)
if [ -n "$ok" ] && [ -n "$bad" ]; then
  passed=$((passed + ok)); failed=$((failed + bad + ${aborted:-0}))
  [ "$ok" -gt 0 ] || fail "JUnit found no tests"
else
  fail "JUnit: no summary (the launcher or the JVM crashed)"
fi

# 2. Only the jar (copied elsewhere) on the class path: no java.library.path,
# no LD_LIBRARY_PATH, nothing from build/: the loader extracts the library.
mkdir -p "$tmp/app"
cp "$jar" "$tmp/app/"
javac -d "$tmp/app" -cp "$tmp/app/$(basename "$jar")" "$root/bindings/java/test/JarOnlyEcho.java"
if (cd "$tmp/app" && env -u LD_LIBRARY_PATH timeout 60 java -cp "$(basename "$jar"):." JarOnlyEcho) | tee "$log" &&
   grep -q '^echo ok' "$log"; then
  pass "jar-only echo round trip"
else
  fail "jar-only echo round trip"
fi

# 3. -Diocpnet.library.path wins over the jar: a wrong directory fails to load,
# the build's directory works.
if (cd "$tmp/app" && timeout 60 java -Diocpnet.library.path="$tmp/nowhere" -cp "$(basename "$jar"):." JarOnlyEcho) \
       >"$log" 2>&1; then
  fail "iocpnet.library.path override (a missing directory still loaded)"
elif ! grep -q "$tmp/nowhere" "$log"; then
  cat "$log"; fail "iocpnet.library.path override (no error naming the directory)"
elif (cd "$tmp/app" && timeout 60 java -Diocpnet.library.path="$out/native/linux-x86_64" -cp "$(basename "$jar"):." JarOnlyEcho) |
       grep -q '^echo ok'; then
  pass "iocpnet.library.path override"
else
  fail "iocpnet.library.path override (the build's directory did not work)"
fi

# 4. ChatClient (jar only) against the C chat server.
if timeout 120 java -cp "$out/test-classes" ChatE2E "$root/build/linux/samples/chat_server" "$jar:$out/test-classes" |
     tee "$log" && grep -q '^chat e2e ok' "$log"; then
  pass "ChatClient against chat_server"
else
  fail "ChatClient against chat_server"
fi
finish
