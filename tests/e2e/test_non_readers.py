"""Many clients, some of which never read: the chat and relay servers must
deliver every line to the clients that read, drop only the ones whose send
queues are full, and stay within a memory bound derived from those queues.

Each test runs two identical waves against one server started with
--max-queue QUEUE. In a wave 200 clients connect: first 50 that set a tiny
SO_RCVBUF and never read, then 150 readers; each reader sends 200 lines of
200 bytes while reading everything. Checked per wave:

  (a) every reader receives every line due to it (chat: the exact text, in
      each sender's order; relay: every byte of every other reader's);
  (b) every non-reader is disconnected, for a full send queue, and no reader;
  (c) the server's peak RSS (VmHWM) <= 64 MiB + 2 x the sum of the clients'
      queue limits (200 x QUEUE);
  (d) the second wave, after the first wave's clients left, raises the peak
      by at most 10 %.

Pacing. The engine has no way to stop reading a sender, so both servers take
every line at once and the rule is: a receiver whose queue is full is
dropped, a sender never is. A reader that keeps up is then never dropped as
long as it is never a queue behind, and the readers here make sure of that
the way TCP would if the server could pause a sender: they send in rounds,
round k being every reader's line k, and round k + WINDOW opens once every
reader has every line of round k; so the server never holds more than
WINDOW x 149 lines (32 KB at WINDOW 1) for a reader. WINDOW is 1 because
what the readers have in flight when the non-readers are cut is part of the
peak: with 8, peaks of identical waves differed by up to 40 %, too much for
(d). E2E_WINDOW=N sets it; unpaced (200), readers fall a whole queue behind
within a second and are cut off with the non-readers.

QUEUE is 1 MiB rather than the engine's default 4 MiB: each client is due
about 6 MB in a wave, which must exceed the queue plus the socket buffers on
the way for the non-readers to be cut off (unpaced with 4 MiB, the relay's
were not),
and a smaller bound catches a per-message overhead sooner, taking less
memory from a shared machine.

One selectors loop in this process drives all the clients. Linux only:
memory is read from /proc/PID/status.
"""
import os
import re
import selectors
import socket
import time
import unittest

from harness import DEADLINE, Server, proc_kib, socket_count

NON_READERS, READERS, LINES, LINE_BYTES = 50, 150, 200, 200  # a line: 199 bytes + "\n"
QUEUE = 1 << 20                 # --max-queue for the server
WINDOW = int(os.environ.get("E2E_WINDOW", 0)) or 1  # rounds of lines in flight, see above
WAVE_DEADLINE = 75.0            # seconds for one wave: it takes 5-15, 30-40 on a loaded machine
BASE_MIB = 64
BOUND_KIB = BASE_MIB * 1024 + 2 * (NON_READERS + READERS) * QUEUE // 1024  # (c): 464 MiB
# A server past the bound has failed (c) already: the wave stops there rather
# than let it grow (by GiBs) on a shared machine. E2E_GUARD_MIB=N lets it run
# on to N MiB, to see how far it goes.
GUARD_KIB = int(os.environ.get("E2E_GUARD_MIB", 0)) * 1024 or BOUND_KIB
TCP_CLOSE, TCP_CLOSE_WAIT = 7, 8






def cut_off(sock):
    """Whether the server reset or closed this connection, without reading
    it: Linux moves it to CLOSE on a reset, CLOSE_WAIT on a FIN."""
    try:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0] in (TCP_CLOSE, TCP_CLOSE_WAIT)
    except OSError:
        return True


