#!/usr/bin/env bash
# Cross-builds build/java/native/windows-x86_64/iocpnet_jni.dll with mingw-w64
# from the engine in build/mingw/ (run scripts/build.sh mingw first), then
# checks under Wine that it loads alone and its engine answers. Run
# bindings/java/build.sh afterwards: it packs the DLL into the jar.
# Not verified in a Windows JVM (none here).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
src=$root/bindings/java
out=$root/build/java
engine=$root/build/mingw/libiocpnet_internal.a
# The engine's TLS provider: OpenSSL cross-built by scripts/openssl-mingw.sh
# (scripts/build.sh mingw runs it), linked statically like the engine.
ossl=$root/build/deps/openssl-mingw/lib
cxx=x86_64-w64-mingw32-g++-posix
[ -f "$engine" ] || { echo "java mingw: $engine missing (run scripts/build.sh mingw)" >&2; exit 1; }
[ -f "$ossl/libssl.a" ] || { echo "java mingw: $ossl/libssl.a missing (run scripts/build.sh mingw)" >&2; exit 1; }
[ -f "$out/gen/iocpnet_java_wrap.cxx" ] || { echo "java mingw: run bindings/java/build.sh first (SWIG output)" >&2; exit 1; }
java_home=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}
dll=$out/native/windows-x86_64/iocpnet_jni.dll
mkdir -p "$(dirname "$dll")" "$out/mingw-check"
# jni.h is platform-neutral; win32/ supplies the Windows jni_md.h. The engine,
# libstdc++, libgcc and winpthread are linked in: the DLL needs only system DLLs.
$cxx -std=c++17 -O2 -shared -fno-strict-aliasing -Wall -Wno-unused-parameter \
    -DSWIG_JAVA_DETACH_ON_THREAD_END -DSWIG_JAVA_ATTACH_CURRENT_THREAD_AS_DAEMON -DIOCPNET_STATIC \
    -I"$src/win32" -I"$java_home/include" -I"$root/include" -I"$src" \
    "$out/gen/iocpnet_java_wrap.cxx" "$src/glue.cpp" "$src/glue_tls_ws.cpp" "$src/recv_view.cpp" "$engine" \
    "$ossl/libssl.a" "$ossl/libcrypto.a" -lws2_32 -lmswsock -lcrypt32 -lbcrypt -ladvapi32 -luser32 -lgdi32 \
    -static-libgcc -static-libstdc++ -static -Wl,--no-undefined -o "$dll"
x86_64-w64-mingw32-gcc-posix -O2 -o "$out/mingw-check/load_check.exe" "$src/win32/load_check.c" -static
cp "$dll" "$out/mingw-check/"
if command -v wine64 >/dev/null || command -v wine >/dev/null; then
    # the Wine suite's prefix when there is one: creating a prefix takes a minute
    if [ -f "$root/build/mingw/wineprefix/system.reg" ]; then export WINEPREFIX=$root/build/mingw/wineprefix
    else export WINEPREFIX=$out/mingw-check/wineprefix; fi
    export WINEDEBUG=-all
    (cd "$out/mingw-check" && timeout 300 "$(command -v wine64 || command -v wine)" load_check.exe iocpnet_jni.dll)
fi
echo "java mingw: $dll"
