#!/usr/bin/env bash
# Bench smoke: runs the whole benchmark tooling end to end with tiny durations
# (python3 bench/run.py --quick) to prove that it builds, starts every server,
# drives it and gets a verified result. Each scenario × server run that produced
# a valid result counts as passed. Speed is not judged here: CI machines are
# shared and noisy, so numbers only mean something from a full run.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/bench/smoke.json
mkdir -p "$root/build/bench"
rm -f "$out"
python3 "$root/bench/run.py" --quick --json "$out"
echo "bench-smoke: run.py exited $?"
python3 - "$out" <<'PY'
import json, sys
try:
    runs = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    print(f"no results ({e})")
    print("bench-smoke: 0 passed, 1 failed")
    sys.exit(0)
passed = failed = 0
for r in runs:
    good = r.get("ok") and r.get("msgs", 0) > 0 and r.get("msgs_per_s", 0) > 0
    print(f"{'ok  ' if good else 'FAIL'} {r['scenario']} {r['server']}" + ("" if good else f": {r.get('error', '')}"))
    passed, failed = passed + bool(good), failed + (not good)
if not runs:
    failed = 1
print(f"bench-smoke: {passed} passed, {failed} failed")
PY
