"""The `proxy` scenario of bench/run.py: iocpnet's samples/proxy_server beside
HAProxy in `mode tcp`, both in front of the same upstream echo server.

    loadgen (CPU 1) --50 conns--> proxy (CPU 0) --50 conns--> uv_echo_server (CPU 1)

loadgen's echo mode sends 16 KiB on each of 50 connections, waits for the
16 KiB echo, verifies it and sends again; every message crosses the proxy
twice (there and back), so the proxy forwards 2 x 16 KiB per message:
MB/s = messages/s x 32,768 / 10^6, and CPU per MB is the proxy's utime+stime
over the measured interval (loadgen reads it from /proc at the interval's
edges) divided by those MB. The upstream is libuv's echo server from
bench/uv_echo_server.c, pinned with loadgen, so both proxies face the same
client and the same upstream; only the proxy runs on CPU 0.

HAProxy 2.6 (Debian's `haproxy`) runs with `nbthread 1` and its defaults
otherwise; a TCP proxy needs timeouts, which are set long enough never to
fire. Its config is written into build/bench/, it is started in the
foreground (-db) on a free port and stopped by PID.
"""
import json, os, re, signal, socket, statistics, subprocess, threading, time

NAME = "proxy"
DESCRIPTION = "50 pairs × 16 KiB ping-pong through the proxy to an echo upstream (32 KiB forwarded per message)"
LOADGEN_ARGS = ["--conns", "50", "--size", "16384"]
BYTES_PER_MSG = 2 * 16384

