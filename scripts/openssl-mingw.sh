#!/usr/bin/env bash
# Cross-builds OpenSSL's static libraries (libcrypto.a, libssl.a) for 64-bit
# Windows with mingw-w64 from Debian's own source package, for the TLS
# provider of iocpnet.dll (dll/tls/tls_openssl.cpp, linked statically so the
# DLL still imports only system DLLs). Called by scripts/build.sh mingw.
#
#   build/deps/openssl-mingw/{include,lib}   the result (the cache: when both
#                                             libraries are there, nothing runs)
#   build/deps/src/                           the unpacked source and its build
#
# The source comes from `apt-get source openssl` (a deb-src entry for the
# configured Debian suites is added when apt has none: the same mirrors and
# suites as the deb entries, so the source matches the installed openssl).
# Everything TLS 1.2/1.3 with common cipher suites does not need is
# configured out: a fresh clone (CI) builds it once, on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deps=$root/build/deps
out=$deps/openssl-mingw
if [ -f "$out/lib/libssl.a" ] && [ -f "$out/lib/libcrypto.a" ] && [ -f "$out/include/openssl/ssl.h" ]; then
  exit 0
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
log() { echo "openssl-mingw: $*" >&2; }

# ---- the source ----------------------------------------------------------
src=$(ls -d "$deps"/src/openssl-[0-9]*/ 2>/dev/null | head -n 1 || true)
if [ -z "$src" ]; then
  if ! grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # deb-src twins of the Debian deb entries: deb822 files (Debian 12's
    # default) and one-line sources.list entries.
    list=/etc/apt/sources.list.d/iocpnet-deb-src
    tmp=$(mktemp)
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] && grep -qE '^URIs:.*debian' "$f" || continue
      # one stanza per blank-line-separated block; only the Debian ones
      awk 'BEGIN{RS=""; ORS="\n\n"} /URIs:[^\n]*debian/ {sub(/Types:[^\n]*/, "Types: deb-src"); print}' "$f" >>"$tmp"
    done
    if [ -s "$tmp" ]; then
      $SUDO install -m 644 "$tmp" "$list.sources"
    else
      grep -hE '^deb [^#]*debian' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | sed 's/^deb /deb-src /' >"$tmp" || true
      [ -s "$tmp" ] || { log "no Debian deb entry to derive a deb-src entry from"; rm -f "$tmp"; exit 1; }
      $SUDO install -m 644 "$tmp" "$list.list"
    fi
    rm -f "$tmp"
    log "added a deb-src entry ($list.*)"
  fi
  mkdir -p "$deps/src"
  # The newest source version first; a mirror may lack one version's files
  # (seen: the security suite's .dsc missing), so older ones are tried next.
  fetch() { (cd "$deps/src" && apt-get source -q "$1" >>"$deps/src/apt-source.log" 2>&1); }
  fetch_any() {
    fetch openssl && return 0
    for v in $(apt-cache showsrc openssl 2>/dev/null | sed -n 's/^Version: //p' | sort -urV); do
      log "retrying with openssl=$v"
      fetch "openssl=$v" && return 0
    done
    return 1
  }
  log "apt-get source openssl"
  if ! fetch_any; then
    $SUDO apt-get update -q >/dev/null
    fetch_any || { tail -n 30 "$deps/src/apt-source.log" >&2; exit 1; }
  fi
  src=$(ls -d "$deps"/src/openssl-[0-9]*/ | head -n 1)
fi
src=${src%/}

# ---- configure and build -------------------------------------------------
# Kept: TLS 1.2 + 1.3, AES-GCM/CCM, ChaCha20-Poly1305, ECDHE (P-256/384/521,
# X25519/X448), RSA, ECDSA/EdDSA, SHA-1/2/3, X.509 and PEM, error strings (the
# reasons iocpnet reports), threads. Gone: SSLv3/TLS 1.0/1.1/DTLS, legacy and
# national ciphers, engines, modules, CMS/OCSP/TS/CMP, SRP/PSK, the config
# file (nothing on a user's machine changes the DLL's behaviour).
disable=(no-shared no-tests no-engine no-dso no-module no-legacy no-autoload-config no-deprecated
  no-ssl3 no-tls1 no-tls1_1 no-dtls no-srtp no-nextprotoneg no-srp no-psk no-weak-ssl-ciphers no-ssl-trace
  no-aria no-bf no-blake2 no-camellia no-cast no-des no-dh no-dsa no-ec2m no-gost no-idea no-md4 no-mdc2
  no-ocb no-rc2 no-rc4 no-rc5 no-rmd160 no-scrypt no-seed no-siphash no-siv no-sm2 no-sm3 no-sm4
  no-whirlpool no-cms no-ocsp no-ts no-cmp no-ct no-comp no-rfc3779 no-async no-ui-console
  no-capieng no-padlockeng no-afalgeng no-ktls no-uplink no-fips no-unit-test no-external-tests)
jobs=$(nproc); [ "$jobs" -gt 2 ] && jobs=2
t0=$(date +%s)
cd "$src"
if [ ! -f Makefile ]; then
  log "configuring $(basename "$src") for mingw64"
  ./Configure mingw64 --cross-compile-prefix=x86_64-w64-mingw32- --prefix="$out" "${disable[@]}" \
    >"$deps/src/configure.log" 2>&1 || { tail -n 30 "$deps/src/configure.log" >&2; exit 1; }
fi
log "building libcrypto.a and libssl.a (-j$jobs)"
make -j"$jobs" build_libs >"$deps/src/make.log" 2>&1 || { tail -n 40 "$deps/src/make.log" >&2; exit 1; }
# Headers: the public ones, including those the build generated.
rm -rf "$out.tmp" && mkdir -p "$out.tmp/include/openssl" "$out.tmp/lib"
cp include/openssl/*.h "$out.tmp/include/openssl/"
cp libcrypto.a libssl.a "$out.tmp/lib/"
rm -rf "$out" && mv "$out.tmp" "$out"
log "done in $(($(date +%s) - t0)) s: $out"