class Peer:
    def __init__(self, index, reader, port):
        self.index, self.reader = index, reader
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if not reader:  # before connecting, so the advertised window is tiny too
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(DEADLINE)
        self.sock.connect(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.out = b""
        self.tail = b""         # chat: a partial line
        self.cut_at = None      # non-readers: when the server cut it off
        self.received = 0       # lines of the others' (chat) / bytes (relay)


class Wave:
    """One wave of clients against a running server. Subclasses know the
    protocol: the handshake, the lines, and how a reader counts them."""

    def __init__(self, test, server):
        self.test, self.server = test, server
        self.sel = selectors.DefaultSelector()
        self.peers, self.errors = [], []
        self.round = 0

    # -- pacing, in rounds: round k lets every reader send its lines < k

    def start_pacing(self):
        self.round = 0
        self.feed()

    def feed(self):
        """Opens the next rounds once every reader has all the lines of the
        rounds up to WINDOW before them: what the server holds for a reader
        then never exceeds WINDOW x (READERS - 1) lines."""
        low = min(self.lines_received(p) for p in self.readers) // (READERS - 1)
        upto = min(LINES, low + WINDOW)
        if upto > self.round:
            for p in self.readers:
                self.send(p, self.lines_of(p, self.round, upto))
            self.round = upto

    # -- driving the sockets

    def send(self, p, data):
        p.out += data
        self.sel.modify(p.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, p)

    def pump(self, until, deadline, what):
        """Runs the loop until until() holds. Fails on a reader's error, after
        the deadline, or once the server's RSS passes GUARD_KIB (and kills it)."""
        next_check = 0.0
        while not until():
            now = time.monotonic()
            if self.errors:
                raise AssertionError("; ".join(self.errors[:5]))
            if now > deadline:
                raise AssertionError("%s: not done in %.0f s: %s" % (what, WAVE_DEADLINE, self.progress()))
            if now >= next_check:
                next_check = now + 0.05
                rss = proc_kib(self.server.proc.pid, "VmRSS")
                if rss > GUARD_KIB:
                    state = self.progress()
                    self.server.stop()
                    raise AssertionError("(c) %s: the server's RSS reached %d MiB, over %d MiB; stopped it. %s"
                                         % (what, rss // 1024, GUARD_KIB // 1024, state))
                for p in self.peers:
                    if not p.reader and p.cut_at is None and cut_off(p.sock):
                        p.cut_at = now
            for key, events in self.sel.select(0.05):
                p = key.data
                if events & selectors.EVENT_READ:
                    self.read(p)
                if events & selectors.EVENT_WRITE and p.out:
                    try:
                        n = p.sock.send(p.out)
                        p.out = p.out[n:]
                    except BlockingIOError:
                        pass
                    except OSError as e:
                        self.errors.append("reader %d: send failed: %s" % (p.index, e))
                    if not p.out:
                        self.sel.modify(p.sock, selectors.EVENT_READ, p)
            if self.round:
                self.feed()

    def read(self, p):
        try:
            data = p.sock.recv(1 << 18)
        except BlockingIOError:
            return
        except OSError as e:
            data, why = b"", str(e)
        else:
            why = "end of stream"
        if not data:
            self.sel.unregister(p.sock)
            self.errors.append("reader %d was disconnected (%s) after %d of %s"
                               % (p.index, why, p.received, self.due_text()))
            return
        self.consume(p, data)

    def progress(self):
        done = sum(1 for p in self.readers if p.received == self.due())
        cut = sum(1 for p in self.peers if not p.reader and p.cut_at is not None)
        return "%d/%d readers have all they are due, %d/%d non-readers cut off, server RSS %d MiB" % (
            done, READERS, cut, NON_READERS, proc_kib(self.server.proc.pid, "VmRSS") // 1024)

    # -- a wave

    def run(self):
        """Returns the seconds from the first line sent to the end."""
        deadline = time.monotonic() + WAVE_DEADLINE
        for i in range(NON_READERS + READERS):
            p = Peer(i, i >= NON_READERS, self.server.port)
            self.peers.append(p)
            if p.reader:
                self.sel.register(p.sock, selectors.EVENT_READ, p)
        self.readers = [p for p in self.peers if p.reader]
        for rank, p in enumerate(self.readers):
            p.rank = rank
        self.handshake(deadline)
        t0 = time.monotonic()
        self.start_pacing()
        self.pump(lambda: all(p.received >= self.due() for p in self.readers)
                  and all(p.cut_at is not None for p in self.peers if not p.reader),
                  deadline, "wave")
        return time.monotonic() - t0

    def close(self):
        for p in self.peers:
            try:
                self.sel.unregister(p.sock)
            except (KeyError, ValueError):
                pass
            p.sock.close()
        self.sel.close()


class ChatWave(Wave):
    """chat_server: "* welcome NICK" first; a line goes to everyone else as
    "NICK: TEXT", never back to its sender; "* NICK joined" and "* NICK left"
    news in between. So each reader is due the 200 lines of each of the 149
    other readers."""

    def handshake(self, deadline):
        self.nicks, self.online, self.expect = {}, 0, {}
        for i, p in enumerate(self.readers):
            p.next = [0] * READERS  # next line number due from each reader
            p.next[i] = -1          # never its own
        self.pump(lambda: len(self.nicks) == READERS, deadline, "welcomes")
        self.bodies = [[b"%03d %03d " % (i, n) + b"x" * (LINE_BYTES - 9) for n in range(LINES)]
                       for i in range(READERS)]
        # every line a reader may receive, as relayed, -> (sender, its number)
        self.expect = {self.nicks[q].encode() + b": " + body: (i, n)
                       for i, q in enumerate(self.readers) for n, body in enumerate(self.bodies[i])}
        while self.online < NON_READERS + READERS:  # until everyone is a member
            self.online = -1
            self.send(self.readers[0], b"/who\n")
            self.pump(lambda: self.online >= 0, deadline, "/who")
            if self.online < NON_READERS + READERS:
                time.sleep(0.05)

    def lines_of(self, p, a, b):
        return b"".join(body + b"\n" for body in self.bodies[p.rank][a:b])

    def lines_received(self, p):
        return p.received

    def due(self):
        return (READERS - 1) * LINES

    def due_text(self):
        return "%d lines" % self.due()

    def consume(self, p, data):
        lines = (p.tail + data).split(b"\n")
        p.tail = lines.pop()
        expect, nxt, got = self.expect.get, p.next, 0
        for line in lines:
            e = expect(line)
            if e is None:
                self.other_line(p, line)
                continue
            i, n = e
            if nxt[i] != n:
                self.errors.append("reader %d: got line %d of %s, not line %d"
                                   % (p.index, n, self.nicks[self.readers[i]], nxt[i]))
                continue
            nxt[i] = n + 1
            got += 1
        p.received += got

    def other_line(self, p, line):
        if line.startswith(b"* welcome "):
            self.nicks[p] = line[10:].decode()
        elif line.startswith(b"* online: "):
            self.online = len(line[10:].split(b", "))
        elif not line.startswith(b"* ") or not line.endswith((b" joined", b" left")):
            self.errors.append("reader %d: unexpected line %r" % (p.index, line[:80]))

    def reader_nicks(self):
        return set(self.nicks.values())


class RelayWave(Wave):
    """relay_server: every byte a client sends goes, unchanged, to every other
    client, and the reads of different senders interleave at any byte. So
    each reader's lines are made of one byte value of its own, and a receiver
    counts the bytes of each value: every other reader's LINES x 199, its own
    none, and LINES x (READERS - 1) newlines. A few sync bytes (value 1) first
    prove that every reader is connected and relayed to."""
    SYNC = 1

    def handshake(self, deadline):
        self.value = {p: 0x21 + i for i, p in enumerate(self.readers)}  # 0x21..0xb6: no "\n", no SYNC
        for p in self.readers:
            p.counts = [0] * 256
        first = self.readers[0]
        while not all(p.counts[self.SYNC] for p in self.readers[1:]):
            self.send(first, bytes([self.SYNC]))
            end = time.monotonic() + 0.2
            self.pump(lambda: time.monotonic() > end or all(p.counts[self.SYNC] for p in self.readers[1:]),
                      deadline, "sync")

    def lines_of(self, p, a, b):
        return (bytes([self.value[p]]) * (LINE_BYTES - 1) + b"\n") * (b - a)

    def due(self):
        return (READERS - 1) * LINES * LINE_BYTES

    def due_text(self):
        return "%d bytes" % self.due()

    def lines_received(self, p):
        return p.received // LINE_BYTES

    def consume(self, p, data):
        c = p.counts
        for frag in data.split(b"\n"):
            if frag.count(frag[:1]) == len(frag):
                if frag:
                    c[frag[0]] += len(frag)
            else:  # where one sender's read ends and another's begins, or sync bytes
                for m in re.finditer(rb"(.)\1*", frag, re.S):
                    c[frag[m.start()]] += m.end() - m.start()
        c[10] += data.count(b"\n")
        p.received = sum(c) - c[self.SYNC]

    def check(self, p):
        for q in self.readers:
            want = 0 if q is p else LINES * (LINE_BYTES - 1)
            self.test.assertEqual(p.counts[self.value[q]], want, "reader %d: bytes of reader %d" % (p.index, q.index))
        self.test.assertEqual(p.counts[10], (READERS - 1) * LINES, "reader %d: newlines" % p.index)


@unittest.skipUnless(os.path.exists("/proc/self/status"), "reads the server's memory from /proc")
class NonReadersCase(unittest.TestCase):
    server_name = wave_class = None

    def setUp(self):
        self.server = Server(self.server_name, ["--max-queue", str(QUEUE)])
        self.pid = self.server.proc.pid

    def tearDown(self):
        self.server.stop()

    def drops(self, pattern):
        """The server's drop messages of this wave: waits (the server's stderr
        arrives on another thread) until there are NON_READERS, or more."""
        deadline = time.monotonic() + DEADLINE
        while True:
            found = re.findall(pattern, self.server.stderr_text())[self.drops_before:]
            if len(found) >= NON_READERS or time.monotonic() > deadline:
                self.drops_before += len(found)
                return found
            time.sleep(0.05)

    def wave(self):
        w = self.wave_class(self, self.server)
        try:
            elapsed = w.run()
            for p in w.readers:
                self.check_reader(w, p)
            self.check_drops(w)
        finally:
            w.close()
        deadline = time.monotonic() + DEADLINE  # all gone: the server is back to its own sockets
        while socket_count(self.pid) > self.base_sockets:
            self.assertLess(time.monotonic(), deadline, "the server still holds the wave's sockets")
            time.sleep(0.05)
        return elapsed

    def test_non_readers(self):
        self.base_sockets = socket_count(self.pid)
        peaks = []
        self.drops_before = 0
        for n in range(2):
            elapsed = self.wave()
            peaks.append(proc_kib(self.pid, "VmHWM"))
            print("%s wave %d: %.1f s, server peak RSS %.1f MiB (bound %.0f MiB)"
                  % (self.server_name, n + 1, elapsed, peaks[-1] / 1024, BOUND_KIB / 1024), flush=True)
            self.assertLessEqual(peaks[-1], BOUND_KIB, "(c) peak RSS (KiB) over 64 MiB + 2 x the queue limits")
        self.assertLessEqual(peaks[1], peaks[0] * 1.1, "(d) the second wave raised the peak (KiB) by over 10 %")


class ChatNonReaders(NonReadersCase):
    server_name, wave_class = "chat_server", ChatWave

    def check_reader(self, w, p):
        self.assertEqual(p.received, w.due())
        self.assertEqual(p.next, [LINES] * p.rank + [-1] + [LINES] * (READERS - 1 - p.rank), "reader %d" % p.index)

    def check_drops(self, w):
        """Exactly the 50 non-readers, each for a full queue (the server
        names the nick it drops): none of the readers."""
        drops = self.drops(r"disconnected (\S+): (.*)")
        self.assertEqual(len(drops), NON_READERS, drops)
        self.assertEqual({why for _, why in drops}, {"not reading (send queue full)"})
        self.assertEqual({nick for nick, _ in drops} & w.reader_nicks(), set(), "(b) readers were dropped")


class RelayNonReaders(NonReadersCase):
    server_name, wave_class = "relay_server", RelayWave

    def check_reader(self, w, p):
        w.check(p)

    def check_drops(self, w):
        """Exactly 50 drops, each for a full queue (the relay drops only
        when send_many_ex reports WOULD_BLOCK); no reader saw its stream end."""
        drops = self.drops(r"relay: disconnected connection \d+: (.*)")
        self.assertEqual(drops, ["could not keep up"] * NON_READERS)
