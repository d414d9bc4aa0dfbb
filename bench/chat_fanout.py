#!/usr/bin/env python3
"""Chat fan-out benchmark: one room of --clients clients on one chat_server,
then the same load spread over three chat_servers sharing a redis-server.
Builds bench/chat_fanout.c into build/bench/, uses build/linux/samples/
chat_server, prints a Markdown table (medians of --reps runs). Servers (and
redis-server) are pinned to CPU 0, the client to CPU 1 (taskset), as
the project's measuring rules ask on a 2-core machine.

    python3 bench/chat_fanout.py [--clients 900] [--senders 10] [--rate 20] [--duration 5] [--reps 3]
"""
import argparse, json, os, socket, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "build", "bench")
SERVER = os.path.join(ROOT, "build", "linux", "samples", "chat_server")
PIN_SERVER, PIN_CLIENT = ["taskset", "-c", "0"], ["taskset", "-c", "1"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_server(extra):
    p = subprocess.Popen(PIN_SERVER + [SERVER, "--host", "127.0.0.1", "--port", "0", "--threads", "1"] + extra,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline().decode()
    assert line.startswith("listening on "), line
    return p, int(line.rsplit(":", 1)[1])


def wait_redis(port):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def run(args, servers):
    procs, redis = [], None
    try:
        if servers == 1:
            procs.append(start_server([]))
        else:
            rport = free_port()
            redis = subprocess.Popen(PIN_SERVER + ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL)
            wait_redis(rport)
            for i in range(servers):
                procs.append(start_server(["--redis", "127.0.0.1:%d" % rport, "--node", "n%d" % i]))
            time.sleep(1.0)  # connected and subscribed
        ports = ",".join(str(port) for _, port in procs)
        out = subprocess.run(PIN_CLIENT + [os.path.join(OUT, "chat_fanout"), "--ports", ports, "--clients", str(args.clients),
                              "--senders", str(args.senders), "--rate", str(args.rate),
                              "--duration", str(args.duration)], capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise SystemExit("chat_fanout failed: %s %s" % (out.stdout, out.stderr))
        return json.loads(out.stdout)
    finally:
        for p, _ in procs:
            p.kill()
            p.wait()
        if redis:
            redis.kill()
            redis.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=900)
    ap.add_argument("--senders", type=int, default=10)
    ap.add_argument("--rate", type=int, default=20, help="lines per second per sender")
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    subprocess.check_call(["cc", "-O2", "-o", os.path.join(OUT, "chat_fanout"), os.path.join(ROOT, "bench", "chat_fanout.c")])
    rows = []
    for servers, name in ((1, "one chat_server"), (3, "three chat_servers + Redis")):
        results = [run(args, servers) for _ in range(args.reps)]
        med = lambda k: statistics.median(r[k] for r in results)
        rows.append((name, med("deliveries_per_s"), med("p50_us") / 1000, med("p99_us") / 1000))
        print("%s: %s" % (name, results), file=sys.stderr)
    print("%d clients in one room, %d senders x %d lines/s for %g s (%d runs, medians; servers on CPU 0, client on CPU 1)\n"
          % (args.clients, args.senders, args.rate, args.duration, args.reps))
    print("| set-up | deliveries/s | p50 latency | p99 latency |")
    print("| --- | ---: | ---: | ---: |")
    for name, d, p50, p99 in rows:
        print("| %s | %.0f | %.1f ms | %.1f ms |" % (name, d, p50, p99))


if __name__ == "__main__":
    main()
