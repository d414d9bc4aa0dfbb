"""End-to-end tests of samples/chat_server through real sockets."""
import threading
import time
import unittest

from harness import DEADLINE, Client, Server, chat_client, who


class ChatCase(unittest.TestCase):
    server_args = ()

    def setUp(self):
        self.server = Server("chat_server", self.server_args)
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.server.stop()

    def client(self, nick=None, rcvbuf=None):
        c = chat_client(self.server.port, nick, rcvbuf)
        self.clients.append(c)
        return c

    def raw(self):
        c = Client(self.server.port)
        self.clients.append(c)
        return c


class ChatBasics(ChatCase):
    def test_welcome_and_join(self):
        a = self.raw()
        wa = a.read_line()
        self.assertRegex(wa, r"^\* welcome guest-\d+$")
        b = self.raw()
        wb = b.read_line()
        self.assertRegex(wb, r"^\* welcome guest-\d+$")
        self.assertNotEqual(wa, wb)
        nick_b = wb[len("* welcome "):]
        a.read_until("* %s joined" % nick_b)
        before, _ = who(b)
        self.assertNotIn("* %s joined" % nick_b, before)  # not to the newcomer

    def test_nick_rules(self):
        a, b = self.client(), self.client()
        old = a.nick
        a.send_line("/nick alice")
        a.read_until("* you are now alice")  # after b's join
        b.read_until("* %s is now alice" % old)
        for bad in ["", "bad name", "x" * 33, "a!b", "caf\u00e9", "a/b"]:
            a.send_line("/nick " + bad)
            line = a.read_line()
            self.assertTrue(line.startswith("! "), "%r accepted: %r" % (bad, line))
        b.send_line("/nick alice")
        self.assertTrue(b.read_line().startswith("! "))  # taken
        a.send_line("/nick alice")
        self.assertTrue(a.read_line().startswith("! "))  # already hers
        long_ok = "B" * 32
        b.send_line("/nick " + long_ok)
        b.expect("* you are now " + long_ok)
        before, online = who(a)
        self.assertEqual(before, ["* %s is now %s" % (b.nick, long_ok)])  # refusals told nobody
        self.assertEqual(online, "* online: %s, alice" % long_ok)
        # a nick that looks like the next guest name is not handed out twice
        c = self.client()
        taken = "guest-%d" % (int(c.nick.split("-")[1]) + 1)
        c.send_line("/nick " + taken)
        c.expect("* you are now " + taken)
        d = self.client()
        self.assertNotEqual(d.nick, taken)
        _, online = who(d)
        names = online[len("* online: "):].split(", ")
        self.assertEqual(sorted(names), sorted(["alice", long_ok, taken, d.nick]))

    def test_who_sorted(self):
        for nick in ["charlie", "alice", "bob"]:
            self.client(nick)
        _, online = who(self.clients[0])
        self.assertEqual(online, "* online: alice, bob, charlie")

    def test_broadcast_to_others_only(self):
        a, b, c = self.client("alice"), self.client("bob"), self.client("carol")
        a.send(b"hello there\r\n")
        b.read_until("alice: hello there")
        c.read_until("alice: hello there")
        before, _ = who(a)
        self.assertNotIn("alice: hello there", before)
        a.send_line("")  # an empty line is ignored: one sender's lines stay in order,
        a.send_line("marker")  # so an empty broadcast would come before this one
        self.assertNotIn("alice: ", c.read_until("alice: marker"))
        self.assertNotIn("alice: ", b.read_until("alice: marker"))

    def test_unknown_command(self):
        a = self.client()
        for cmd in ["/dance", "/", "/WHO", "/nickname x"]:
            a.send_line(cmd)
            a.expect("! unknown command")

    def test_quit_and_dropped_client(self):
        a, b, c = self.client("alice"), self.client("bob"), self.client("carol")
        a.send_line("/quit")
        self.assertTrue(a.wait_closed())
        b.read_until("* alice left")
        c.read_until("* alice left")
        b.abort()  # a crashed client: reset, no goodbye
        c.read_until("* bob left")
        d = self.client("dave")
        d.close()  # an orderly disconnect without /quit
        c.read_until("* dave left")
        _, online = who(c)
        self.assertEqual(online, "* online: carol")

    def test_long_line(self):
        a, b = self.client("alice"), self.client("bob")
        b.send_line("y" * 4000)  # long but legal: relayed intact
        a.read_until("bob: " + "y" * 4000)
        a.send(b"x" * 5000 + b"\n")
        a.expect("! line too long")
        self.assertTrue(a.wait_closed())
        b.read_until("* alice left")
        c = self.client("carol")
        b.send_line("still here")
        c.read_until("bob: still here")


