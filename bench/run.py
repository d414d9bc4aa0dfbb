#!/usr/bin/env python3
"""iocpnet benchmark driver (Python 3 standard library only).

Builds bench/*.c into build/bench/, runs every server of each scenario pinned
to CPU 0 with one worker thread against bench/loadgen pinned to CPU 1, servers
alternating run by run (A B C A B C ...), and prints one Markdown table per
scenario with medians and ratios to libuv. See bench/README.md.

    python3 bench/run.py                     # full run (a few minutes)
    python3 bench/run.py --quick             # smoke: tiny durations, 1 repetition
    python3 bench/run.py --scenario proxy    # iocpnet proxy_server beside HAProxy (bench/proxy_bench.py)
    python3 bench/run.py --scenario tls-64 --scenario ws-echo   # TLS beside Asio SSL, WebSocket beside npm's ws
    python3 bench/run.py --scenario echo-64 --reps 3 --server dotnet="dotnet bench/csharp/bin/EchoServer.dll"
"""
import argparse, json, os, platform, re, shlex, signal, statistics, subprocess, sys, tempfile, threading, time
import proxy_bench  # the `proxy` scenario: its own servers, runner and table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
OUT = os.path.join(ROOT, "build", "bench")
SAMPLES = os.path.join(ROOT, "build", "linux", "samples")
STD_ARGS = ["--host", "127.0.0.1", "--port", "0", "--threads", "1"]

SCENARIOS = {
    "echo-64": ("echo", ["--conns", "100", "--size", "64"], "100 connections × 64 B ping-pong"),
    "echo-64-1k": ("echo", ["--conns", "1000", "--size", "64"], "1,000 connections × 64 B ping-pong"),
    "echo-16k": ("echo", ["--conns", "100", "--size", "16384"], "100 connections × 16 KiB ping-pong"),
    # The same load as echo-64, driven by iocpnet's own samples/stress_client (--threads 1)
    # instead of the loadgen: the two clients must agree on the servers' CPU per message.
    "echo-64-stress": ("stress", ["--connections", "100", "--size", "64"],
                       "100 connections × 64 B ping-pong, client samples/stress_client"),
    "fanout": ("fanout", ["--conns", "1000", "--senders", "10", "--size", "256", "--interval-us", "1000"],
               "1,000 clients, 10 senders × 256 B every 1 ms, relayed to the 999 others"),
}
SCENARIOS[proxy_bench.NAME] = ("proxy", proxy_bench.LOADGEN_ARGS, proxy_bench.DESCRIPTION)
# TLS (issue 11) and WebSocket (issue 12): the loadgen's echo and fanout modes
# with --tls (an OpenSSL client) or --ws (the client handshake, masked
# frames, every echo checked as one unmasked frame), against iocpnet beside
# Boost.Asio's SSL echo and npm's `ws` respectively.
SCENARIOS.update({
    "tls-64": ("tls", ["--conns", "100", "--size", "64", "--tls"], "TLS: 100 connections × 64 B ping-pong"),
    "tls-16k": ("tls", ["--conns", "100", "--size", "16384", "--tls"], "TLS: 100 connections × 16 KiB ping-pong"),
    "ws-echo": ("ws-echo", ["--conns", "100", "--size", "64", "--ws"],
                "WebSocket: 100 connections × 64 B binary messages, ping-pong"),
    "ws-fanout": ("ws-fanout", ["--conns", "1000", "--senders", "10", "--size", "256", "--interval-us", "1000", "--ws"],
                  "WebSocket: 1,000 clients, 10 senders × 256 B messages every 1 ms, relayed to the 999 others"),
})
# What the loadgen runs for each kind of scenario, and the row the ratios are to.
LOADGEN_MODE = {"echo": "echo", "fanout": "fanout", "tls": "echo", "ws-echo": "echo", "ws-fanout": "fanout"}
BASELINE = {"tls": "asio-ssl", "ws-echo": "ws-node", "ws-fanout": "ws-node"}  # else libuv
FANOUT_KINDS = ("fanout", "ws-fanout")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# The plain reference echo servers: (row name, source, compiler, flags). Each is one
# I/O model written as the smallest correct program (see bench/README.md).
REFERENCE_ECHO = [
    ("raw-uring", "raw_uring_echo.c", "gcc", ["-luring"]),
    ("raw-epoll", "raw_epoll_echo.c", "gcc", []),
    ("asio", "asio_echo.cpp", "g++", ["-std=c++17", "-pthread"]),
    ("thread-per-conn", "thread_echo.c", "gcc", ["-pthread"]),
    ("select", "select_echo.c", "gcc", []),
]


