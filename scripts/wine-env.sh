#!/usr/bin/env bash
# Runs a Windows program under Wine with a private prefix: the emulator that
# cmake/mingw-w64.cmake gives ctest and catch_discover_tests, and the "wine"
# prefix for the e2e tests.  Usage: wine-env.sh prog.exe [args...]
# WINEPREFIX defaults to <build>/wineprefix, <build> being the first folder
# above prog.exe that holds CMakeCache.txt. The prefix is made once (wineboot),
# under a lock because ctest may start several tests at once.
set -euo pipefail
exe=${1:?usage: wine-env.sh prog.exe [args...]}
build=$(cd "$(dirname "$exe")" && pwd)
while [ "$build" != / ] && [ ! -f "$build/CMakeCache.txt" ]; do build=$(dirname "$build"); done
[ -f "$build/CMakeCache.txt" ] || build=$(cd "$(dirname "$exe")" && pwd)
export WINEPREFIX=${WINEPREFIX:-$build/wineprefix}
export WINEDEBUG=${WINEDEBUG:--all}
# No Mono/Gecko download prompts in a fresh prefix.
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=}
# iocpnet.dll is built at the top of the build folder.
export WINEPATH="Z:${build}${WINEPATH:+;$WINEPATH}"
wine=$(command -v wine64 || command -v wine)
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  mkdir -p "$(dirname "$WINEPREFIX")"
  (
    flock 9
    if [ ! -f "$WINEPREFIX/system.reg" ]; then
      "$(dirname "$wine")/wineboot" -i >/dev/null 2>&1 || true
      # wineboot returns before the registry is flushed; wait for the server.
      wineserver -w || true
    fi
  ) 9>"$WINEPREFIX.lock"
fi
# The first program of a Wine session starts the session's services
# (services.exe, winedevice.exe, ...), and they inherit its stdout/stderr:
# ctest or a Python pipe reading that program would then wait for them until
# its timeout. So when no wineserver runs for this prefix (its cwd is
# server-<dev>-<inode> of the prefix), open the session with a no-op whose
# output goes nowhere.
key=$(printf 'server-%x-%x' "$(stat -c %d "$WINEPREFIX")" "$(stat -c %i "$WINEPREFIX")")
running=
for p in $(pgrep -u "$(id -u)" wineserver 2>/dev/null); do
  case $(readlink "/proc/$p/cwd" 2>/dev/null) in */"$key") running=1 ;; esac
done
[ -n "$running" ] || "$wine" cmd.exe /c exit </dev/null >/dev/null 2>&1 || true
exec "$wine" "$@"
