#!/usr/bin/env bash
# Builds the linux variant and runs every ctest test (API tests once per
# backend, ABI, install, e2e). Last line: "ctest-linux: N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
name=ctest-linux
dir=$root/build/linux
if ! bash "$root/scripts/build.sh" linux; then
  echo "$name: build failed"
  echo "$name: 0 passed, 1 failed"
  exit 1
fi
source "$root/scripts/ctest-suite.sh"
run_ctest_suite "$dir" 