# The TLS reference: Asio's echo with asio::ssl (OpenSSL 3), row `asio-ssl`.
TLS_REFERENCE = [("asio-ssl", "asio_ssl_echo.cpp", "g++", ["-std=c++17", "-pthread", "-lssl", "-lcrypto"])]
WS_NODE_DIR = os.path.join(ROOT, "build", "linux", "ws-node")  # where tests/ws_interop/run.py installs `ws`


def tls_files():
    """The server certificate and key for the TLS rows: the test PKI of the
    linux build (scripts/make-test-certs.sh), made into build/bench/certs
    when that build has none."""
    d = os.path.join(ROOT, "build", "linux", "test-certs")
    if not os.path.exists(os.path.join(d, "server.pem")):
        d = os.path.join(OUT, "certs")
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "make-test-certs.sh"), d],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return ["--tls-cert", os.path.join(d, "server.pem"), "--tls-key", os.path.join(d, "server.key")]


def ensure_ws_node():
    """npm's `ws` for the ws-node rows, installed as tests/ws_interop/run.py
    does (once, into build/linux/ws-node). A failure is logged; the rows then
    fail with the reason."""
    if os.path.isdir(os.path.join(WS_NODE_DIR, "node_modules", "ws")):
        return
    log("installing npm's ws into build/linux/ws-node")
    os.makedirs(WS_NODE_DIR, exist_ok=True)
    try:
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", WS_NODE_DIR, "ws@8"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        log(f"npm install ws failed: {e}")


def build_bench():
    """gcc is quick enough that an mtime check is all the build system needed.
    A reference server that fails to build is logged and left out as a failed row."""
    os.makedirs(OUT, exist_ok=True)
    # -O3 for the loadgen: it vectorises the byte sums that verify fan-out content.
    todo = [("loadgen.c", "gcc", ["-O3", "-lssl", "-lcrypto"]), ("uv_echo_server.c", "gcc", ["-luv"]),
            ("uv_relay_server.c", "gcc", ["-luv"])]
    todo += [(src, cc, flags) for _, src, cc, flags in REFERENCE_ECHO + TLS_REFERENCE]
    for src_name, cc, libs in todo:
        name = os.path.splitext(src_name)[0]
        src, exe = os.path.join(BENCH, src_name), os.path.join(OUT, name)
        common = "uv_common.h" if name.startswith("uv_") else "ref_common.h" if src.endswith(".c") else None
        deps = [src] + ([os.path.join(BENCH, common)] if common else [])
        if os.path.exists(exe) and all(os.path.getmtime(exe) >= os.path.getmtime(d) for d in deps):
            continue
        log(f"building {name}")
        r = subprocess.run([cc, "-O2", "-g", "-Wall", "-Wextra", "-o", exe, src] + libs)  # a later -O wins
        if r.returncode != 0:
            if name == "loadgen":
                sys.exit("loadgen did not build")
            log(f"{name} did not build; its row will show as failed")


def build_samples(force):
    wanted = [os.path.join(SAMPLES, n) for n in ("echo_server", "relay_server", "proxy_server")]
    if force or not all(os.access(p, os.X_OK) for p in wanted):
        log("building iocpnet (scripts/build.sh linux)")
        r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "build.sh"), "linux"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            log("iocpnet build failed; its rows will be missing:\n" + r.stderr[-2000:])


JAVA_OUT = os.path.join(ROOT, "build", "java")
CS_BIN = os.path.join(ROOT, "build", "csharp", "bin")


def binding_servers():
    """The binding rows (--bindings): each iocpnet binding's echo server beside the
    plain runtime's own (Java NIO, System.Net.Sockets). (name, argv, built?)"""
    jars = sorted(f for f in os.listdir(JAVA_OUT) if re.fullmatch(r"iocpnet-.*\.jar", f)) if os.path.isdir(JAVA_OUT) else []
    jar = os.path.join(JAVA_OUT, jars[-1]) if jars else os.path.join(JAVA_OUT, "iocpnet.jar")
    tc = os.path.join(JAVA_OUT, "test-classes")
    dll = lambda n: os.path.join(CS_BIN, n, "Release", "net10.0", n + ".dll")
    return [("java", ["java", "-cp", f"{jar}:{tc}", "EchoServer"], [jar, os.path.join(tc, "EchoServer.class")]),
            ("java-nio", ["java", "-cp", tc, "NioEchoServer"], [os.path.join(tc, "NioEchoServer.class")]),
            ("csharp", ["dotnet", dll("EchoServer")], [dll("EchoServer")]),
            ("csharp-sockets", ["dotnet", dll("SocketsEcho")], [dll("SocketsEcho")])]


