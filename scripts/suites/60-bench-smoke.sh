#!/usr/bin/env bash
# Bench smoke: runs the whole benchmark tooling end to end with tiny durations
# (python3 bench/run.py --quick --bindings) to prove that it builds, starts every
# server (iocpnet, libuv, the raw io_uring/epoll loops, Asio, thread per
# connection, select(), the Java and C# binding servers and plain Java NIO /
# System.Net.Sockets), drives it and gets a verified result. Each scenario ×
# server run that produced a valid result counts as passed. Then
# bench/idle_memory.py --quick (1,000 idle connections): each server with a
# measured bytes-per-connection counts as passed. Then bench/two_workers.py:
# 2 workers under 2 load processes verify and keep at least half the
# throughput of 1 worker (one check per backend; the only speed bound here,
# and a loose one: CI machines are shared and noisy, so numbers only mean
# something from a full run). The proxy scenario is among them: iocpnet's
# proxy_server and HAProxy in front of an echo upstream (bench/proxy_bench.py).
# So are TLS (echo_server --tls-cert/--tls-key beside Asio's SSL echo, 64 B and
# 16 KiB) and WebSocket (echo_server / relay_server --websocket beside npm's
# ws in Node.js, echo and fan-out), each row required to have run.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/bench/smoke.json
idle=$root/build/bench/smoke-idle.json
two=$root/build/bench/smoke-two-workers.json
mkdir -p "$root/build/bench"
rm -f "$out" "$idle" "$two"
python3 "$root/bench/run.py" --quick --bindings --json "$out"
echo "bench-smoke: run.py exited $?"
python3 "$root/bench/idle_memory.py" --quick --json "$idle"
echo "bench-smoke: idle_memory.py exited $?"
python3 "$root/bench/two_workers.py" --duration 0.5 --reps 3 --json "$two"
echo "bench-smoke: two_workers.py exited $?"
python3 - "$out" "$idle" "$two" <<'PY'
import json, sys
passed = failed = 0
for path, what in ((sys.argv[1], "run.py"), (sys.argv[2], "idle_memory.py"), (sys.argv[3], "two_workers.py")):
    try:
        runs = json.load(open(path))
    except (OSError, ValueError) as e:
        print(f"FAIL {what}: no results ({e})")
        failed += 1
        continue
    for r in runs:
        if what == "run.py":
            good = r.get("ok") and r.get("msgs", 0) > 0 and r.get("msgs_per_s", 0) > 0
            name = f"{r['scenario']} {r['server']}"
        elif what == "two_workers.py":
            good = r.get("ok")
            name = f"{r['name']}: 2 ÷ 1 worker msgs/s {r.get('ratio') or 0:.2f}"
            r["error"] = "; ".join(r.get("errors", [])) or "below the bound"
        else:
            good = r.get("ok") and r.get("bytes_per_conn", 0) > 0 and r.get("poller") == r.get("backend")
            name = f"idle-memory {r['server']} ({r['backend']})"
        print(f"{'ok  ' if good else 'FAIL'} {name}" + ("" if good else f": {r.get('error', '')}"))
        passed, failed = passed + bool(good), failed + (not good)
    if not runs:
        failed += 1
    if what == "run.py":  # the proxy scenario (bench/proxy_bench.py): iocpnet's proxy and HAProxy both ran
        for name in ("iocpnet", "haproxy"):
            if not any(r.get("scenario") == "proxy" and r.get("server") == name for r in runs):
                print(f"FAIL proxy {name}: no run")
                failed += 1
        # TLS and WebSocket: iocpnet on both backends and the reference all ran
        for sc, ref in (("tls-64", "asio-ssl"), ("tls-16k", "asio-ssl"), ("ws-echo", "ws-node"), ("ws-fanout", "ws-node")):
            for name in ("iocpnet", "iocpnet-epoll", ref):
                if not any(r.get("scenario") == sc and r.get("server") == name for r in runs):
                    print(f"FAIL {sc} {name}: no run")
                    failed += 1
print(f"bench-smoke: {passed} passed, {failed} failed")
PY
