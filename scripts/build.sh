#!/usr/bin/env bash
# Configures (once) and builds one variant into build/<variant>:
#   linux (default), asan (ASan + UBSan), tsan (ThreadSanitizer),
#   mingw (Windows cross-build).
# Further arguments name targets to build instead of everything, e.g.
#   scripts/build.sh tsan api_tests api_fuzzer
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
variant=${1:-linux}
[ $# -gt 0 ] && shift
dir=$root/build/$variant
args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo)
case $variant in
  linux) ;;
  asan) args+=(-DIOCPNET_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug) ;;
  # -O1: TSan's usual trade between speed and exact stacks; samples are not
  # needed by the suites that use this variant.
  tsan) args+=(-DIOCPNET_TSAN=ON -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-g -O1" "-DCMAKE_C_FLAGS_DEBUG=-g -O1"
               -DIOCPNET_SAMPLES=OFF) ;;
  mingw) args+=(-DCMAKE_TOOLCHAIN_FILE=$root/cmake/mingw-w64.cmake) ;;
  *) echo "unknown variant $variant" >&2; exit 2 ;;
esac
# Windows: OpenSSL cross-built once into build/deps (cached), linked into iocpnet.dll.
[ "$variant" = mingw ] && bash "$root/scripts/openssl-mingw.sh"
[ -f "$dir/build.ninja" ] || cmake -S "$root" -B "$dir" "${args[@]}" >/dev/null
# At most 2 jobs: CI machines have 2 cores and are shared.
jobs=$(nproc); [ "$jobs" -gt 2 ] && jobs=2
if [ $# -gt 0 ]; then
  cmake --build "$dir" -j"$jobs" --target "$@"
else
  cmake --build "$dir" -j"$jobs"
fi
