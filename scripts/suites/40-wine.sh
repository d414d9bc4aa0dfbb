#!/usr/bin/env bash
# Windows under Wine: cross-builds the mingw variant (iocpnet.dll, tests and
# samples as .exe; the first build on a fresh tree also cross-builds OpenSSL
# into build/deps, see scripts/openssl-mingw.sh), prepares a private Wine
# prefix, and runs that build's ctest tests: the API suite on the IOCP
# backend (TLS included, with the host's openssl as peer), the backend
# contract, the DLL export/ABI checks, the e2e tests of the .exe samples
# (Linux Python clients over loopback) and the WebSocket interop of
# ws_peer.exe with the host's node + npm ws. Last line: "wine: N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
name=wine
dir=$root/build/mingw
if ! command -v x86_64-w64-mingw32-g++-posix >/dev/null || ! command -v wine >/dev/null; then
  echo "$name: mingw-w64 (posix) or wine is not installed (scripts/setup.sh installs them)"
  echo "$name: 0 passed, 1 failed"
  exit 1
fi
export WINEPREFIX=$dir/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
# The prefix once, before the build: catch_discover_tests already runs the
# test .exe files under Wine to list their cases.
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  mkdir -p "$dir"
  echo "$name: creating the Wine prefix $WINEPREFIX"
  wineboot -i >/dev/null 2>&1
  wineserver -w
fi
if ! bash "$root/scripts/build.sh" mingw; then
  echo "$name: build failed"
  echo "$name: 0 passed, 1 failed"
  exit 1
fi
# catch_discover_tests lists the API cases by running api_tests.exe under
# Wine; if that fails (e.g. a DLL it needs is missing) the suite would be
# silently empty.
napi=$(ctest --test-dir "$dir" -N -L api | sed -n 's/^Total Tests: //p')
if [ "${napi:-0}" -eq 0 ]; then
  echo "$name: no API tests registered (api_tests.exe did not list its cases under Wine)"
  echo "$name: 0 passed, 1 failed"
  exit 1
fi
# One wineserver for the whole run, kept alive until the end (-p without a
# delay: forever). A server left by the build (catch_discover_tests) would
# exit 3 s after its last program, and a program that starts just as it
# exits dies silently with status 0 before main (Wine's client ends when the
# server's connection closes). "wineserver -p" does not change a running
# server's delay, so that one is stopped first. The services are started by
# a program whose output goes nowhere (they inherit the first program's
# stdout, which ctest would wait on).
wineserver -k >/dev/null 2>&1 || true
wineserver -w >/dev/null 2>&1 || true
if ! wineserver -p >/dev/null 2>&1; then
  echo "$name: could not start a persistent wineserver"
  echo "$name: 0 passed, 1 failed"
  exit 1
fi
wine cmd.exe /c exit </dev/null >/dev/null 2>&1 || true
source "$root/scripts/wine-server.sh"
server=$(wine_server_pid)
source "$root/scripts/ctest-suite.sh"
run_ctest_suite "$dir" --timeout 120
status=$?
# A replaced server means some program may have lost its server mid-run.
if [ -z "$server" ] || [ "$(wine_server_pid)" != "$server" ]; then
  echo "$name: the wineserver (pid ${server:-none}) did not last the whole run"
  echo "$name: $suite_passed passed, $((suite_failed + 1)) failed"
  status=1
fi
wineserver -k >/dev/null 2>&1 || true
exit $status
