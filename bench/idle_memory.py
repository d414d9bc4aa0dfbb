#!/usr/bin/env python3
"""Memory per idle connection: the echo servers' RSS growth for N idle
connections, divided by N (Python 3 standard library only).

For each server (iocpnet's echo_server on io_uring and on epoll, selected
with IOCPNET_BACKEND, and libuv's uv_echo_server), all with one worker
thread: start it, read its VmRSS, open N connections from another process
(this script with --client: RLIMIT_NOFILE is per process, 20,000 here),
send one byte on each and wait for its echo, so that every connection is
accepted and has done one receive and one send; read VmRSS again. The
result is (after - before) / N in bytes; the median of --reps runs, servers
alternating run by run. The server is pinned to CPU 0 and the client to CPU 1
when both are available, as in bench/run.py.

    python3 bench/idle_memory.py                  # N = 9,000, 3 runs each
    python3 bench/idle_memory.py --quick          # N = 1,000, 1 run (CI smoke)
    python3 bench/idle_memory.py --json out.json  # also every run's raw numbers
"""
import argparse, json, os, platform, re, resource, shlex, signal, socket, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no bench/__pycache__ from importing run.py
import run as bench  # noqa: E402  (bench/run.py: builds, paths, poller detection)

ARGS = ["--host", "127.0.0.1", "--port", "0", "--threads", "1"]
BATCH = 500  # connections opened, then echoed, at a time (well inside any listen backlog)


def servers():
    echo = os.path.join(bench.SAMPLES, "echo_server")
    return [("iocpnet", "io_uring", [echo] + ARGS, {"IOCPNET_BACKEND": "io_uring"}),
            ("iocpnet", "epoll", [echo] + ARGS, {"IOCPNET_BACKEND": "epoll"}),
            ("libuv", "epoll", [os.path.join(bench.OUT, "uv_echo_server")] + ARGS, {})]


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))


def settled_rss_kib(pid):
    """VmRSS once two reads 100 ms apart agree (the server may still be
    finishing completions), at most a second."""
    last = vm_rss_kib(pid)
    for _ in range(10):
        time.sleep(0.1)
        now = vm_rss_kib(pid)
        if now == last:
            break
        last = now
    return now


# ---------------------------------------------------------------- client

def client(port, n):
    """--client mode: opens n connections, one echo each, prints "ready" and
    holds them until stdin closes; then resets them (no TIME_WAIT)."""
    raise_nofile()
    socks = []
    try:
        while len(socks) < n:
            batch = []
            for _ in range(min(BATCH, n - len(socks))):
                s = socket.create_connection(("127.0.0.1", port), timeout=30)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                batch.append(s)
            for s in batch:
                s.sendall(b"x")
            for s in batch:
                if s.recv(1) != b"x":
                    raise RuntimeError("connection %d: no echo" % len(socks))
                socks.append(s)
    except (OSError, RuntimeError) as e:
        print("error after %d connections: %s" % (len(socks), e), flush=True)
        return 1
    print("ready", flush=True)
    sys.stdin.read()
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    return 0


# ---------------------------------------------------------------- driver