def build_bindings():
    """Builds the binding servers that are missing (scripts/suites/50-dotnet.sh and
    55-java.sh build them too, so in CI they are already there). A failed build is
    logged; the rows then fail with "not built"."""
    need = {n: files for n, _, files in binding_servers() if not all(os.path.exists(f) for f in files)}
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    if "java" in need or "java-nio" in need:
        log("building the Java binding and bench/java (bindings/java/build.sh)")
        subprocess.run(["bash", os.path.join(ROOT, "bindings", "java", "build.sh")], **quiet)
    if "csharp" in need or "csharp-sockets" in need:
        log("building bench/csharp (SWIG layer, dotnet build)")
        env = dict(os.environ, DOTNET_CLI_TELEMETRY_OPTOUT="1", DOTNET_NOLOGO="1", MSBUILDDISABLENODEREUSE="1")
        subprocess.run(["bash", os.path.join(ROOT, "bindings", "csharp", "generate.sh")], env=env, **quiet)
        for proj in ("EchoServer", "SocketsEcho"):
            csproj = os.path.join(BENCH, "csharp", proj, proj + ".csproj")
            subprocess.run(["dotnet", "restore", csproj, "--source", "/opt/nuget/packages"], env=env, **quiet)
            subprocess.run(["dotnet", "build", csproj, "-c", "Release", "--no-restore", "-nologo", "-v", "q"], env=env, **quiet)


# The servers the stress_client scenario drives (a few, to keep the run short).
STRESS_SERVERS = ("iocpnet", "iocpnet-epoll", "libuv", "raw-epoll")


def proc_cpu_us(pids):
    """utime+stime of the processes, µs (the loadgen's server_cpu_us, read from here)."""
    total, hz = 0.0, os.sysconf("SC_CLK_TCK")
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) * 1e6 / hz
        except (OSError, IndexError, ValueError):
            pass
    return total


def run_stress_client(res, sc_args, host, port, pids, args, can_pin):
    """One stress_client run; its messages per connection are sized so that it lasts
    about --duration at the loadgen's rate. Server CPU is read around the whole run
    (connecting included: a few ms of 2 s)."""
    msgs = max(50, int(args.duration * 1000))
    cmd = [os.path.join(SAMPLES, "stress_client"), "--host", host, "--port", port, "--threads", "1",
           "--messages", str(msgs)] + sc_args
    cpu0 = proc_cpu_us(pids)
    try:
        sc = subprocess.run(pin(1, cmd, can_pin), capture_output=True, text=True, timeout=args.duration * 20 + 120)
    except subprocess.TimeoutExpired:
        res["error"] = "stress_client timed out"
        return
    res["server_cpu_us"] = proc_cpu_us(pids) - cpu0
    out = [l for l in sc.stdout.splitlines() if l.startswith("{")]
    if not out:
        res["error"] = f"stress_client exit {sc.returncode}: {(sc.stderr + sc.stdout).strip()[-300:]}"
        return
    res.update(json.loads(out[-1]))
    res["ok"] = bool(res["ok"]) and sc.returncode == 0 and res.get("msgs", 0) > 0
    if not res["ok"]:
        res["error"] = sc.stderr.strip()[-300:]


