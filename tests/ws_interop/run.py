#!/usr/bin/env python3
"""WebSocket interop with npm's `ws` (an implementation nobody here wrote).

Installs `ws` with npm into <build>/ws-node once, then:
  1. ws as client (client_test.cjs) against iocpnet's server (ws_peer server);
  2. iocpnet's client (ws_peer client) against ws as server (server.cjs).
Both peers run on 127.0.0.1 ephemeral ports and are stopped by PID.
Usage: run.py WS_PEER BUILD_DIR [--wrapper=CMD] [--stop-signal TERM|INT]
--wrapper runs ws_peer under an emulator (the mingw build: ws_peer.exe under
scripts/wine-env.sh, node on the host; they meet over 127.0.0.1), and
--stop-signal is how ws_peer server is asked to stop (INT under Wine: Wine
turns it into the console Ctrl-C event ws_peer waits for).
Prints "ws-interop: N passed, M failed"; exit status 0 only if all passed.
"""
import argparse, os, shlex, signal, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))


def ensure_ws(node_dir):
    if os.path.isdir(os.path.join(node_dir, 'node_modules', 'ws')):
        return
    os.makedirs(node_dir, exist_ok=True)
    subprocess.run(['npm', 'install', '--no-audit', '--no-fund', '--prefix', node_dir, 'ws@8'], check=True,
                   stdout=sys.stderr)


def read_port(proc):
    for _ in range(20):
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith('PORT '):
            return int(line.split()[1])
    raise RuntimeError('no PORT line from %s' % proc.args)


def stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('ws_peer')
    ap.add_argument('build')
    ap.add_argument('--wrapper', default='')
    ap.add_argument('--stop-signal', default='TERM', choices=['TERM', 'INT'])
    a = ap.parse_args()
    build = os.path.abspath(a.build)  # node resolves WS_DIR from the script's folder otherwise
    peer = shlex.split(a.wrapper) + [a.ws_peer]
    stop_sig = getattr(signal, 'SIG' + a.stop_signal)
    node_dir = os.path.join(build, 'ws-node')
    ensure_ws(node_dir)
    env = dict(os.environ, WS_DIR=node_dir)
    passed = failed = 0

    # 1. ws client -> iocpnet server
    srv = subprocess.Popen(peer + ['server'], stdout=subprocess.PIPE, text=True, env=env)
    try:
        port = read_port(srv)
        r = subprocess.run(['node', os.path.join(here, 'client_test.cjs'), str(port)], capture_output=True, text=True,
                           env=env, timeout=120)
        print(r.stdout + r.stderr)
        for line in r.stdout.splitlines():
            if line.startswith('OK '):
                passed += 1
            elif line.startswith('FAIL '):
                failed += 1
        if r.returncode != 0 and not any(l.startswith('FAIL ') for l in r.stdout.splitlines()):
            failed += 1
    finally:
        stop(srv, stop_sig)
    if srv.returncode != 0:
        print('FAIL ws_peer server exited with %s' % srv.returncode)
        failed += 1

    # 2. iocpnet client -> ws server
    node = subprocess.Popen(['node', os.path.join(here, 'server.cjs')], stdout=subprocess.PIPE, text=True, env=env)
    try:
        port = read_port(node)
        r = subprocess.run(peer + ['client', str(port)], capture_output=True, text=True, env=env, timeout=120)
        print(r.stdout + r.stderr)
        for line in r.stdout.splitlines():
            if line.startswith('OK '):
                passed += 1
            elif line.startswith('FAIL '):
                failed += 1
        if r.returncode != 0:
            failed += 1
        try:
            out, _ = node.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            out = ''
        print(out)
        for want, what in (('PATH /interop', 'request path seen by ws'), ('CLOSE 1000 PONG hb', 'close 1000 and pong seen by ws')):
            ok = want in out
            print('%s %s' % ('OK' if ok else 'FAIL', what))
            passed, failed = passed + ok, failed + (not ok)
    finally:
        stop(node)
    print('ws-interop: %d passed, %d failed' % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == '__main__':
    sys.exit(main())