def run_once(name, backend, argv, env, n, can_pin):
    res = {"server": name, "backend": backend, "n": n, "ok": False, "error": ""}
    if not os.access(argv[0], os.X_OK):
        res["error"] = argv[0] + " not built"
        return res
    srv = subprocess.Popen(bench.pin(0, argv, can_pin), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=dict(os.environ, **env), preexec_fn=raise_nofile, start_new_session=True)
    cl = None
    try:
        line = srv.stdout.readline()
        m = re.search(r"listening on \S+:(\d+)", line)
        if not m:
            res["error"] = "no 'listening on' line: %r %s" % (line, srv.stderr.read()[-300:])
            return res
        pids = bench.descendants(srv.pid)
        pid = srv.pid  # taskset execs the server: one process
        res["poller"] = bench.poller(pids)
        before = settled_rss_kib(pid)
        cl = subprocess.Popen(bench.pin(1, [sys.executable, os.path.abspath(__file__), "--client", m.group(1), str(n)],
                                        can_pin), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        status = cl.stdout.readline().strip()
        if status != "ready":
            res["error"] = "client: " + (status or "exited %s" % cl.wait())
            return res
        res["connect_s"] = time.monotonic() - t0
        after = settled_rss_kib(pid)
        if srv.poll() is not None:
            res["error"] = "server exited %s: %s" % (srv.returncode, srv.stderr.read()[-300:])
            return res
        res.update(rss_before_kib=before, rss_after_kib=after, bytes_per_conn=(after - before) * 1024 / n, ok=True)
        return res
    finally:
        if cl is not None:
            cl.stdin.close()
            try:
                cl.wait(30)
            except subprocess.TimeoutExpired:
                cl.kill()
                cl.wait()
        if srv.poll() is None:
            srv.send_signal(signal.SIGTERM)
            try:
                srv.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(srv.pid, signal.SIGKILL)  # its own session: only the server
                srv.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="N = 1,000 and 1 run (CI smoke)")
    ap.add_argument("--conns", type=int, help="N idle connections (default 9,000; --quick: 1,000)")
    ap.add_argument("--reps", type=int, help="runs per server (default 3; --quick: 1)")
    ap.add_argument("--json", metavar="FILE", help="write every run's raw result here")
    ap.add_argument("--client", nargs=2, metavar=("PORT", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.client:
        return client(int(args.client[0]), int(args.client[1]))
    n = args.conns or (1000 if args.quick else 9000)
    reps = args.reps or (1 if args.quick else 3)

    bench.build_bench()
    bench.build_samples(False)
    can_pin = {0, 1} <= os.sched_getaffinity(0) and subprocess.run(
        ["taskset", "-c", "0", "true"], capture_output=True).returncode == 0
    table = servers()
    results = {(s[0], s[1]): [] for s in table}
    everything = []
    for rep in range(reps):
        for name, backend, argv, env in table:  # alternate: every server once per repetition
            r = run_once(name, backend, argv, env, n, can_pin)
            r["rep"] = rep + 1
            results[(name, backend)].append(r)
            everything.append(r)
            bench.log("[idle-memory] rep %d/%d %s (%s): %s" % (
                rep + 1, reps, name, backend,
                "%.0f B/conn" % r["bytes_per_conn"] if r["ok"] else "FAILED: " + r["error"]))
            time.sleep(0.2)

    print("## iocpnet idle memory — %s, %s, Linux %s, %d CPUs\n" % (
        time.strftime("%Y-%m-%d %H:%M"), platform.node(), platform.release(), os.cpu_count()))
    print("`%s` — %s idle echo connections per run, one worker thread, server on CPU 0, client process on "
          "CPU 1%s; RSS growth ÷ N after one echo per connection; median of %d run%s.\n" % (
              shlex.join(["python3", "bench/idle_memory.py"] + sys.argv[1:]), format(n, ","),
              "" if can_pin else " (NOT pinned)", reps, "s" if reps > 1 else ""))
    base = [r["bytes_per_conn"] for r in results[("libuv", "epoll")] if r["ok"]]
    base = statistics.median(base) if base else None
    print("| server | backend | polls with | ok runs | RSS before MiB | RSS after MiB | bytes / connection | runs | ÷ libuv |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (name, backend), rs in results.items():
        ok = [r for r in rs if r["ok"]]
        med = lambda k: statistics.median(r[k] for r in ok) if ok else None
        per = med("bytes_per_conn")
        cells = [name, backend, "/".join(sorted({r.get("poller", "?") for r in rs})), "%d/%d" % (len(ok), len(rs)),
                 "–" if per is None else "%.1f" % (med("rss_before_kib") / 1024),
                 "–" if per is None else "%.1f" % (med("rss_after_kib") / 1024),
                 "–" if per is None else format(round(per), ","),
                 ", ".join(format(round(r["bytes_per_conn"]), ",") for r in ok) or "–",
                 "%.2f" % (per / base) if per is not None and base else "–"]
        print("| " + " | ".join(cells) + " |")
    for r in everything:
        if not r["ok"]:
            print("\n- %s (%s) run %d failed: %s" % (r["server"], r["backend"], r["rep"], r["error"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(everything, f, indent=1)
    return 0 if all(r["ok"] for r in everything) else 1


if __name__ == "__main__":
    sys.exit(main())
