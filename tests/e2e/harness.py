"""Helpers for the end-to-end tests: start a sample server, talk to it.

Configuration comes from the command line (see run.py), so the same tests
drive Linux binaries or Windows ones under a wrapper such as `wine`.
Every wait has a deadline; nothing sleeps to synchronise.
"""
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import threading
import time

DEADLINE = 30.0  # seconds for any single expected event on a loaded machine


class Config:
    wrapper = []          # e.g. ["wine"]
    backend = None        # passed as --backend when set
    binaries = {}         # "chat_server" -> path
    stop_signal = signal.SIGTERM  # how the tests ask a server to shut down


CONFIG = Config()


def configure(wrapper, backend, binaries, stop_signal="TERM"):
    CONFIG.wrapper = shlex.split(wrapper) if wrapper else []
    CONFIG.stop_signal = getattr(signal, "SIG" + stop_signal)
    CONFIG.backend = backend
    CONFIG.binaries = {k: v for k, v in binaries.items() if v}


class LineReader:
    """Collects a pipe's lines on a thread so reads can have deadlines."""

    def __init__(self, stream):
        self.lines = queue.Queue()
        self.all = []
        self.thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self.thread.start()

    def _run(self, stream):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.all.append(line)
            self.lines.put(line)
        self.lines.put(None)  # end of output

    def next(self, timeout=DEADLINE):
        """The next line, or None at end of output. Fails on timeout."""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no output line within %.0f s" % timeout)


class Program:
    """A sample binary run with the configured wrapper and backend."""

    def __init__(self, name, args, stdin=False):
        if name not in CONFIG.binaries:
            raise AssertionError("no path given for %s" % name)
        cmd = CONFIG.wrapper + [CONFIG.binaries[name]] + list(args)
        if CONFIG.backend:
            cmd += ["--backend", CONFIG.backend]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = LineReader(self.proc.stdout)
        self.err = LineReader(self.proc.stderr)

    def wait(self, timeout=DEADLINE):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("process still running after %.0f s" % timeout)

    def stop(self):
        """Kills it if still running (test cleanup), and closes the pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f:
                f.close()

    def stderr_text(self):
        return "\n".join(self.err.all)

    def stderr_has(self, text, timeout=DEADLINE):
        """Whether `text` shows up on stderr (written by another thread of
        the program, so possibly a moment after what the test observed)."""
        deadline = time.monotonic() + timeout
        while text not in self.stderr_text():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True


class Server(Program):
    """A sample server on an ephemeral loopback port."""

    def __init__(self, name, extra=()):
        Program.__init__(self, name, ["--host", "127.0.0.1", "--port", "0"] + list(extra))
        line = self.out.next()
        if line is None or not line.startswith("listening on "):
            if line is None:  # it exited: collect all it said
                self.err.thread.join(DEADLINE)
            self.stop()
            hint = ""
            if line is None and self.proc.returncode == 0 and not self.err.all and CONFIG.wrapper:
                # Wine ends a program silently with 0 when its wineserver goes away.
                hint = " (ended silently with 0 under %s: did the wineserver exit?)" % CONFIG.wrapper[0]
            raise AssertionError("%s did not start (%r), exit status %s%s:\n%s"
                                 % (name, line, self.proc.returncode, hint, self.stderr_text()))
        self.port = int(line.rsplit(":", 1)[1])

    def terminate(self):
        self.proc.send_signal(CONFIG.stop_signal)


class Client:
    """A raw TCP client with line reads that have deadlines."""

    def __init__(self, port, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(DEADLINE)
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def send_line(self, text):
        self.sock.sendall(text.encode() + b"\n")

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out waiting for data (have %r)" % self.buf[:200])
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            raise AssertionError("timed out waiting for data (have %r)" % self.buf[:200])
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
        self.buf += data

    def read_line(self, timeout=DEADLINE):
        """The next line without "\n"; None at end of stream."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            if self.eof:
                return None
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def expect(self, text, timeout=DEADLINE):
        line = self.read_line(timeout)
        assert line == text, "expected %r, got %r" % (text, line)

    def read_until(self, text, timeout=DEADLINE):
        """Reads lines until `text`; returns the lines before it."""
        before = []
        deadline = time.monotonic() + timeout
        while True:
            line = self.read_line(max(0.0, deadline - time.monotonic()))
            assert line is not None, "stream ended before %r (after %r)" % (text, before[-5:])
            if line == text:
                return before
            before.append(line)

    def read_exact(self, n, timeout=DEADLINE):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            assert not self.eof, "stream ended after %d of %d bytes" % (len(self.buf), n)
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def wait_closed(self, timeout=DEADLINE):
        """True once the peer closed (EOF or reset), discarding data."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            self.buf = b""
            self._fill(deadline)
        return True

    def abort(self):
        """Closes with a reset (SO_LINGER 0), as a crashed client would."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.sock.close()

    def close(self):
        self.sock.close()


def who(c):
    """Sends /who; returns (lines received before its reply, the reply)."""
    c.send_line("/who")
    before = []
    while True:
        line = c.read_line()
        assert line is not None, "stream ended before the /who reply (after %r)" % before[-5:]
        if line.startswith("* online: "):
            return before, line
        before.append(line)


def chat_client(port, nick=None, rcvbuf=None):
    """A chat client past its welcome (and nick change, if asked). The /who
    round trip at the end guarantees that the server has finished announcing
    this client to everyone: the announcement precedes any command's reply."""
    c = Client(port, rcvbuf)
    line = c.read_line()
    assert line and line.startswith("* welcome guest-"), line
    c.nick = line[len("* welcome "):]
    if nick:
        c.send_line("/nick " + nick)
        c.expect("* you are now " + nick)
        c.nick = nick
    who(c)
    return c


# ---------------------------------------------------------------- /proc and ports

def proc_kib(pid, field):
    """A memory field of /proc/PID/status (VmRSS, VmHWM) in KiB; 0 if absent."""
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"^%s:\s+(\d+) kB" % field, f.read(), re.M)
    return int(m.group(1)) if m else 0


def socket_count(pid):
    """How many sockets the process holds open."""
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
        except OSError:
            pass
    return n


def free_port():
    """A loopback TCP port nothing listens on right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
