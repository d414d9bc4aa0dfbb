"""End-to-end smoke tests of echo_server, relay_server and chat_client."""
import os
import random
import threading
import time
import unittest

from harness import DEADLINE, Client, Program, Server, chat_client


class Echo(unittest.TestCase):
    def setUp(self):
        self.server = Server("echo_server")

    def tearDown(self):
        self.server.stop()

    def test_one_mib_byte_exact(self):
        data = os.urandom(1 << 20)
        clients = [Client(self.server.port) for _ in range(3)]
        def send(c):  # random chunk sizes, while the main thread reads
            rng = random.Random(id(c))
            off = 0
            while off < len(data):
                n = rng.randint(1, 65536)
                c.send(data[off:off + n])
                off += n

        senders = [threading.Thread(target=send, args=(c,)) for c in clients]
        for t in senders:
            t.start()
        for c in clients:
            self.assertEqual(c.read_exact(len(data), 2 * DEADLINE), data)
        for t in senders:
            t.join(DEADLINE)
        for c in clients:
            c.close()
        self.server.terminate()
        self.assertEqual(self.server.wait(), 0)


    def test_backpressure_keeps_every_byte(self):
        """A client that sends 10 MiB before reading any: the echoes overflow
        the engine's 4 MiB queue (WOULD_BLOCK), wait in the server's pending
        buffer, and must all come back, in order."""
        c = Client(self.server.port, rcvbuf=4096)
        data = os.urandom(10 << 20)
        c.send(data)
        self.assertEqual(c.read_exact(len(data), 2 * DEADLINE), data)
        c.close()


class Relay(unittest.TestCase):
    def setUp(self):
        self.server = Server("relay_server")
        # the third has a small receive buffer (set before connecting, so the
        # window matches) to fill up quickly when it stops reading
        self.clients = [Client(self.server.port), Client(self.server.port), Client(self.server.port, rcvbuf=4096)]

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.server.stop()

    def wait_all_joined(self):
        """The relay has no greeting, so each client pings with its own
        letter until both others have heard it, then sends a capital letter
        as an end mark; after it nothing of the handshake is in flight."""
        letters = b"abc"
        heard = [set() for _ in self.clients]
        deadline = time.monotonic() + DEADLINE
        while not all(len(h) == 2 for h in heard):
            self.assertLess(time.monotonic(), deadline, "clients never heard each other")
            for i, c in enumerate(self.clients):
                c.send(letters[i:i + 1])
            time.sleep(0.05)  # pacing the pings, not synchronisation
            for i, c in enumerate(self.clients):
                c.sock.setblocking(False)
                try:
                    c.buf += c.sock.recv(1 << 16)
                except BlockingIOError:
                    pass
                c.sock.setblocking(True)
                heard[i].update(ch for ch in c.buf if ch in letters)
        for i, c in enumerate(self.clients):
            c.send(letters[i:i + 1].upper())
        for i, c in enumerate(self.clients):
            want = {ch for j, ch in enumerate(letters.upper()) if j != i}
            while not want <= set(c.buf):
                c._fill(time.monotonic() + DEADLINE)
            self.assertNotIn(letters[i:i + 1].upper(), c.buf)  # its own mark never comes back
            c.buf = b""

    def test_relayed_to_the_others_only(self):
        self.wait_all_joined()
        a, b, c = self.clients
        payload = os.urandom(256 << 10)
        a.send(payload)
        self.assertEqual(b.read_exact(len(payload)), payload)
        self.assertEqual(c.read_exact(len(payload)), payload)
        b.send(b"Z")  # a's first byte after the handshake must be b's, not its own
        self.assertEqual(a.read_exact(1), b"Z")
        self.assertEqual(c.read_exact(1), b"Z")
        a.close()  # a departure leaves the others relaying
        self.clients.remove(a)
        c.send(b"after")
        self.assertEqual(b.read_exact(5), b"after")
        self.server.terminate()
        self.assertEqual(self.server.wait(), 0)


    def test_receiver_that_cannot_keep_up(self):
        self.wait_all_joined()
        a, b, stuck = self.clients
        payload = os.urandom(16 << 20)  # far more than its queue and socket buffers hold
        step = 256 << 10
        for off in range(0, len(payload), step):  # b keeps up; b never waits for stuck
            a.send(payload[off:off + step])
            self.assertEqual(b.read_exact(step), payload[off:off + step])
        got = 0  # stuck reads now: its stream has a gap, so the relay cuts it off
        deadline = time.monotonic() + DEADLINE
        while not stuck.eof:
            got += len(stuck.buf)
            stuck.buf = b""
            try:
                stuck._fill(deadline)
            except AssertionError:
                raise AssertionError("stuck was never cut off; it got %d bytes" % got)
        self.assertLess(got, len(payload))
        self.assertTrue(self.server.stderr_has("could not keep up"), self.server.stderr_text())


class ChatClient(unittest.TestCase):
    def setUp(self):
        self.server = Server("chat_server")
        self.alice = chat_client(self.server.port, "alice")
        self.programs = []

    def tearDown(self):
        self.alice.close()
        for p in self.programs:
            p.stop()
        self.server.stop()

    def start_client(self):
        p = Program("chat_client", ["--host", "127.0.0.1", "--port", str(self.server.port)], stdin=True)
        self.programs.append(p)
        line = p.out.next()
        self.assertIsNotNone(line, p.stderr_text())
        self.assertRegex(line, r"^\* welcome guest-\d+$")
        return p, line[len("* welcome "):]

    def write(self, p, text):
        p.proc.stdin.write(text.encode() + b"\n")
        p.proc.stdin.flush()

    def test_through_a_pipe(self):
        p, guest = self.start_client()
        self.alice.read_until("* %s joined" % guest)
        self.write(p, "/nick bob")
        self.assertEqual(p.out.next(), "* you are now bob")
        self.alice.read_until("* %s is now bob" % guest)
        self.alice.send_line("hi bob")
        self.assertEqual(p.out.next(), "alice: hi bob")
        self.write(p, "hello alice")
        self.alice.read_until("bob: hello alice")
        p.proc.stdin.close()  # end of input: a graceful close, exit 0
        self.assertEqual(p.wait(), 0)
        self.alice.read_until("* bob left")

    def test_exits_when_the_server_closes(self):
        p, guest = self.start_client()
        self.write(p, "/quit")  # stdin stays open: the server's close ends it
        self.assertEqual(p.wait(), 0)
        self.alice.read_until("* %s left" % guest)
