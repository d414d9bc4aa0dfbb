#!/usr/bin/env bash
# Configures (once) and builds one variant into build/<variant>:
#   linux (default), asan (ASan + UBSan), mingw (Windows cross-build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
variant=${1:-linux}
dir=$root/build/$variant
args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo)
case $variant in
  linux) ;;
  asan) args+=(-DIOCPNET_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug) ;;
  mingw) args+=(-DCMAKE_TOOLCHAIN_FILE=$root/cmake/mingw-w64.cmake) ;;
  *) echo "unknown variant $variant" >&2; exit 2 ;;
esac
[ -f "$dir/build.ninja" ] || cmake -S "$root" -B "$dir" "${args[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