def server_table(args):
    """Per kind: ordered (name, argv). Missing binaries stay in, so they show up as failures."""
    samp = lambda n: os.path.join(SAMPLES, n)
    echo = [("iocpnet", [samp("echo_server")] + STD_ARGS),
            ("iocpnet-epoll", [samp("echo_server")] + STD_ARGS + ["--backend", "epoll"]),
            ("libuv", [os.path.join(OUT, "uv_echo_server")] + STD_ARGS)]
    echo += [(name, [os.path.join(OUT, os.path.splitext(src)[0])] + STD_ARGS) for name, src, _, _ in REFERENCE_ECHO]
    fan = [("iocpnet", [samp("relay_server")] + STD_ARGS),
           ("iocpnet-epoll", [samp("relay_server")] + STD_ARGS + ["--backend", "epoll"]),
           ("libuv", [os.path.join(OUT, "uv_relay_server")] + STD_ARGS)]
    tls = tls_files() if any(SCENARIOS[sc][0] == "tls" for sc in args.scenarios) else []
    node = ["node", os.path.join(BENCH, "ws_node_server.cjs"), "--mode"]
    tls_rows = [("iocpnet", [samp("echo_server")] + STD_ARGS + tls),
                ("iocpnet-epoll", [samp("echo_server")] + STD_ARGS + tls + ["--backend", "epoll"])]
    tls_rows += [(name, [os.path.join(OUT, os.path.splitext(src)[0])] + STD_ARGS + tls) for name, src, _, _ in TLS_REFERENCE]
    ws_echo = [("iocpnet", [samp("echo_server")] + STD_ARGS + ["--websocket"]),
               ("iocpnet-epoll", [samp("echo_server")] + STD_ARGS + ["--websocket", "--backend", "epoll"]),
               ("ws-node", node + ["echo"] + STD_ARGS)]
    ws_fan = [("iocpnet", [samp("relay_server")] + STD_ARGS + ["--websocket"]),
              ("iocpnet-epoll", [samp("relay_server")] + STD_ARGS + ["--websocket", "--backend", "epoll"]),
              ("ws-node", node + ["relay"] + STD_ARGS)]
    if args.bindings:
        for name, argv, files in binding_servers():
            # A missing file makes argv[0] a path that run_once reports as "not built".
            missing = [f for f in files if not os.path.exists(f)]
            echo.append((name, ([missing[0]] if missing else argv) + STD_ARGS))
    for spec, table in [(s, echo) for s in args.server] + [(s, fan) for s in args.relay]:
        name, _, cmd = spec.partition("=")
        if not name or not cmd:
            sys.exit(f"--server/--relay want NAME=COMMAND, got {spec!r}")
        argv = shlex.split(cmd)
        # A bare command gets the standard options; one that names its own --port is left alone.
        table.append((name, argv if "--port" in argv else argv + STD_ARGS))
    by_kind = {"echo": echo, "fanout": fan, "tls": tls_rows, "ws-echo": ws_echo, "ws-fanout": ws_fan}
    if args.servers:
        keep = set(args.servers.split(","))
        by_kind = {k: [s for s in rows if s[0] in keep] for k, rows in by_kind.items()}
    by_kind["stress"] = [s for s in by_kind["echo"] if s[0] in STRESS_SERVERS]
    return by_kind


