#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds and runs a
# small C program against it twice: with CMake's find_package(iocpnet) and
# with pkg-config. Usage: install_test.sh BUILD_DIR [CMAKE] [C_COMPILER]
set -euo pipefail
build=$1
cmake=${2:-cmake}
cc=${3:-cc}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/iocpnet-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

echo "== cmake --install $build --prefix $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }
find "$prefix" -type f -o -type l | sed "s|$prefix/||" | sort

libdir=$(dirname "$(find "$prefix" -name 'libiocpnet.so.1' | head -n 1)")
[ -n "$libdir" ] && [ -e "$libdir/libiocpnet.so.1" ] || { echo "FAIL: libiocpnet.so.1 not installed"; exit 1; }
[ -e "$prefix/include/iocpnet/iocpnet.h" ] || { echo "FAIL: include/iocpnet/iocpnet.h not installed"; exit 1; }

echo "== find_package(iocpnet)"
"$cmake" -S "$here/consumer" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" >"$tmp/cfg.log" 2>&1 \
  || { cat "$tmp/cfg.log"; echo "FAIL: find_package(iocpnet) configure"; exit 1; }
"$cmake" --build "$tmp/cmake-build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; echo "FAIL: cmake build"; exit 1; }
LD_LIBRARY_PATH="$libdir" timeout 60 "$tmp/cmake-build/consumer" || { echo "FAIL: consumer built with CMake"; exit 1; }

echo "== pkg-config iocpnet"
pcdir=$(dirname "$(find "$prefix" -name iocpnet.pc | head -n 1)")
[ -f "$pcdir/iocpnet.pc" ] || { echo "FAIL: iocpnet.pc not installed"; exit 1; }
flags=$(PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_LIBDIR="$pcdir" pkg-config --cflags --libs iocpnet)
echo "pkg-config --cflags --libs iocpnet: $flags"
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -Werror -o "$tmp/consumer-pc" "$here/consumer/consumer.c" $flags \
  || { echo "FAIL: build with pkg-config flags (is iocpnet.pc relocatable? its prefix must follow the install prefix)"; exit 1; }
LD_LIBRARY_PATH="$libdir" timeout 60 "$tmp/consumer-pc" || { echo "FAIL: consumer built with pkg-config"; exit 1; }
echo "install test: OK"