class ChatOrder(ChatCase):
    CLIENTS, LINES = 20, 200

    def test_per_sender_order(self):
        clients = [self.client("c%d" % i) for i in range(self.CLIENTS)]
        errors = []

        def reader(me, c):
            try:
                nxt = {}
                want = (self.CLIENTS - 1) * self.LINES
                got = 0
                while got < want:
                    line = c.read_line()
                    assert line is not None, "%s: stream ended after %d lines" % (me, got)
                    if line.startswith("* "):
                        continue
                    sender, seq = line.split(": ")
                    assert sender != me, "%s got its own line" % me
                    assert int(seq) == nxt.get(sender, 0), "%s: %s out of order: %s" % (me, sender, line)
                    nxt[sender] = int(seq) + 1
                    got += 1
                assert all(v == self.LINES for v in nxt.values()) and len(nxt) == self.CLIENTS - 1
            except Exception as e:  # reported by the main thread
                errors.append(e)

        threads = [threading.Thread(target=reader, args=(c.nick, c)) for c in clients]
        for t in threads:
            t.start()
        for part in range(4):  # every client sends at full speed, interleaved
            for c in clients:
                c.send(b"".join(b"%d\n" % i for i in range(part * 50, part * 50 + 50)))
        for t in threads:
            t.join(3 * DEADLINE)
        self.assertFalse(any(t.is_alive() for t in threads), "readers still waiting")
        self.assertEqual(errors, [])


class ChatSlowReader(ChatCase):
    """Ten chatters send as fast as they can read each other; the eleventh
    client never reads. The server must cut it off and never hold them up.
    Each sender stays at most WINDOW lines ahead of its slowest reader, so
    the chatters' own queues stay far below the server's limit: only the
    stuck client can fill its queue."""
    CHATTERS, PAYLOAD, WINDOW, MAX_LINES = 10, 3000, 100, 6000

    def test_client_that_never_reads(self):
        stuck = self.client("stuck", rcvbuf=4096)  # never reads again
        chatters = [self.client("c%d" % i) for i in range(self.CHATTERS)]
        nicks = [c.nick for c in chatters]
        cond = threading.Condition()
        got = {(r, s): 0 for r in nicks for s in nicks if r != s}  # lines r got from s
        state = {"stuck_left": False, "errors": [], "sent": {}}
        pad = b"." * self.PAYLOAD

        def done():
            return state["stuck_left"] or state["errors"]

        def sender(c):
            try:
                seq = 0
                while seq < self.MAX_LINES:
                    with cond:
                        ok = cond.wait_for(lambda: done() or seq - min(
                            got[(r, c.nick)] for r in nicks if r != c.nick) < self.WINDOW, DEADLINE)
                        assert ok, "%s: readers stalled" % c.nick
                        if done():
                            break
                    c.send(b"".join(b"%d %s\n" % (i, pad) for i in range(seq, seq + 20)))
                    seq += 20
                state["sent"][c.nick] = seq
                c.send_line("END")
            except Exception as e:
                with cond:
                    state["errors"].append(e)
                    cond.notify_all()

        def reader(c):
            try:
                ended = set()
                while len(ended) < self.CHATTERS - 1 or not state["stuck_left"]:
                    line = c.read_line()
                    assert line is not None, "%s was disconnected" % c.nick
                    if line.startswith("* "):
                        if line == "* stuck left":
                            with cond:
                                state["stuck_left"] = True
                                cond.notify_all()
                        continue
                    sender_, text = line.split(": ", 1)
                    if text == "END":
                        ended.add(sender_)
                        continue
                    seq = int(text.split(" ", 1)[0])
                    with cond:
                        assert seq == got[(c.nick, sender_)], "%s: line %d of %s missing" % (
                            c.nick, got[(c.nick, sender_)], sender_)
                        got[(c.nick, sender_)] = seq + 1
                        cond.notify_all()
            except Exception as e:
                with cond:
                    state["errors"].append(e)
                    cond.notify_all()

        threads = [threading.Thread(target=f, args=(c,)) for c in chatters for f in (sender, reader)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(4 * DEADLINE)
        self.assertFalse(any(t.is_alive() for t in threads), "chatters still running")
        self.assertEqual(state["errors"], [])
        print("lines sent before the stuck client was cut off:", sum(state["sent"].values()), "received:", sum(got.values()))
        for (r, s), n in got.items():  # every line of every other chatter, in order
            self.assertEqual(n, state["sent"][s], "%s got %d of %s's lines" % (r, n, s))
        self.assertTrue(stuck.wait_closed())
        self.assertTrue(self.server.stderr_has("disconnected stuck"), self.server.stderr_text())


class ChatIdle(ChatCase):
    server_args = ("--idle-timeout", "1")

    def test_idle_client_is_closed(self):
        a, b = self.client("alice"), self.client("bob")
        start = time.monotonic()
        left = False
        while not left:  # bob stays active; alice says nothing
            self.assertLess(time.monotonic() - start, DEADLINE, "alice was never timed out")
            before, _ = who(b)
            left = "* alice left" in before
            if not left:
                time.sleep(0.2)  # pacing bob's activity, not synchronisation
        self.assertGreaterEqual(time.monotonic() - start, 0.9)
        self.assertTrue(a.wait_closed())
        _, online = who(b)
        self.assertEqual(online, "* online: bob")


class ChatShutdown(ChatCase):
    def test_sigterm(self):
        clients = [self.client(n) for n in ("alice", "bob", "carol")]
        self.server.terminate()
        for c in clients:
            before = c.read_until("* server shutting down")
            self.assertEqual([l for l in before if l.endswith(" left")], [])
            self.assertTrue(c.wait_closed())
        self.assertEqual(self.server.wait(), 0)
        self.server.out.thread.join(DEADLINE)
        stats = [l for l in self.server.out.all if l.startswith("statistics:")]
        self.assertEqual(len(stats), 1, self.server.out.all)
        self.assertIn("connections accepted 3", stats[0])
