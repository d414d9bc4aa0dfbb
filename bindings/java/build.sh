#!/usr/bin/env bash
# Builds the Java binding into build/java/ from the engine in build/linux/
# (run scripts/build.sh linux first):
#   gen/                 SWIG output (JNI wrapper + generated Java classes)
#   native/linux-x86_64/ libiocpnet_jni.so (engine linked in statically)
#   iocpnet-VERSION.jar  classes + native/ (self-contained)
#   test-classes/        JUnit tests, samples and benchmarks compiled against the jar
# bindings/java/build-mingw.sh (optional) adds native/windows-x86_64/iocpnet_jni.dll.
# Options: --nodetach also builds build/java/nodetach/libiocpnet_jni.so without
# SWIG_JAVA_DETACH_ON_THREAD_END (for bench/java/CallbackBench).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
src=$root/bindings/java
out=$root/build/java
engine=$root/build/linux/libiocpnet_internal.a
version=$(sed -n 's/^project(iocpnet VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
jar=$out/iocpnet-$version.jar
junit=/usr/share/java/junit-platform-console-standalone.jar

[ -f "$engine" ] || { echo "java build: $engine missing (run scripts/build.sh linux)" >&2; exit 1; }
javac_bin=$(readlink -f "$(command -v javac)")
java_home=${JAVA_HOME:-$(dirname "$(dirname "$javac_bin")")}
[ -f "$java_home/include/jni.h" ] || { echo "java build: no jni.h under $java_home" >&2; exit 1; }

mkdir -p "$out/gen/org/iocpnet" "$out/native/linux-x86_64" "$out/classes" "$out/test-classes"

# 1. SWIG: the JNI layer (C++) and the package-private Java classes.
rm -f "$out"/gen/org/iocpnet/*.java
swig -c++ -java -package org.iocpnet -outdir "$out/gen/org/iocpnet" -o "$out/gen/iocpnet_java_wrap.cxx" \
     -I"$root/include" -I"$src" "$src/iocpnet_java.i"

# 2. The JNI library. The engine comes from its static archive (the objects
# libiocpnet.so is made of) and liburing, OpenSSL (the TLS layer) and
# libstdc++ are linked statically, so the one file in the jar needs nothing
# but glibc: no second library to extract, no rpath, no clash with another
# copy of iocpnet or OpenSSL (jni.map keeps their symbols hidden).
jni_lib() { # $1 = output, $2.. = extra flags
    local o=$1; shift
    g++ -std=c++17 -O2 -g -fPIC -shared -fvisibility=hidden -fno-strict-aliasing -Wall -Wno-unused-parameter \
        -DSWIG_JAVA_ATTACH_CURRENT_THREAD_AS_DAEMON "$@" \
        -I"$java_home/include" -I"$java_home/include/linux" -I"$root/include" -I"$src" \
        "$out/gen/iocpnet_java_wrap.cxx" "$src/glue.cpp" "$src/glue_tls_ws.cpp" "$src/recv_view.cpp" "$engine" \
        -Wl,-Bstatic -luring -lssl -lcrypto -Wl,-Bdynamic -static-libstdc++ -static-libgcc -pthread \
        -Wl,--version-script="$src/jni.map" -Wl,--no-undefined -o "$o"
}
jni_lib "$out/native/linux-x86_64/libiocpnet_jni.so" -DSWIG_JAVA_DETACH_ON_THREAD_END
if [ "${1:-}" = --nodetach ]; then
    mkdir -p "$out/nodetach"
    jni_lib "$out/nodetach/libiocpnet_jni.so"
fi

# 3. Classes and the jar.
rm -rf "$out/classes" && mkdir -p "$out/classes/native/linux-x86_64"
javac -nowarn -Xlint:-removal -d "$out/classes" "$out"/gen/org/iocpnet/*.java "$src"/src/org/iocpnet/*.java
cp "$out/native/linux-x86_64/libiocpnet_jni.so" "$out/classes/native/linux-x86_64/"
# The Windows JNI library (bindings/java/build-mingw.sh) goes in only when it
# was built from the current glue: a stale one would miss JNI entry points.
win=$out/native/windows-x86_64/iocpnet_jni.dll
if [ -f "$win" ]; then
    if [ -z "$(find "$src/glue.cpp" "$src/glue_tls_ws.cpp" "$src/recv_view.cpp" "$src/glue.hpp" "$src/iocpnet_java.i" -newer "$win")" ]; then
        mkdir -p "$out/classes/native/windows-x86_64"
        cp "$win" "$out/classes/native/windows-x86_64/"
    else
        echo "java build: $win is older than the glue: not packed (rerun build-mingw.sh)" >&2
    fi
fi
rm -f "$out"/iocpnet-*.jar
jar --create --file "$jar" -C "$out/classes" .

# 4. Tests, sample and benchmarks, against the jar only.
rm -rf "$out/test-classes" && mkdir -p "$out/test-classes"
[ -n "${NO_TESTS:-}" ] || javac -d "$out/test-classes" -cp "$jar:$junit" \
      "$src"/test/org/iocpnet/*.java "$src"/test/*.java "$root"/samples/java/*.java "$root"/bench/java/*.java
echo "java build: $jar"
