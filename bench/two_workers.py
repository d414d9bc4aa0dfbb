#!/usr/bin/env python3
"""Two workers under two load processes: the multi-core check a 2-core machine allows.

For each backend (io_uring, epoll) the iocpnet echo sample runs with
--threads 1 and then --threads 2 (alternating, --reps times), each time driven
by two bench/loadgen processes at once (--conns connections each, 64 B
ping-pong). Nothing is pinned: two workers and two clients share the 2 cores.
A run passes when both loadgens verified every echo; the check passes when the
median total msgs/s with 2 workers is at least --min-ratio (default 0.5) of the
median with 1 worker: not a scaling claim (2 cores cannot show one), only that
a second worker does not make the engine collapse (lock convoys, a shared
counter bouncing per message, wake-ups that ping-pong). See bench/README.md.

    python3 bench/two_workers.py [--duration 1] [--reps 3] [--json FILE]

Prints one Markdown table; exit status 0 only when every check passed.
"""
import argparse, json, os, re, signal, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOADGEN = os.path.join(ROOT, "build", "bench", "loadgen")
ECHO = os.path.join(ROOT, "build", "linux", "samples", "echo_server")


def one_run(backend, threads, args):
    """Total msgs/s of two concurrent loadgens, or an error string."""
    srv = subprocess.Popen([ECHO, "--host", "127.0.0.1", "--port", "0", "--threads", str(threads),
                            "--backend", backend], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = srv.stdout.readline()
        m = re.search(r"listening on \S+:(\d+)", line)
        if not m:
            return None, f"server did not start: {line!r}"
        cmd = [LOADGEN, "echo", "--host", "127.0.0.1", "--port", m.group(1), "--conns", str(args.conns),
               "--size", "64", "--duration", str(args.duration), "--warmup", str(args.warmup), "--pid", str(srv.pid)]
        lgs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        total, errs = 0.0, []
        for lg in lgs:
            out, err = lg.communicate(timeout=args.duration + args.warmup + 60)
            js = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
            if lg.returncode != 0 or not js or not js[-1]["ok"]:
                errs.append((js[-1]["error"] if js else err.strip()[-200:]) or f"exit {lg.returncode}")
            else:
                total += js[-1]["msgs_per_s"]
        if srv.poll() is not None:
            errs.append(f"server died (exit {srv.returncode})")
        return (None, "; ".join(errs)) if errs else (total, "")
    finally:
        if srv.poll() is None:
            srv.send_signal(signal.SIGTERM)
            try:
                srv.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(srv.pid, signal.SIGKILL)
                srv.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=1.0, help="measured seconds per run (default 1)")
    ap.add_argument("--warmup", type=float, default=0.2)
    ap.add_argument("--reps", type=int, default=3, help="runs per configuration, alternating (default 3)")
    ap.add_argument("--conns", type=int, default=50, help="connections per load process (default 50)")
    ap.add_argument("--min-ratio", type=float, default=0.5)
    ap.add_argument("--backends", default="io_uring,epoll")
    ap.add_argument("--json", help="write the checks here")
    args = ap.parse_args()
    for exe in (LOADGEN, ECHO):
        if not os.access(exe, os.X_OK):
            sys.exit(f"{exe} missing: run bench/run.py (builds the loadgen) and scripts/build.sh linux")
    checks = []
    print("| backend | 1 worker msgs/s | 2 workers msgs/s | ratio | runs verified | check |")
    print("|---|---|---|---|---|---|")
    for backend in args.backends.split(","):
        res = {1: [], 2: []}
        errors = []
        for _ in range(args.reps):
            for threads in (1, 2):  # alternate, so drift on a shared machine hits both
                v, err = one_run(backend, threads, args)
                if err:
                    errors.append(f"{threads} worker(s): {err}")
                else:
                    res[threads].append(v)
                time.sleep(0.2)
        m1 = statistics.median(res[1]) if res[1] else None
        m2 = statistics.median(res[2]) if res[2] else None
        ratio = m2 / m1 if m1 and m2 else None
        ok = not errors and ratio is not None and ratio >= args.min_ratio
        checks.append({"name": f"two workers, two load processes ({backend})", "ok": ok, "ratio": ratio,
                       "msgs_per_s_1": m1, "msgs_per_s_2": m2, "errors": errors})
        f = lambda v: "–" if v is None else f"{v:,.0f}"
        print(f"| {backend} | {f(m1)} | {f(m2)} | {'–' if ratio is None else f'{ratio:.2f}'} | "
              f"{len(res[1]) + len(res[2])}/{2 * args.reps} | {'ok' if ok else 'FAIL'} (≥ {args.min_ratio}) |")
        for e in errors:
            print(f"\n- {backend}: {e}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(checks, fh, indent=1)
    return 0 if all(c["ok"] for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
