"""End-to-end tests of chat servers sharing one Redis (chat_server --redis).

Each test starts its own redis-server on a free loopback port (no
persistence) and two or three chat servers on it, and stops them by PID.
Lines from another server travel through Redis, so a local /who round trip
proves nothing about them; instead a private "barrier" message from the
same sender marks the point by which its earlier lines have arrived (one
server's events leave through one connection, in order). Waits for
presence poll /who with a deadline."""
import re
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import DEADLINE, Client, Server, who

PRESENCE_S = 10.0  # the bound for kill -9 and Redis restarts


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Redis:
    """A redis-server of our own on 127.0.0.1:port."""

    def __init__(self, port=None):
        self.port = port or free_port()
        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + DEADLINE
        while self.command("PING") != "+PONG":
            assert self.proc.poll() is None, "redis-server exited with %s" % self.proc.returncode
            assert time.monotonic() < deadline, "redis-server did not answer on port %d" % self.port
            time.sleep(0.05)

    def command(self, *args):
        """One inline command; its first reply line, or None if unreachable."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(" ".join(args).encode() + b"\r\n")
                data = b""
                while b"\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        return None
                    data += chunk
                if data.startswith(b"$-1"):
                    return None
                if data.startswith(b"$"):
                    while data.count(b"\r\n") < 2:
                        data += s.recv(4096)
                    return data.split(b"\r\n")[1].decode()
                return data.split(b"\r\n")[0].decode()
        except OSError:
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class RedisCase(unittest.TestCase):
    def setUp(self):
        self.redis = Redis()
        self.servers = {}
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        for s in self.servers.values():
            s.stop()
        self.redis.stop()

    def server(self, node):
        s = Server("chat_server", ["--redis", "127.0.0.1:%d" % self.redis.port, "--node", node])
        self.servers[node] = s
        self.assertEqual(s.out.next(), "redis 127.0.0.1:%d, node %s" % (self.redis.port, node))
        self.assertTrue(s.stderr_has("chat: redis up"), s.stderr_text())
        return s

    def nick_reply(self, c):
        """The reply to c's /nick, past others' news."""
        while True:
            line = c.read_line()
            assert line is not None, "stream ended"
            if line.startswith("! ") or line.startswith("* you are now "):
                return line

    def client(self, node, nick=None):
        c = Client(self.servers[node].port)
        self.clients.append(c)
        line = c.read_line()
        self.assertRegex(line, r"^\* welcome guest-%s-\d+$" % node)
        c.nick = line[len("* welcome "):]
        if nick:
            c.send_line("/nick " + nick)
            self.assertEqual(self.nick_reply(c), "* you are now " + nick)
            c.nick = nick
        return c

    def wait_who(self, c, want, timeout=PRESENCE_S):
        """Polls c's /who until it is `want`; returns the seconds it took.
        Lines that arrive meanwhile are dropped."""
        start = time.monotonic()
        while True:
            _, online = who(c)
            if online == want:
                return time.monotonic() - start
            self.assertLess(time.monotonic() - start, timeout, "last /who: %r, wanted %r" % (online, want))
            time.sleep(0.1)

    def barrier(self, sender, receiver, tag):
        """Everything sender's server published before this has reached
        receiver: returns receiver's lines before the barrier."""
        sender.send_line("/msg %s barrier %s" % (receiver.nick, tag))
        return receiver.read_until("%s (private): barrier %s" % (sender.nick, tag))

    def mesh(self, clients):
        """Waits until every client's /who lists them all (same room), then
        reads and drops every news line still under way (barriers between
        every pair), so that tests start from quiet clients."""
        want = "* online: " + ", ".join(sorted(c.nick for c in clients))
        for c in clients:
            self.wait_who(c, want)
        for s in clients:
            for r in clients:
                if r is not s:
                    self.barrier(s, r, "settle")


