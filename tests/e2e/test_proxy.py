"""End-to-end tests of proxy_server: the test plays both the client and the
upstream (a Python server on a free loopback port), so it sees both ends of
every stream the proxy carries.

ProxyStream (Linux: memory comes from /proc/PID/status)
  1 GiB from the client to an upstream that first reads slowly, then at full
  speed: byte-exact, the proxy's peak RSS (VmHWM) <= 32 MiB + 2 x --max-queue,
  and the sender never gets further ahead of the reader than the buffers on
  the way can hold (the sockets' kernel buffers, the upstream's send queue
  and one kept chunk): the proxy paused its reading, TCP held the sender.
  Then 256 MiB the other way, to a client that reads slowly at first.
ProxyHalfClose
  an HTTP/1.0-style exchange (request, FIN, then the reply and EOF), and the
  other way round (the upstream half-closes first, the client keeps sending).
ProxyMany (Linux and Wine: sockets are counted in /proc/PID/fd)
  500 pairs at once, random sizes, every byte echoed back exact through a
  half-close; then the proxy holds no connection but its listener.
ProxyRefused
  an upstream that refuses closes the client, and the proxy carries on.
ProxyReset (Linux: under Wine the client sees the proxy's abort as a FIN
  most of the time, an open question about the IOCP backend under Wine)
  an upstream reset mid-transfer resets the client.
ProxyTls (Linux: the TLS provider and the test PKI, IOCPNET_TEST_CERTS)
  --tls-cert/--tls-key: a Python ssl client (verifying the test CA and the
  name) through the proxy to a plain upstream that echoes: 4 MiB each way
  byte-exact, the upstream sees exactly the plaintext, and its FIN reaches
  the client as a TLS close (close_notify, then EOF); a plain-TCP client is
  refused without the upstream ever being dialled.
"""
import os
import random
import re
import selectors
import socket
import threading
import time
import unittest

from harness import DEADLINE, Client, Server, proc_kib, socket_count

MIB = 1 << 20






def sysctl_max(name):
    """The largest buffer TCP autotuning may give a socket (third field)."""
    with open("/proc/sys/net/ipv4/" + name) as f:
        return int(f.read().split()[2])


class Upstream:
    """A listening socket on a free loopback port, standing in for the server
    behind the proxy."""

    def __init__(self, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:  # inherited by accepted sockets, and fixes their window from the handshake on
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]

    def accept(self):
        self.sock.settimeout(DEADLINE)
        conn, _ = self.sock.accept()
        conn.settimeout(DEADLINE)
        return conn

    def close(self):
        self.sock.close()


def proxy(upstream_port, *extra):
    return Server("proxy_server", ["--upstream", "127.0.0.1:%d" % upstream_port] + list(extra))


def read_to_eof(sock):
    out = bytearray()
    while True:
        b = sock.recv(1 << 16)
        if not b:
            return bytes(out)
        out += b