HAPROXY_CFG = """# written by bench/proxy_bench.py for one run
global
    nbthread 1
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
listen proxy
    bind 127.0.0.1:{port}
    server upstream 127.0.0.1:{upstream}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Started:
    """A process of the run, its output drained on a thread, and the port it
    listens on (from its "listening on HOST:PORT" line, or given)."""

    def __init__(self, argv, port=None):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.lines, self.port, self.ready = [], port, threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            m = re.search(r"listening on \S+:(\d+)", line)
            if m and self.port is None:
                self.port = int(m.group(1))
                self.ready.set()
        self.ready.set()

    def wait_listening(self, timeout=30.0):
        if self.port is None:
            self.ready.wait(timeout)
        return self.port is not None and wait_port(self.port, self.proc, timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # by PID: only the process this run started
                self.proc.wait()


def proxies(samples, out):
    """(name, function(upstream_port) -> (argv, port or None)) per proxy, in run order."""
    iocp = os.path.join(samples, "proxy_server")
    std = ["--host", "127.0.0.1", "--port", "0", "--threads", "1"]

    def haproxy(up):
        port = free_port()
        cfg = os.path.join(out, "haproxy-proxy.cfg")
        with open(cfg, "w") as f:
            f.write(HAPROXY_CFG.format(port=port, upstream=up))
        return ["haproxy", "-db", "-f", cfg], port

    return [("iocpnet", lambda up: ([iocp] + std + ["--upstream", f"127.0.0.1:{up}"], None)),
            ("iocpnet-epoll", lambda up: ([iocp] + std + ["--backend", "epoll", "--upstream", f"127.0.0.1:{up}"],
                                          None)),
            ("haproxy", haproxy)]


def run_once(name, make_argv, args, ctx):
    res = {"server": name, "ok": False, "error": "", "scenario": NAME}
    upstream = Started(ctx["pin"](1, [os.path.join(ctx["out"], "uv_echo_server"), "--host", "127.0.0.1",
                                      "--port", "0", "--threads", "1"]))
    px = None
    try:
        if not upstream.wait_listening():
            res["error"] = "upstream echo server did not start: " + " | ".join(upstream.lines[-5:])
            return res
        argv, port = make_argv(upstream.port)
        if "/" in argv[0] and not os.access(argv[0], os.X_OK):
            res["error"] = f"{argv[0]} not built"
            return res
        try:
            px = Started(ctx["pin"](0, argv), port)
        except OSError as e:
            res["error"] = f"{argv[0]}: {e}"
            return res
        if not px.wait_listening():
            res["error"] = "proxy did not start: " + " | ".join(px.lines[-5:])
            return res
        pids = ctx["descendants"](px.proc.pid)
        res["poller"] = ctx["poller"](pids)
        cmd = [os.path.join(ctx["out"], "loadgen"), "echo", "--host", "127.0.0.1", "--port", str(px.port),
               *LOADGEN_ARGS, "--duration", str(args.duration), "--warmup", str(args.warmup)]
        for p in pids:
            cmd += ["--pid", str(p)]
        try:
            lg = subprocess.run(ctx["pin"](1, cmd), capture_output=True, text=True,
                                timeout=args.duration + args.warmup + 120)
        except subprocess.TimeoutExpired:
            res["error"] = "loadgen timed out"
            return res
        res["rss_kib"] = ctx["vm_hwm_kib"](pids)
        out = [l for l in lg.stdout.splitlines() if l.startswith("{")]
        if not out:
            res["error"] = f"loadgen exit {lg.returncode}: {lg.stderr.strip()[-300:]}"
            return res
        res.update(json.loads(out[-1]))
        res["server"] = name
        res["ok"] = bool(res["ok"]) and lg.returncode == 0 and res.get("msgs", 0) > 0
        if res["ok"]:
            mb = res["msgs"] * BYTES_PER_MSG / 1e6
            res["mb_per_s"] = res["msgs_per_s"] * BYTES_PER_MSG / 1e6
            res["cpu_us_per_mb"] = res["server_cpu_us"] / mb
        if px.proc.poll() is not None:
            res["ok"], res["error"] = False, f"proxy died (exit {px.proc.returncode}) " + res.get("error", "")
        return res
    finally:
        if px:
            px.stop()
            res["server_output"] = px.lines[-10:]
        upstream.stop()


def table(results):
    def med(rs, k):
        v = [r[k] for r in rs if r.get(k) is not None]
        return statistics.median(v) if v else None

    def fmt(v, spec):
        return "–" if v is None else format(v, spec)

    sums = {}
    for n, rs in results.items():
        ok = [r for r in rs if r["ok"]]
        sums[n] = {k: med(ok, k) for k in ("mb_per_s", "cpu_us_per_mb", "p50_us", "p99_us", "rss_kib",
                                           "loadgen_cpu_pct")}
        sums[n]["ok"], sums[n]["runs"] = len(ok), len(rs)
        sums[n]["poller"] = "/".join(sorted({r.get("poller", "?") for r in rs}))
        v = [r["mb_per_s"] for r in ok]
        sums[n]["spread"] = (max(v) - min(v)) / statistics.median(v) * 100 if v else None
    base = sums.get("haproxy", {})
    hdr = ["proxy", "polls with", "ok runs", "MB/s", "spread", "p50 µs", "p99 µs", "CPU µs/MB", "peak RSS MiB",
           "MB/s ÷ HAProxy", "CPU/MB ÷ HAProxy", "loadgen CPU %"]
    print(f"\n### proxy: {DESCRIPTION}\n")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "|".join("---" for _ in hdr) + "|")
    for n, s in sums.items():
        ratio = lambda k: fmt(s[k] / base[k], ".2f") if s.get(k) and base.get(k) else "–"
        print("| " + " | ".join([n, s["poller"], f"{s['ok']}/{s['runs']}", fmt(s["mb_per_s"], ",.0f"),
                                 "–" if s["spread"] is None else f"±{s['spread'] / 2:.0f}%",
                                 fmt(s["p50_us"], ".0f"), fmt(s["p99_us"], ".0f"), fmt(s["cpu_us_per_mb"], ".0f"),
                                 fmt(s["rss_kib"] / 1024 if s["rss_kib"] is not None else None, ".1f"),
                                 ratio("mb_per_s"), ratio("cpu_us_per_mb"), fmt(s["loadgen_cpu_pct"], ".0f")]) + " |")
    for n, rs in results.items():
        bad = next((r for r in rs if not r["ok"]), None)
        if bad:
            print(f"\n- {n}: failed run: {bad.get('error') or 'see --json output'}")


def run(args, ctx, log):
    """Every proxy once per repetition, alternating; prints the table; returns every run's result."""
    plist = proxies(ctx["samples"], ctx["out"])
    if args.servers:
        keep = set(args.servers.split(","))
        plist = [p for p in plist if p[0] in keep]
    results = {n: [] for n, _ in plist}
    everything = []
    for rep in range(args.reps):
        for name, make_argv in plist:
            r = run_once(name, make_argv, args, ctx)
            r["rep"] = rep + 1
            results[name].append(r)
            everything.append(r)
            log(f"[proxy] rep {rep + 1}/{args.reps} {name}: " +
                (f"{r['mb_per_s']:,.0f} MB/s, proxy CPU {r['cpu_us_per_mb']:.0f} µs/MB" if r["ok"]
                 else f"FAILED: {r['error']}"))
            time.sleep(0.2)
    table(results)
    return everything