def descendants(pid):
    """pid and its children (a wrapper script or `dotnet` may fork the real server)."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def vm_hwm_kib(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                m = re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M)
                total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total


def poller(pids):
    """What the server waits with, from its open descriptors: AUTO may fall back
    from io_uring to epoll (seccomp, kernel.io_uring_disabled), and the table
    should say which one was actually measured."""
    kinds = set()
    for p in pids:
        try:
            for fd in os.listdir(f"/proc/{p}/fd"):
                try:
                    kinds.add(os.readlink(f"/proc/{p}/fd/{fd}"))
                except OSError:
                    pass
        except OSError:
            pass
    return "io_uring" if "anon_inode:[io_uring]" in kinds else "epoll" if "anon_inode:[eventpoll]" in kinds else "?"


def pin(cpu, argv, can_pin):
    return (["taskset", "-c", str(cpu)] if can_pin else []) + argv


def run_once(kind, sc_args, name, argv, args, can_pin):
    res = {"server": name, "ok": False, "error": ""}
    if not os.access(argv[0], os.X_OK) and "/" in argv[0]:
        res["error"] = f"{argv[0]} not built"
        return res
    try:
        srv = subprocess.Popen(pin(0, argv, can_pin), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True, env=dict(os.environ, WS_DIR=WS_NODE_DIR))
    except OSError as e:  # e.g. no `node`
        res["error"] = f"{argv[0]}: {e}"
        return res
    lines, ready = [], threading.Event()
    addr = {}

    def reader():  # keeps draining, so a chatty server never blocks on a full pipe
        for line in srv.stdout:
            lines.append(line.rstrip())
            m = re.search(r"listening on (\S+):(\d+)", line)
            if m and not ready.is_set():
                addr["host"], addr["port"] = m.group(1).strip("[]"), m.group(2)
                ready.set()
        ready.set()
    threading.Thread(target=reader, daemon=True).start()
    try:
        if not ready.wait(30) or "port" not in addr:
            res["error"] = "no 'listening on HOST:PORT' line; output: " + " | ".join(lines[-5:])
            return res
        host = addr["host"] if addr["host"] not in ("0.0.0.0", "::", "") else "127.0.0.1"
        pids = descendants(srv.pid)
        # The two classic models wait without a poller descriptor: name their model instead.
        res["poller"] = {"thread-per-conn": "threads", "select": "select"}.get(name) or poller(pids)
        if kind == "stress":
            run_stress_client(res, sc_args, host, addr["port"], pids, args, can_pin)
            res["rss_kib"] = vm_hwm_kib(pids)
            if srv.poll() is not None:
                res["ok"], res["error"] = False, f"server died (exit {srv.returncode}) " + res.get("error", "")
            return res
        mode = LOADGEN_MODE[kind]
        cmd = [os.path.join(OUT, "loadgen"), mode, "--host", host, "--port", addr["port"]] + sc_args
        if mode == "echo":
            cmd += ["--duration", str(args.duration), "--warmup", str(args.warmup)]
        else:
            cmd += ["--rounds", str(args.rounds)]
        for p in pids:
            cmd += ["--pid", str(p)]
        try:
            lg = subprocess.run(pin(1, cmd, can_pin), capture_output=True, text=True,
                                timeout=args.duration + args.warmup + 120)
        except subprocess.TimeoutExpired:
            res["error"] = "loadgen timed out"
            return res
        res["rss_kib"] = vm_hwm_kib(pids)
        out = [l for l in lg.stdout.splitlines() if l.startswith("{")]
        if not out:
            res["error"] = f"loadgen exit {lg.returncode}: {lg.stderr.strip()[-300:]}"
            return res
        res.update(json.loads(out[-1]))
        res["ok"] = bool(res["ok"]) and lg.returncode == 0 and res.get("msgs", 0) > 0
        if srv.poll() is not None:
            res["ok"], res["error"] = False, f"server died (exit {srv.returncode}) " + res.get("error", "")
        return res
    finally:
        if srv.poll() is None:
            srv.send_signal(signal.SIGTERM)
            try:
                srv.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(srv.pid, signal.SIGKILL)  # its own session: only the server's group
                srv.wait()
                res["note"] = "did not exit within 10 s of SIGTERM"
        res["server_output"] = lines[-10:]


def med(rs, key):
    vals = [r[key] for r in rs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def summarize(rs):
    ok = [r for r in rs if r["ok"]]
    for r in ok:
        r["cpu_us_per_msg"] = r["server_cpu_us"] / r["msgs"]
        if r.get("server_sys_us") is not None and r["server_cpu_us"] > 0:
            r["kernel_pct"] = 100 * r["server_sys_us"] / r["server_cpu_us"]
    s = {"runs": len(rs), "ok": len(ok), "poller": "/".join(sorted({r.get("poller", "?") for r in rs}))}
    for k in ("msgs_per_s", "p50_us", "p99_us", "cpu_us_per_msg", "kernel_pct", "rss_kib", "tail_ms", "loadgen_cpu_pct",
              "size"):
        s[k] = med(ok, k)
    if ok:
        v = [r["msgs_per_s"] for r in ok]
        s["spread"] = (max(v) - min(v)) / statistics.median(v) * 100
    return s


def fmt(v, spec):
    return "–" if v is None else format(v, spec)


def table(sc, kind, names, results):
    fan = kind in FANOUT_KINDS
    unit = "deliveries/s" if fan else "msgs/s"
    per = "delivery" if fan else "msg"
    sums = {n: summarize(results[n]) for n in names}
    bname = BASELINE.get(kind, "libuv")
    base = sums.get(bname, {})
    hdr = ["server", "polls with", "ok runs", unit, "spread", "p50 µs", "p99 µs", f"CPU µs/{per}", "in kernel", "peak RSS MiB",
           f"{unit} ÷ {bname}", f"CPU/{per} ÷ {bname}", "loadgen CPU %"]
    if fan:
        hdr[5:7] = ["tail ms", "–"]
    rows = []
    for n in names:
        s = sums[n]
        ratio = lambda k: fmt(s[k] / base[k], ".2f") if s.get(k) and base.get(k) else "–"
        lat = ([fmt(s["p50_us"], ".0f"), fmt(s["p99_us"], ".0f")] if not fan
               else [fmt(s["tail_ms"], ".0f"), "–"])
        rows.append([n, s["poller"], f"{s['ok']}/{s['runs']}", fmt(s["msgs_per_s"], ",.0f"),
                     "–" if s.get("spread") is None else f"±{s['spread'] / 2:.0f}%", *lat,
                     fmt(s["cpu_us_per_msg"], ".3f"),
                     "–" if s.get("kernel_pct") is None else f"{s['kernel_pct']:.0f}%",
                     fmt(s["rss_kib"] / 1024 if s["rss_kib"] is not None else None, ".1f"),
                     ratio("msgs_per_s"), ratio("cpu_us_per_msg"), fmt(s["loadgen_cpu_pct"], ".0f")])
    if fan:  # no latency percentiles: drop the empty column
        hdr.pop(6)
        for r in rows:
            r.pop(6)
    if kind == "tls":  # payload echoed per second, beside msgs/s
        hdr.insert(4, "MB/s")
        for n, r in zip(names, rows):
            s = sums[n]
            r.insert(4, fmt(s["msgs_per_s"] * s["size"] / 1e6 if s.get("msgs_per_s") and s.get("size") else None, ",.1f"))
    print(f"\n### {sc}: {SCENARIOS[sc][2]}\n")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "|".join("---" for _ in hdr) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    for n in names:
        for r in results[n]:
            if not r["ok"]:
                print(f"\n- {n}: failed run: {r.get('error') or 'see --json output'}")
                break
    goal_ratios(sums, GOALS.get(kind, []))
    return sums


# The comparisons issue 14's goals are stated in: (label, row, [reference rows: the
# cheapest of them counts], column). CPU ratios below 1 and msgs/s ratios above 1 are good.
GOALS = {"echo": [
    ("iocpnet (io_uring) CPU/msg ÷ better raw loop", "iocpnet", ["raw-uring", "raw-epoll"], "cpu_us_per_msg"),
    ("iocpnet-epoll CPU/msg ÷ raw epoll loop", "iocpnet-epoll", ["raw-epoll"], "cpu_us_per_msg"),
    ("iocpnet (io_uring) CPU/msg ÷ Boost.Asio", "iocpnet", ["asio"], "cpu_us_per_msg"),
    ("iocpnet (io_uring) CPU/msg ÷ thread per connection", "iocpnet", ["thread-per-conn"], "cpu_us_per_msg"),
    ("iocpnet (io_uring) CPU/msg ÷ select()", "iocpnet", ["select"], "cpu_us_per_msg"),
    ("Java binding CPU/msg ÷ plain Java NIO", "java", ["java-nio"], "cpu_us_per_msg"),
    ("C# binding CPU/msg ÷ System.Net.Sockets", "csharp", ["csharp-sockets"], "cpu_us_per_msg"),
    ("Java binding msgs/s ÷ C server (iocpnet)", "java", ["iocpnet"], "msgs_per_s"),
    ("C# binding msgs/s ÷ C server (iocpnet)", "csharp", ["iocpnet"], "msgs_per_s"),
],
    # Issue 11: no more CPU per message than Asio's SSL echo.
    "tls": [("iocpnet (io_uring) CPU/msg ÷ Asio SSL (goal ≤ 1.0)", "iocpnet", ["asio-ssl"], "cpu_us_per_msg"),
            ("iocpnet-epoll CPU/msg ÷ Asio SSL (goal ≤ 1.0)", "iocpnet-epoll", ["asio-ssl"], "cpu_us_per_msg"),
            ("iocpnet (io_uring) msgs/s ÷ Asio SSL", "iocpnet", ["asio-ssl"], "msgs_per_s")],
    # Issue 12: at most half the CPU per message of npm's ws.
    "ws-echo": [("iocpnet (io_uring) CPU/msg ÷ ws (goal ≤ 0.5)", "iocpnet", ["ws-node"], "cpu_us_per_msg"),
                ("iocpnet-epoll CPU/msg ÷ ws (goal ≤ 0.5)", "iocpnet-epoll", ["ws-node"], "cpu_us_per_msg"),
                ("iocpnet (io_uring) msgs/s ÷ ws", "iocpnet", ["ws-node"], "msgs_per_s")],
    "ws-fanout": [("iocpnet (io_uring) CPU/delivery ÷ ws (goal ≤ 0.5)", "iocpnet", ["ws-node"], "cpu_us_per_msg"),
                  ("iocpnet-epoll CPU/delivery ÷ ws (goal ≤ 0.5)", "iocpnet-epoll", ["ws-node"], "cpu_us_per_msg"),
                  ("iocpnet (io_uring) deliveries/s ÷ ws", "iocpnet", ["ws-node"], "msgs_per_s")],
}


AGREE = 0.25  # |stress_client ÷ loadgen − 1| of server CPU/msg within this counts as agreeing


def clients_agree(loadgen, stress):
    """The same servers under the two clients: server CPU per message should match
    (each client paces 100 ping-pong connections); msgs/s is each client's own speed."""
    print("\n| server | CPU µs/msg, loadgen | CPU µs/msg, stress_client | ratio | agree (±25 %) | msgs/s, loadgen | msgs/s, stress_client |")
    print("|---|---|---|---|---|---|---|")
    for n, st in stress.items():
        lg = loadgen.get(n, {})
        a, b = lg.get("cpu_us_per_msg"), st.get("cpu_us_per_msg")
        r = b / a if a and b else None
        print(f"| {n} | {fmt(a, '.3f')} | {fmt(b, '.3f')} | {fmt(r, '.2f')} | "
              f"{'–' if r is None else 'yes' if abs(r - 1) <= AGREE else 'NO'} | "
              f"{fmt(lg.get('msgs_per_s'), ',.0f')} | {fmt(st.get('msgs_per_s'), ',.0f')} |")