class ChatRedis(RedisCase):
    def test_rooms_private_and_nicks_across_three_servers(self):
        for n in ("A", "B", "C"):
            self.server(n)
        a, b, c = self.client("A", "alice"), self.client("B", "bob"), self.client("C", "carol")
        self.mesh([a, b, c])
        a.send_line("/join games")
        a.expect("* you are now in games")
        self.assertEqual(self.barrier(a, b, 1), ["* alice moved to games"])
        self.assertEqual(self.barrier(a, c, 1), ["* alice moved to games"])
        b.send_line("/join games")
        b.expect("* you are now in games")
        self.assertEqual(self.barrier(b, a, 1), ["* bob joined"])
        self.assertEqual(self.barrier(b, c, 1), ["* bob moved to games"])
        a.send_line("anyone for chess?")
        c.send_line("lonely in the lobby")
        self.assertEqual(self.barrier(a, b, 2), ["alice: anyone for chess?"])
        self.assertEqual(self.barrier(a, c, 2), [])  # the room only
        self.assertEqual(self.barrier(c, a, 1), [])
        self.assertEqual(self.barrier(c, b, 1), [])
        _, online = who(b)
        self.assertEqual(online, "* online: alice, bob")
        c.send_line("/rooms")
        c.expect("* rooms: games (2), lobby (1)")
        c.send_line("/msg nobody hi")
        c.expect("! no such nick")
        b.send_line("/nick bobby")
        b.expect("* you are now bobby")
        b.nick = "bobby"
        self.assertEqual(self.barrier(b, a, 2), ["* bob is now bobby"])
        self.assertEqual(self.barrier(b, c, 2), [])
        self.assertEqual(self.redis.command("GET", "chat:nick:bobby"), "B")
        self.assertIsNone(self.redis.command("GET", "chat:nick:bob"))  # given back
        b.send_line("/quit")
        self.assertTrue(b.wait_closed())
        # B publishes the departure in on_close, which may come after b saw
        # the close: no barrier from another server orders it, so wait for it
        self.assertEqual(a.read_until("* bobby left"), [])
        self.wait_who(a, "* online: alice")

    def test_nick_clash_across_servers(self):
        self.server("A")
        self.server("B")
        a, b = self.client("A", "alice"), self.client("B")
        self.mesh([a, b])
        b.send_line("/nick alice")
        b.expect("! that nick is taken")
        b.send_line("/nick guest-A-7")  # guest names are the servers' to give
        b.expect("! guest names are given by the server")
        # two at once: Redis's SET NX decides, exactly one wins
        x, y = self.client("A"), self.client("B")
        x.send_line("/nick sam")
        y.send_line("/nick sam")
        replies = sorted([self.nick_reply(x), self.nick_reply(y)])
        self.assertEqual(replies, ["! that nick is taken", "* you are now sam"])

    def test_each_senders_lines_in_order(self):
        for n in ("A", "B", "C"):
            self.server(n)
        senders = [self.client(n, "s%s%d" % (n, i)) for n in ("A", "B") for i in range(3)]
        readers = [self.client("C", "r%d" % i) for i in range(2)] + [self.client("A", "rA")]
        self.mesh(senders + readers)
        lines = 200
        errors = []

        def read(r):
            try:
                nxt = {}
                want = {s.nick for s in senders if s is not r}
                while set(k for k, v in nxt.items() if v == lines) != want:
                    line = r.read_line()
                    assert line is not None, "%s: stream ended" % r.nick
                    if line.startswith("* "):
                        continue
                    sender, seq = line.split(": ")
                    assert int(seq) == nxt.get(sender, 0), "%s: %s out of order: %s" % (r.nick, sender, line)
                    nxt[sender] = int(seq) + 1
            except Exception as e:
                errors.append(e)

        threads = [threading.Thread(target=read, args=(r,)) for r in readers]
        for t in threads:
            t.start()
        for s in senders:
            s.send(b"".join(b"%d\n" % i for i in range(lines)))
        for t in threads:
            t.join(2 * DEADLINE)
        self.assertFalse(any(t.is_alive() for t in threads), "readers still waiting")
        self.assertEqual(errors, [])


class ChatRedisFailures(RedisCase):
    def test_kill9_server_vanishes_and_frees_its_nicks(self):
        self.server("A")
        self.server("B")
        a, ghost = self.client("A", "alice"), self.client("B", "ghost")
        self.mesh([a, ghost])
        self.servers["B"].proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        self.wait_who(a, "* online: alice")
        gone = time.monotonic() - killed
        a2 = self.client("A")
        while True:  # the nick's key lapses: it can be taken again
            a2.send_line("/nick ghost")
            if self.nick_reply(a2) == "* you are now ghost":
                break
            self.assertLess(time.monotonic() - killed, PRESENCE_S, "ghost's nick still taken")
            time.sleep(0.2)
        print("kill -9: users gone from /who after %.1f s, nick free after %.1f s"
              % (gone, time.monotonic() - killed))
        a.send_line("/rooms")
        a.read_until("* rooms: lobby (2)")

    def test_redis_restart(self):
        self.server("A")
        self.server("B")
        a, b = self.client("A", "alice"), self.client("B", "bob")
        a2 = self.client("A", "ann")
        self.mesh([a, a2, b])
        port = self.redis.port
        self.redis.stop()
        # local chat goes on without Redis
        a.send_line("still here")
        a2.read_until("alice: still here")
        a2.send_line("/nick anne")
        self.assertEqual(self.nick_reply(a2), "! nicks cannot change while Redis is unreachable")
        self.wait_who(a, "* online: alice, ann")  # bob's server is unknown now
        time.sleep(1.0)  # a few reconnect attempts fail meanwhile
        self.redis = Redis(port)
        restarted = time.monotonic()
        self.wait_who(a, "* online: alice, ann, bob")
        self.wait_who(b, "* online: alice, ann, bob")
        seq = 0
        while True:  # chat across servers again
            a.send_line("back %d" % seq)
            got = [l for l in self.barrier(a, b, "r%d" % seq) if l.startswith("alice: back")]
            if got:
                break
            seq += 1
            self.assertLess(time.monotonic() - restarted, PRESENCE_S)
        print("redis restart: chat across servers again after %.1f s" % (time.monotonic() - restarted))
        self.assertEqual(self.redis.command("GET", "chat:nick:alice"), "A")  # claimed again
        b.send_line("/nick alice")
        self.assertEqual(self.nick_reply(b), "! that nick is taken")
        for s in self.servers.values():
            self.assertIsNone(s.proc.poll())


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