class ProxyStream(unittest.TestCase):
    TOTAL = 1 << 30         # bytes through the proxy
    QUEUE = 1 * MIB         # --max-queue
    SLOW_S = 3.0            # the slow phase: 16 KiB every 2 ms at most (8 MB/s)
    CHUNK = 256 * 1024      # the sender's writes
    BASE_MIB = 32

    def test_one_gib_slow_reader_bounded(self):
        """Client to upstream: the proxy pauses the client."""
        self._stream(self.TOTAL, client_sends=True)

    def test_256_mib_to_a_slow_client(self):
        """Upstream to client: the proxy pauses the upstream."""
        self._stream(self.TOTAL // 4, client_sends=False)

    def _stream(self, total, client_sends):
        up = Upstream(rcvbuf=128 * 1024)
        srv = proxy(up.port, "--max-queue", str(self.QUEUE), "--threads", "2")
        try:
            self._run(up, srv, total, client_sends)
        except AssertionError as e:
            raise AssertionError("%s\nproxy stderr:\n%s" % (e, srv.stderr_text()[-3000:]))
        finally:
            srv.stop()
            up.close()

    def _run(self, up, srv, total, client_sends):
        pattern = os.urandom(MIB + 13)  # a length that the chunks never line up with
        period = len(pattern)
        twice = pattern + pattern
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # small buffers at both ends (set before connecting, so the windows match)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF if client_sends else socket.SO_RCVBUF, 128 * 1024)
        client.settimeout(DEADLINE)
        client.connect(("127.0.0.1", srv.port))
        upconn = up.accept()
        if not client_sends:
            upconn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 128 * 1024)
        writer, reader = (client, upconn) if client_sends else (upconn, client)
        # What may legitimately sit between the writer's sendall and the
        # reader: the writer's send buffer, the proxy's receive buffer on the
        # writer's side and send buffer on the reader's side (autotuned, so
        # their maxima), the reader's receive buffer, the send queue of the
        # proxy's connection to the reader (--max-queue), the one chunk the
        # proxy keeps (64 KiB) and what the engine read before the pause took
        # effect (one more receive).
        bound = (writer.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
                 + reader.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
                 + sysctl_max("tcp_rmem") + sysctl_max("tcp_wmem") + self.QUEUE + 2 * 65536)
        sent = [0]
        failure = []

        def send():
            try:
                view = memoryview(twice)
                off = 0
                while off < total:
                    n = min(self.CHUNK, total - off)
                    start = off % period
                    writer.sendall(view[start:start + n])
                    off += n
                    sent[0] = off
                writer.shutdown(socket.SHUT_WR)
            except OSError as e:
                failure.append(e)

        t0 = time.monotonic()
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        got, max_lag = 0, 0
        buf = bytearray(MIB)
        view = memoryview(buf)
        slow_until = time.monotonic() + self.SLOW_S
        while True:
            slow = time.monotonic() < slow_until
            n = reader.recv_into(view, 16384 if slow else len(buf))
            if n == 0:
                break
            start = got % period
            if view[:n] != twice[start:start + n]:
                self.fail("byte %d onwards differs from what was sent" % got)
            got += n
            lag = sent[0] - got
            max_lag = max(max_lag, lag)
            self.assertLessEqual(lag, bound, "the sender is %d bytes ahead of the reader: the proxy "
                                 "buffers instead of pausing (bound %d)" % (lag, bound))
            if slow:
                time.sleep(0.002)
            self.assertLess(time.monotonic() - t0, 4 * DEADLINE, "%d bytes took too long" % total)
        elapsed = time.monotonic() - t0
        sender.join(DEADLINE)
        self.assertFalse(failure, failure)
        self.assertEqual(got, total)
        hwm = proc_kib(srv.proc.pid, "VmHWM")
        limit = self.BASE_MIB * 1024 + 2 * self.QUEUE // 1024
        print("\n  %d MiB in %.1f s; sender at most %.1f MiB ahead (bound %.1f MiB); proxy peak RSS %.1f MiB "
              "(bound %.1f MiB)" % (total // MIB, elapsed, max_lag / MIB, bound / MIB, hwm / 1024.0, limit / 1024.0))
        self.assertLessEqual(hwm, limit, "proxy peak RSS %d KiB above %d KiB" % (hwm, limit))
        # After the sender's FIN the proxy forwards it (half_open): the reader
        # saw EOF above; its own FIN then closes both connections.
        reader.shutdown(socket.SHUT_WR)
        self.assertEqual(read_to_eof(writer), b"")
        client.close()
        upconn.close()


class ProxyHalfClose(unittest.TestCase):
    def setUp(self):
        self.up = Upstream()
        self.srv = proxy(self.up.port)

    def tearDown(self):
        self.srv.stop()
        self.up.close()

    def test_request_fin_then_reply(self):
        request = b"GET /big HTTP/1.0\r\nHost: test\r\n\r\n" + os.urandom(100000)
        reply = b"HTTP/1.0 200 OK\r\n\r\n" + os.urandom(3 * MIB)
        seen = {}

        def serve():  # replies only once the request's EOF arrived
            conn = self.up.accept()
            seen["request"] = read_to_eof(conn)
            conn.sendall(reply)
            conn.close()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        c = Client(self.srv.port)
        c.send(request)
        c.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(read_to_eof(c.sock), reply)  # the whole reply, then EOF
        t.join(DEADLINE)
        self.assertEqual(seen.get("request"), request)
        c.close()

    def test_upstream_fin_first_client_keeps_sending(self):
        greeting = os.urandom(200000)
        upload = os.urandom(2 * MIB)
        seen = {}

        def serve():
            conn = self.up.accept()
            conn.sendall(greeting)
            conn.shutdown(socket.SHUT_WR)  # done talking, still listening
            seen["upload"] = read_to_eof(conn)
            conn.close()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        c = Client(self.srv.port)
        self.assertEqual(read_to_eof(c.sock), greeting)  # EOF reaches the client...
        c.send(upload)                                   # ...whose sending still works
        c.sock.shutdown(socket.SHUT_WR)
        t.join(DEADLINE)
        self.assertEqual(seen.get("upload"), upload)
        c.close()


    def test_shutdown_with_a_pair_open(self):
        """SIGTERM (Ctrl-C under Wine) while a pair is open: the proxy closes
        both sides and exits 0."""
        c = Client(self.srv.port)
        conn = self.up.accept()
        c.send(b"ping")
        self.assertEqual(read_exactly(conn, 4), b"ping")
        conn.sendall(b"pong")
        self.assertEqual(c.read_exact(4), b"pong")
        self.srv.terminate()
        self.assertEqual(self.srv.wait(), 0, self.srv.stderr_text())
        self.assertTrue(c.wait_closed())
        conn.settimeout(DEADLINE)
        try:
            self.assertEqual(read_to_eof(conn), b"")
        except ConnectionResetError:
            pass  # closed either way
        c.close()
        conn.close()


class ProxyMany(unittest.TestCase):
    PAIRS = 500
    MAX_SIZE = 256 * 1024

    def test_500_pairs_byte_exact(self):
        up = Upstream()
        srv = proxy(up.port)
        try:
            self._run(up, srv)
        finally:
            srv.stop()
            up.close()

    def _run(self, up, srv):
        rng = random.Random(10)
        pool = os.urandom(4 * MIB)
        sel = selectors.DefaultSelector()
        up.sock.setblocking(False)
        sel.register(up.sock, selectors.EVENT_READ, ("listen", None))
        clients = []
        for i in range(self.PAIRS):
            size = rng.randint(0, self.MAX_SIZE)
            off = rng.randint(0, len(pool) - size)
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", srv.port))
            c = {"sock": s, "data": memoryview(pool)[off:off + size], "sent": 0, "got": bytearray(),
                 "done": False, "shut": False}
            clients.append(c)
            sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, ("client", c))
        done, accepted = 0, 0
        deadline = time.monotonic() + 2 * DEADLINE
        while done < self.PAIRS:
            self.assertLess(time.monotonic(), deadline, "%d of %d pairs done, %d accepted"
                            % (done, self.PAIRS, accepted))
            for key, ev in sel.select(1.0):
                kind, st = key.data
                if kind == "listen":
                    while True:
                        try:
                            conn, _ = up.sock.accept()
                        except BlockingIOError:
                            break
                        conn.setblocking(False)
                        accepted += 1
                        sel.register(conn, selectors.EVENT_READ, ("up", {"sock": conn, "out": bytearray(),
                                                                          "eof": False}))
                elif kind == "up":  # echoes everything; after EOF, echoes the rest and half-closes
                    u = st
                    if ev & selectors.EVENT_READ and not u["eof"]:
                        try:
                            b = u["sock"].recv(1 << 16)
                        except BlockingIOError:
                            b = None
                        if b == b"":
                            u["eof"] = True
                        elif b:
                            u["out"] += b
                    if u["out"]:
                        try:
                            n = u["sock"].send(u["out"])
                            del u["out"][:n]
                        except BlockingIOError:
                            pass
                    if u["eof"] and not u["out"]:
                        sel.unregister(u["sock"])
                        u["sock"].shutdown(socket.SHUT_WR)
                        u["sock"].close()  # everything read: the close is a FIN, not a reset
                    else:
                        sel.modify(u["sock"], (0 if u["eof"] else selectors.EVENT_READ)
                                   | (selectors.EVENT_WRITE if u["out"] else 0), key.data)
                else:
                    c = st
                    s = c["sock"]
                    if ev & selectors.EVENT_WRITE and not c["shut"]:
                        try:
                            c["sent"] += s.send(c["data"][c["sent"]:c["sent"] + (1 << 16)])
                        except BlockingIOError:
                            pass
                        if c["sent"] == len(c["data"]):
                            s.shutdown(socket.SHUT_WR)
                            c["shut"] = True
                            sel.modify(s, selectors.EVENT_READ, key.data)
                    if ev & selectors.EVENT_READ:
                        try:
                            b = s.recv(1 << 16)
                        except BlockingIOError:
                            continue
                        if b:
                            c["got"] += b
                        else:
                            sel.unregister(s)
                            s.close()
                            c["done"] = True
                            done += 1
                            self.assertTrue(c["shut"], "EOF before the client finished sending")
                            self.assertEqual(len(c["got"]), len(c["data"]))
                            self.assertTrue(c["got"] == c["data"], "echo differs")
        sel.close()
        self.assertEqual(accepted, self.PAIRS)
        # Every pair closed itself once both directions were done: the proxy
        # is back to its listening socket alone.
        deadline = time.monotonic() + DEADLINE
        while socket_count(srv.proc.pid) > 1:
            self.assertLess(time.monotonic(), deadline, "proxy still has %d sockets open"
                            % socket_count(srv.proc.pid))
            time.sleep(0.05)
        srv.terminate()  # a clean exit (under ASan: no leak either)
        self.assertEqual(srv.wait(), 0, srv.stderr_text())


class ProxyRefused(unittest.TestCase):
    def test_refused_upstream_closes_client(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))  # bound but not listening: connects are refused
        srv = proxy(s.getsockname()[1])
        try:
            for _ in range(2):  # and the proxy carries on
                c = Client(srv.port)
                c.send(b"hello")
                self.assertTrue(c.wait_closed())
                self.assertEqual(c.buf, b"")
                c.close()
        finally:
            srv.stop()
            s.close()


