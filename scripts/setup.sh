#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks for building and testing iocpnet.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config python3 liburing-dev libssl-dev openssl catch2 swig libuv1-dev libasio-dev
      g++-mingw-w64-x86-64 wine wine64 junit5 clang libclang-rt-14-dev libtsan2 default-jdk-headless
      python3-matplotlib redis-server libhiredis-dev netcat-openbsd)
pkgs+=(haproxy) # bench/proxy_bench.py: the proxy scenario's reference
pkgs+=(nodejs chromium) # WebSocket interop (npm) and the browser test
pkgs+=(dpkg-dev) # apt-get source openssl: scripts/openssl-mingw.sh (OpenSSL for iocpnet.dll)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# npm comes with the image's Node.js 20; Debian's own nodejs (18) has it as a
# separate package, which would conflict with the former: only if missing.
if ! command -v npm >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends npm
fi
