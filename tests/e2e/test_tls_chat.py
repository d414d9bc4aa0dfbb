"""End-to-end: the chat server over TLS (--tls-cert/--tls-key) with peers
nobody here wrote (`openssl s_client`, verifying against the test CA) and
with chat_client --tls. The test PKI comes from scripts/make-test-certs.sh;
its directory is in the environment variable IOCPNET_TEST_CERTS."""
import os
import subprocess
import unittest

from harness import DEADLINE, LineReader, Program, Server


def certs(name):
    return os.path.join(os.environ["IOCPNET_TEST_CERTS"], name)


class SClient:
    """`openssl s_client` as a chat user: lines in on stdin, lines out on stdout."""

    def __init__(self, port):
        self.proc = subprocess.Popen(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost",
             "-verify_hostname", "localhost", "-CAfile", certs("ca.pem"), "-verify_return_error", "-quiet"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = LineReader(self.proc.stdout)
        self.err = LineReader(self.proc.stderr)

    def send_line(self, text):
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def read_until(self, text, timeout=DEADLINE):
        seen = []
        while True:
            line = self.out.next(timeout)
            if line is None:
                raise AssertionError("s_client ended before %r; saw %r; stderr:\n%s"
                                     % (text, seen, "\n".join(self.err.all)))
            seen.append(line)
            if line == text or (text.endswith("*") and line.startswith(text[:-1])):
                return line

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()


class ChatTls(unittest.TestCase):
    def setUp(self):
        self.server = Server("chat_server", ["--tls-cert", certs("server.pem"), "--tls-key", certs("server.key")])
        self.others = []

    def tearDown(self):
        for p in self.others:
            p.stop()
        self.server.stop()

    def s_client(self):
        c = SClient(self.server.port)
        self.others.append(c)
        return c

    def chat_client(self, *extra):
        p = Program("chat_client", ["--host", "127.0.0.1", "--port", str(self.server.port), "--tls"] + list(extra),
                    stdin=True)
        self.others.append(p)
        return p

    def test_openssl_s_clients_chat(self):
        a = self.s_client()
        welcome = a.read_until("* welcome *")
        b = self.s_client()
        nick_b = b.read_until("* welcome *")[len("* welcome "):]
        a.read_until("* %s joined" % nick_b)
        a.send_line("/nick alice")
        a.read_until("* you are now alice")
        a.send_line("hello over TLS")
        b.read_until("alice: hello over TLS")
        self.assertRegex(welcome, r"^\* welcome guest-\d+$")

    def test_chat_client_verifies_the_server(self):
        a = self.s_client()
        a.read_until("* welcome *")
        p = self.chat_client("--ca", certs("ca.pem"))
        line = p.out.next()
        self.assertIsNotNone(line, p.stderr_text())
        self.assertRegex(line, r"^\* welcome guest-\d+$")
        p.proc.stdin.write(b"from chat_client\n")
        p.proc.stdin.flush()
        a.read_until("%s: from chat_client" % line[len("* welcome "):])
        p.proc.stdin.close()
        self.assertEqual(p.wait(), 0)

    def test_chat_client_refuses_an_untrusted_server(self):
        p = self.chat_client("--ca", certs("other-ca.pem"))
        self.assertEqual(p.wait(), 1)
        self.assertTrue(p.stderr_has("certificate verify failed"), p.stderr_text())

    def test_chat_client_insecure_skips_verification(self):
        p = self.chat_client("--insecure")
        line = p.out.next()
        self.assertIsNotNone(line, p.stderr_text())
        self.assertRegex(line, r"^\* welcome guest-\d+$")

    def test_plain_client_is_refused_and_counted(self):
        import socket
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=DEADLINE)
        s.sendall(b"hello in plain text\n")
        s.settimeout(DEADLINE)
        data = s.recv(4096)  # an alert or nothing, then the close
        while data:
            data = s.recv(4096)
        s.close()
        self.assertTrue(self.server.stderr_has("TLS handshake from 127.0.0.1"), self.server.stderr_text())