class ChatRedisLoad(RedisCase):
    """1,000 clients over three servers in 10 rooms; 20 of them (two per
    room) send LINES lines each, twice. Every receiver must get every line of
    the senders in its room, in each sender's order (counted exactly), and
    the second wave must not grow any server's RSS by more than GROWTH_KIB.
    One selectors loop in this process drives all the clients. Linux only
    (/proc), not under ASan (its RSS is the sanitizer's)."""
    CLIENTS, ROOMS, SENDERS, LINES = 1000, 10, 20, 100
    GROWTH_KIB = 16 * 1024
    WAVE_DEADLINE = 60.0
    LINE = re.compile(rb"^(guest-\S+): M(\d+) (\d+)$")

    def setUp(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = self.CLIENTS + 256
        if soft < want:  # inherited by the servers too
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
        RedisCase.setUp(self)

    def pump(self, until, what):
        """Reads every client until until() holds; fails after the deadline."""
        deadline = time.monotonic() + self.WAVE_DEADLINE
        while not until():
            self.assertLess(time.monotonic(), deadline, "timed out: " + what)
            for key, _ in self.sel.select(0.5):
                i = key.data
                try:
                    data = key.fileobj.recv(1 << 16)
                except BlockingIOError:
                    continue
                self.assertTrue(data, "client %d was disconnected" % i)
                self.feed(i, data)

    def feed(self, i, data):
        lines = (self.rest[i] + data).split(b"\n")
        self.rest[i] = lines.pop()
        for line in lines:
            if self.nick[i] is None:
                self.nick[i] = line[len(b"* welcome "):]
            elif line == b"* you are now in r%d" % (i % self.ROOMS):
                self.in_room[i] = True
            elif b": M" in line:
                m = self.LINE.match(line)
                self.assertIsNotNone(m, line)
                sender, seq = int(m.group(2)), int(m.group(3))
                self.assertEqual(self.nick[sender], m.group(1))
                self.assertEqual(sender % self.ROOMS, i % self.ROOMS, "line of another room")
                want = self.next_seq[i].get(sender, 0)
                self.assertEqual(seq, want, "client %d: line %d of sender %d out of order" % (i, seq, sender))
                self.next_seq[i][sender] = seq + 1
                self.got += 1

    def test_thousand_clients_ten_rooms(self):
        ports = [self.server(n).port for n in ("A", "B", "C")]
        n = self.CLIENTS
        self.sel = selectors.DefaultSelector()
        self.rest, self.nick, self.in_room = [b""] * n, [None] * n, [False] * n
        self.next_seq, self.got = [dict() for _ in range(n)], 0
        socks = []
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", ports[i % 3]))
            socks.append(s)
            s.sendall(b"/join r%d\n" % (i % self.ROOMS))
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, i)
            if i % 100 == 99:  # keep up with the announcements as we go
                self.pump(lambda: True, "")
        try:
            self.pump(lambda: all(self.in_room), "joins")
            # every server must know every room's members before lines count
            for r in range(self.ROOMS):
                for s in range(3):
                    c = self.client("ABC"[s])
                    c.send_line("/join r%d" % r)
                    deadline = time.monotonic() + self.WAVE_DEADLINE
                    while True:
                        _, online = who(c)
                        if online.count(", ") + 1 == n // self.ROOMS + 1:
                            break
                        self.assertLess(time.monotonic(), deadline, "room r%d on %s: %s" % (r, "ABC"[s], online[:80]))
                        time.sleep(0.1)
                        self.pump(lambda: True, "")
                    c.close()
                    self.clients.remove(c)
            per_room = n // self.ROOMS
            due = self.SENDERS * (per_room - 1) * self.LINES
            rss = []
            for wave in range(2):
                start, base = time.monotonic(), self.got
                for k in range(self.SENDERS):
                    socks[k].sendall(b"".join(b"M%d %d\n" % (k, wave * self.LINES + j) for j in range(self.LINES)))
                self.pump(lambda: self.got - base >= due, "wave %d: %d of %d deliveries" % (wave, self.got - base, due))
                self.assertEqual(self.got - base, due)
                took = time.monotonic() - start
                rss.append([rss_kib(s.proc.pid) for s in self.servers.values()])
                print("wave %d: %d deliveries in %.1f s (%.0f/s), server RSS %s KiB"
                      % (wave, due, took, due / took, rss[-1]))
            for before, after in zip(rss[0], rss[1]):
                self.assertLessEqual(after - before, self.GROWTH_KIB, "RSS grew from %d to %d KiB" % (before, after))
        finally:
            self.sel.close()
            for s in socks:
                s.close()