def goal_ratios(sums, goals):
    lines = []
    for label, row, refs, key in goals:
        mine = sums.get(row, {}).get(key)
        theirs = [sums[r][key] for r in refs if sums.get(r, {}).get(key)]
        if mine and theirs:  # the cheapest reference for CPU, the fastest for msgs/s
            best = min(theirs) if key == "cpu_us_per_msg" else max(theirs)
            lines.append(f"| {label} | {mine / best:.2f} |")
    if lines:
        print("\n| ratio of medians | value |\n|---|---|")
        print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny durations and 1 repetition (CI smoke)")
    ap.add_argument("--scenario", action="append", choices=sorted(SCENARIOS),
                    help="run only this scenario (repeatable); default: all")
    ap.add_argument("--reps", type=int, help="repetitions per server (default 5; --quick: 1)")
    ap.add_argument("--duration", type=float, help="echo: measured seconds per run (default 2)")
    ap.add_argument("--warmup", type=float, help="echo: unmeasured seconds before (default 0.5)")
    ap.add_argument("--rounds", type=int, help="fanout rounds (default 200; --quick: 20)")
    ap.add_argument("--server", action="append", default=[], metavar="NAME=COMMAND",
                    help="extra echo server; STD options appended unless COMMAND has --port")
    ap.add_argument("--relay", action="append", default=[], metavar="NAME=COMMAND", help="extra relay server")
    ap.add_argument("--bindings", action="store_true",
                    help="add the echo rows java, java-nio, csharp, csharp-sockets (built when missing)")
    ap.add_argument("--servers", help="comma list: run only these rows (e.g. iocpnet,libuv)")
    ap.add_argument("--rebuild", action="store_true", help="run scripts/build.sh linux even if the samples exist")
    ap.add_argument("--json", help="write every run's raw result here")
    ap.add_argument("--plot", metavar="DIR", help="write PNG charts here (needs matplotlib)")
    ap.add_argument("--idle-json", metavar="FILE", help="with --plot: idle_memory.py --json output to chart too")
    ap.add_argument("--from-json", metavar="FILE",
                    help="no run: tabulate (and --plot) the runs saved by an earlier --json")
    args = ap.parse_args()
    q = args.quick
    args.reps = args.reps or (1 if q else 5)
    args.duration = args.duration if args.duration is not None else (0.3 if q else 2.0)
    args.warmup = args.warmup if args.warmup is not None else (0.1 if q else 0.5)
    args.rounds = args.rounds or (20 if q else 200)
    scenarios = args.scenario or list(SCENARIOS)

    if args.from_json:
        return replay(args)
    args.scenarios = scenarios
    build_bench()
    if args.bindings:
        build_bindings()
    if any(SCENARIOS[sc][0] in ("ws-echo", "ws-fanout") for sc in scenarios):
        ensure_ws_node()
    servers = server_table(args)
    if ("echo-64-stress" in scenarios or proxy_bench.NAME in scenarios
            or any(argv[0].startswith(SAMPLES) for table in servers.values() for _, argv in table)):
        build_samples(args.rebuild)
    can_pin = {0, 1} <= os.sched_getaffinity(0) and subprocess.run(
        ["taskset", "-c", "0", "true"], capture_output=True).returncode == 0
    if not can_pin:
        log("warning: CPUs 0 and 1 not both available (or no taskset): running unpinned")

    print(f"## iocpnet benchmark — {time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}, "
          f"Linux {platform.release()}, {os.cpu_count()} CPUs\n")
    print(f"`{shlex.join(['python3', 'bench/run.py'] + sys.argv[1:])}` — server on CPU 0 with --threads 1, "
          f"loadgen on CPU 1{'' if can_pin else ' (NOT pinned)'}; {args.reps} alternating repetitions, medians; "
          f"echo {args.warmup:g} s warm-up + {args.duration:g} s measured; fanout {args.rounds} rounds.")
    everything, summaries = [], {}
    for sc in scenarios:
        if sc == proxy_bench.NAME:
            everything += proxy_bench.run(args, {
                "samples": SAMPLES, "out": OUT, "pin": lambda cpu, argv: pin(cpu, argv, can_pin),
                "descendants": descendants, "poller": poller, "vm_hwm_kib": vm_hwm_kib}, log)
            continue
        kind, sc_args, _ = SCENARIOS[sc]
        names = [n for n, _ in servers[kind]]
        results = {n: [] for n in names}
        for rep in range(args.reps):
            for name, argv in servers[kind]:  # alternate: every server once per repetition
                r = run_once(kind, sc_args, name, argv, args, can_pin)
                r.update(scenario=sc, rep=rep + 1)
                results[name].append(r)
                everything.append(r)
                log(f"[{sc}] rep {rep + 1}/{args.reps} {name}: " +
                    (f"{r['msgs_per_s']:,.0f}/s, server CPU {r['server_cpu_us'] / r['msgs']:.3f} µs/msg"
                     if r["ok"] else f"FAILED: {r['error']}"))
                time.sleep(0.2)  # let the previous server's sockets go before the next starts
        summaries[sc] = (kind, table(sc, kind, names, results))
        if sc == "echo-64-stress" and "echo-64" in summaries:
            clients_agree(summaries["echo-64"][1], summaries[sc][1])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(everything, f, indent=1)
    if args.plot:
        charts(args, everything)
    return 0 if all(r["ok"] for r in everything) else 1


