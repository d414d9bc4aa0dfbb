#!/usr/bin/env bash
# Generates the P/Invoke layer with SWIG into $1 (default build/csharp/generated).
# The DllImports are bound straight to iocpnet's own exports (see
# iocpnet_csharp.i for why): SWIG names entry points "CSharp_<ns>_<fn>___",
# which is rewritten here to "<fn>", and the result is checked.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/build/csharp/generated}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
swig -csharp -namespace IocpNet.Native -dllimport iocpnet \
  -DSWIG_CSHARP_NO_EXCEPTION_HELPER -DSWIG_CSHARP_NO_STRING_HELPER -DSWIG_CSHARP_NO_IMCLASS_STATIC_CONSTRUCTOR \
  -I"$root/include" -outdir "$tmp" -o "$tmp/iocpnet_csharp_wrap.c" "$root/bindings/csharp/iocpnet_csharp.i"
sed -E -i 's/EntryPoint="CSharp_[A-Za-z0-9]*_(iocpnet_[a-z0-9_]*[a-z0-9])___"/EntryPoint="\1"/' "$tmp/NativeMethods.cs"
if grep -q 'EntryPoint="CSharp_' "$tmp/NativeMethods.cs"; then
  echo "generate.sh: an entry point was not rewritten:" >&2
  grep 'EntryPoint="CSharp_' "$tmp/NativeMethods.cs" >&2
  exit 1
fi
# Every exported function must have its DllImport (the .def is the export list).
missing=0
for fn in $(awk '/^EXPORTS/{f=1;next} f && $1 ~ /^iocpnet_/{print $1}' "$root/def/iocpnet.def"); do
  grep -q "EntryPoint=\"$fn\"" "$tmp/NativeMethods.cs" || { echo "generate.sh: no DllImport for $fn" >&2; missing=1; }
done
[ "$missing" = 0 ] || exit 1
mkdir -p "$out"
rm -f "$out"/*.cs
cp "$tmp"/*.cs "$out"/
