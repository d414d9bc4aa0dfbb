"""samples/stress_client against samples/echo_server (on the backend under
test), and against a broken echo server, which it must catch."""
import json
import socket
import threading
import unittest

from harness import CONFIG, DEADLINE, Program, Server


def run_stress(port, *args, timeout=2 * DEADLINE):
    """Runs stress_client to the end; returns (exit status, its JSON line, all output).
    The client gives up at DEADLINE, well before `timeout`, so a stuck run still reports."""
    p = Program("stress_client", ["--host", "127.0.0.1", "--port", str(port), "--timeout", str(int(DEADLINE))]
                + list(args))
    try:
        rc = p.wait(timeout)
        p.out.thread.join(DEADLINE)
        p.err.thread.join(DEADLINE)
        out = "\n".join(p.out.all + p.err.all)
        js = [line for line in p.out.all if line.startswith("{")]
        return rc, (json.loads(js[-1]) if js else None), out
    finally:
        p.stop()


class CorruptingEcho:
    """A loopback echo server (Python, one thread per connection) that flips
    one byte of the 1,000th byte it echoes on each connection."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _serve(c):
        seen = 0
        with c:
            while True:
                try:
                    b = bytearray(c.recv(65536))
                    if not b:
                        return
                    if seen <= 1000 < seen + len(b):
                        b[1000 - seen] ^= 0x55
                    seen += len(b)
                    c.sendall(b)
                except OSError:
                    return

    def close(self):
        self.sock.close()


class Stress(unittest.TestCase):
    def setUp(self):
        self.server = Server("echo_server", ["--threads", "2"])

    def tearDown(self):
        self.server.stop()

    def check_clean(self, rc, js, out, conns, msgs):
        self.assertEqual(rc, 0, out)
        self.assertIsNotNone(js, out)
        self.assertTrue(js["ok"], out)
        self.assertEqual(js["errors"], 0, out)
        self.assertEqual(js["msgs"], conns * msgs, out)
        self.assertGreater(js["msgs_per_s"], 0, out)
        self.assertGreater(js["p999_us"], 0, out)

    def test_small_messages_all_verified(self):
        # Under Wine every overlapped operation is a round trip through wineserver
        # (~1,000 echoes/s with 50 connections on a loaded 2-core machine): fewer rounds there.
        msgs = 40 if CONFIG.backend == "iocp" else 200
        rc, js, out = run_stress(self.server.port, "--connections", "50", "--messages", str(msgs), "--size", "64")
        self.check_clean(rc, js, out, 50, msgs)

    def test_large_messages_two_threads(self):
        """200 KB messages: every echo arrives in many pieces, on two worker threads."""
        rc, js, out = run_stress(self.server.port, "--connections", "8", "--messages", "20",
                                 "--size", "200000", "--threads", "2")
        self.check_clean(rc, js, out, 8, 20)
        self.assertEqual(js["size"], 200000)

    def test_text_messages(self):
        rc, js, out = run_stress(self.server.port, "--connections", "5", "--messages", "100",
                                 "--text", "hello, iocpnet")
        self.check_clean(rc, js, out, 5, 100)
        self.assertEqual(js["size"], len("hello, iocpnet"))

    def test_corrupted_echo_is_an_error(self):
        bad = CorruptingEcho()
        try:
            # 64 B messages: the 1,000th byte is in message 16 of each connection.
            rc, js, out = run_stress(bad.port, "--connections", "4", "--messages", "50", "--size", "64")
        finally:
            bad.close()
        self.assertEqual(rc, 1, out)
        self.assertFalse(js["ok"], out)
        self.assertEqual(js["errors"], 4, out)
        self.assertEqual(js["msgs"], 4 * 15, out)  # each connection verified the 15 messages before it
        self.assertIn("echo differs", out)

    def test_server_gone_is_an_error(self):
        port = self.server.port
        self.server.terminate()
        self.assertEqual(self.server.wait(), 0)
        rc, js, out = run_stress(port, "--connections", "3", "--messages", "10")
        self.assertEqual(rc, 1, out)
        self.assertEqual(js["errors"], 3, out)
        self.assertEqual(js["msgs"], 0, out)