def grouped(everything):
    """{scenario: (kind, {server: [runs]})}, in the order the runs were made."""
    out = {}
    for r in everything:
        kind = SCENARIOS.get(r["scenario"], ("echo",))[0]
        out.setdefault(r["scenario"], (kind, {}))[1].setdefault(r["server"], []).append(r)
    return out


def charts(args, everything):
    """bench/plot.py in this interpreter, or in Debian's when this one lacks matplotlib."""
    try:
        import matplotlib  # noqa: F401
        here = True
    except ImportError:
        here = False
    if here:
        sys.path.insert(0, BENCH)
        import plot
        idle = None
        if args.idle_json:
            with open(args.idle_json) as f:
                idle = json.load(f)
        for path in plot.plot(args.plot, plot.grouped(everything, SCENARIOS), idle):
            log(f"wrote {path}")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(everything, f)
        f.flush()
        cmd = ["/usr/bin/python3", os.path.join(BENCH, "plot.py"), args.plot, f.name] + ([args.idle_json] if args.idle_json else [])
        if subprocess.run(cmd).returncode != 0:
            log("plotting failed: is python3-matplotlib installed (scripts/setup.sh)?")


def replay(args):
    with open(args.from_json) as f:
        everything = json.load(f)
    sums = {}
    for sc, (kind, runs) in grouped(everything).items():
        if sc == proxy_bench.NAME:
            proxy_bench.table(runs)
            continue
        sums[sc] = table(sc, kind, list(runs), runs)
        if sc == "echo-64-stress" and "echo-64" in sums:
            clients_agree(sums["echo-64"], sums[sc])
    if args.plot:
        charts(args, everything)
    return 0 if all(r["ok"] for r in everything) else 1


if __name__ == "__main__":
    sys.exit(main())