class ProxyReset(unittest.TestCase):
    def test_upstream_reset_resets_client(self):
        up = Upstream()
        srv = proxy(up.port)
        try:
            c = Client(srv.port)
            conn = up.accept()
            c.send(os.urandom(200000))
            self.assertEqual(len(read_exactly(conn, 100000)), 100000)
            conn.sendall(b"partial reply")
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            conn.close()  # unread bytes and linger 0: a reset
            with self.assertRaises(ConnectionResetError):
                while c.sock.recv(1 << 16):
                    pass
                self.fail("the client got a clean EOF after the upstream's reset")
            c.close()
        finally:
            srv.stop()
            up.close()


def certs(name):
    return os.path.join(os.environ["IOCPNET_TEST_CERTS"], name)


class ProxyTls(unittest.TestCase):
    TOTAL = 4 * MIB

    def setUp(self):
        self.up = Upstream()
        self.srv = proxy(self.up.port, "--tls-cert", certs("server.pem"), "--tls-key", certs("server.key"))

    def tearDown(self):
        self.srv.stop()
        self.up.close()

    def test_tls_client_to_plain_upstream_byte_exact(self):
        import ssl
        ctx = ssl.create_default_context(cafile=certs("ca.pem"))  # verifies the chain and the name
        data = os.urandom(self.TOTAL)
        got_up = bytearray()
        failure = []

        def upstream():  # plain TCP: echoes what it reads, then its FIN once it has everything
            try:
                conn = self.up.accept()
                while len(got_up) < self.TOTAL:
                    b = conn.recv(1 << 16)
                    if not b:
                        break
                    got_up.extend(b)
                    conn.sendall(b)
                conn.shutdown(socket.SHUT_WR)
                conn.settimeout(DEADLINE)
                while conn.recv(1 << 16):  # until the client's side ends too
                    pass
                conn.close()
            except OSError as e:
                failure.append(e)

        ut = threading.Thread(target=upstream, daemon=True)
        ut.start()
        raw = socket.create_connection(("127.0.0.1", self.srv.port), timeout=DEADLINE)
        tls = ctx.wrap_socket(raw, server_hostname="localhost")
        self.assertIn(tls.version(), ("TLSv1.2", "TLSv1.3"))

        # One thread may not read and write an ssl socket at once: chunk by chunk,
        # each echoed whole before the next (chunks no record size lines up with).
        echoed = bytearray()
        view = memoryview(data)
        for off in range(0, self.TOTAL, 100003):
            chunk = view[off:off + 100003]
            tls.sendall(chunk)
            want = len(echoed) + len(chunk)
            while len(echoed) < want:
                b = tls.recv(1 << 16)
                if not b:
                    break
                echoed.extend(b)
            if len(echoed) < want:
                break
        self.assertEqual(failure, [])
        self.assertEqual(len(echoed), self.TOTAL)
        self.assertTrue(echoed == data, "the echo through the proxy differs from what was sent")
        # The upstream's FIN becomes the proxy's TLS close: close_notify (recv returns b"").
        self.assertEqual(tls.recv(1 << 16), b"")
        tls.unwrap().close()  # ours back, then the TCP close
        ut.join(DEADLINE)
        self.assertFalse(ut.is_alive())
        self.assertEqual(failure, [])
        self.assertTrue(bytes(got_up) == data, "the upstream did not get exactly the plaintext")

    def test_plain_client_is_refused_before_the_upstream(self):
        c = Client(self.srv.port)
        c.send(b"GET / HTTP/1.0\r\n\r\n")  # not a TLS ClientHello
        self.assertTrue(c.wait_closed())
        c.close()
        self.assertTrue(self.srv.stderr_has("TLS handshake from 127.0.0.1"), self.srv.stderr_text())
        self.up.sock.settimeout(0.5)
        with self.assertRaises(socket.timeout):  # on_accept never ran, so nothing dialled the upstream
            self.up.sock.accept()


def read_exactly(sock, n):
    out = bytearray()
    while len(out) < n:
        b = sock.recv(n - len(out))
        if not b:
            break
        out += b
    return bytes(out)
