#!/usr/bin/env python3
"""Checks that three sets of names are equal: the functions declared in the
public header (IOCPNET_API ... IOCPNET_CALL name(), the names in the .def
export list, and the symbols the built library exports. On Linux it also
checks the SONAME; on Windows (--dll) that the DLL imports no MinGW runtime
DLL (libstdc++, libgcc, libwinpthread are linked statically) and no OpenSSL
DLL (libssl, libcrypto: the TLS provider is linked statically too).

  check_exports.py --header H --def D --so libiocpnet.so [--soname libiocpnet.so.1]
  check_exports.py --header H --def D --dll iocpnet.dll [--objdump x86_64-w64-mingw32-objdump]
"""
import argparse
import re
import subprocess
import sys


def header_functions(path):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    # drop preprocessor lines (the IOCPNET_API definitions themselves)
    text = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
    names = re.findall(r"\bIOCPNET_API\b[^;{}()]*?\bIOCPNET_CALL\s*\**\s*(\w+)\s*\(", text, flags=re.S)
    return names


def def_names(path):
    names, library, in_exports = [], None, False
    for raw in open(path, encoding="utf-8"):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.upper().startswith("LIBRARY"):
            parts = line.split()
            library = parts[1] if len(parts) > 1 else None
            continue
        if line.upper() == "EXPORTS":
            in_exports = True
            continue
        if in_exports:
            names.append(re.split(r"[\s@=]", line)[0])
    return names, library


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if r.returncode != 0:
        sys.exit("command failed: %s\n%s" % (" ".join(cmd), r.stderr))
    return r.stdout


def so_exports(path, nm):
    names = []
    for line in run([nm, "-D", "--defined-only", path]).splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        kind, name = parts[1], parts[2]
        if kind == "A":  # version node (IOCPNET_1.0), not a symbol
            continue
        names.append(name.split("@", 1)[0])
    return names


def so_soname(path, readelf):
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", run([readelf, "-d", path]))
    return m.group(1) if m else None


def dll_exports_and_imports(path, objdump):
    out = run([objdump, "-p", path])
    names, imports, in_table = [], [], False
    for line in out.splitlines():
        if "[Ordinal/Name Pointer] Table" in line:
            in_table = True
            continue
        if in_table:
            m = re.match(r"\s*\[\s*\d+\]\s+(\S+)", line)
            if m:
                names.append(m.group(1))
                continue
            if line.strip():
                in_table = False
        m = re.match(r"\s*DLL Name:\s*(\S+)", line)
        if m:
            imports.append(m.group(1))
    return names, imports


def compare(label_a, a, label_b, b):
    ok = True
    for name in sorted(set(a) - set(b)):
        print("  %s but not %s: %s" % (label_a, label_b, name))
        ok = False
    for name in sorted(set(b) - set(a)):
        print("  %s but not %s: %s" % (label_b, label_a, name))
        ok = False
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--header", required=True)
    ap.add_argument("--def", dest="deffile", required=True)
    ap.add_argument("--so")
    ap.add_argument("--soname", default="libiocpnet.so.1")
    ap.add_argument("--nm", default="nm")
    ap.add_argument("--readelf", default="readelf")
    ap.add_argument("--dll")
    ap.add_argument("--objdump", default="x86_64-w64-mingw32-objdump")
    args = ap.parse_args()
    if bool(args.so) == bool(args.dll):
        sys.exit("give exactly one of --so and --dll")

    failures = 0
    hdr = header_functions(args.header)
    dnames, library = def_names(args.deffile)
    print("header declares %d functions, .def lists %d names" % (len(hdr), len(dnames)))
    if len(hdr) < 10:
        print("FAIL: found only %d declarations in the header: the parser or the header is broken" % len(hdr))
        failures += 1
    for label, names in (("header", hdr), (".def", dnames)):
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            print("FAIL: duplicate names in the %s: %s" % (label, ", ".join(dups)))
            failures += 1
    if library != "iocpnet":
        print("FAIL: .def LIBRARY is %r, expected 'iocpnet'" % library)
        failures += 1

    if args.so:
        lib = so_exports(args.so, args.nm)
        libname = "library"
    else:
        lib, imports = dll_exports_and_imports(args.dll, args.objdump)
        libname = "DLL"
    print("%s exports %d symbols" % (libname, len(lib)))

    if not compare("header", hdr, ".def", dnames):
        print("FAIL: header and .def differ")
        failures += 1
    if not compare(".def", dnames, libname, lib):
        print("FAIL: .def and %s exports differ" % libname)
        failures += 1

    if args.so:
        soname = so_soname(args.so, args.readelf)
        print("SONAME: %s" % soname)
        if soname != args.soname:
            print("FAIL: SONAME is %r, expected %r" % (soname, args.soname))
            failures += 1
    else:
        print("DLL imports: %s" % ", ".join(imports))
        bad = [d for d in imports if re.match(r"(libstdc\+\+|libgcc|libwinpthread|libssl|libcrypto)", d, re.I)]
        if bad:
            print("FAIL: the DLL needs MinGW runtime or OpenSSL DLLs: %s" % ", ".join(bad))
            failures += 1

    print("OK" if failures == 0 else "%d check(s) failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
