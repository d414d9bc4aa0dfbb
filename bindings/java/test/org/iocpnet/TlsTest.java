package org.iocpnet;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.iocpnet.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** TLS through the binding against the JDK's own TLS stack (SSLSocket, SSLServerSocket). */
@Timeout(120)
class TlsTest {
    @Test
    void sslSocketClientGetsItsBytesEchoedByAnIocpnetTlsServer() throws Exception {
        Events server = new Events();
        AtomicReference<TlsInfo> seen = new AtomicReference<>();
        server.onAcceptHook = (p, c) -> seen.set(p.tlsInfo(c));
        server.onDataHook = (p, c) -> { // echo the last message
            java.util.List<byte[]> m = server.messages.get(c);
            p.send(c, m.get(m.size() - 1));
        };
        try (Port sp = new Port(small(), server)) {
            long l;
            try (TlsConfig tls = new TlsConfig(TestCerts.server("echo/1", "http/1.1"))) {
                l = sp.listen("127.0.0.1", 0, new ConnectionOptions().tls(tls));
            } // closed: the listener keeps its own reference
            int port = sp.listenerPort(l);

            Socket raw = new Socket("127.0.0.1", port);
            try (SSLSocket s = (SSLSocket) TestCerts.trustingTestCa().getSocketFactory().createSocket(raw, "localhost", port, true)) {
                SSLParameters params = s.getSSLParameters();
                params.setEndpointIdentificationAlgorithm("HTTPS"); // verify the host name too
                params.setApplicationProtocols(new String[] {"echo/1"});
                s.setSSLParameters(params);
                s.startHandshake();
                assertEquals("echo/1", s.getApplicationProtocol());

                byte[] payload = pattern(200_000, 4);
                OutputStream out = s.getOutputStream();
                CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                    try { out.write(payload); out.flush(); } catch (Exception e) { throw new RuntimeException(e); }
                });
                byte[] got = s.getInputStream().readNBytes(payload.length);
                await(writer);
                assertArrayEquals(payload, got);

                until(() -> seen.get() != null, "onAccept");
                TlsInfo info = seen.get();
                assertEquals(s.getSession().getProtocol(), info.version());
                if (info.version().equals("TLSv1.3")) assertEquals(s.getSession().getCipherSuite(), info.cipher()); // same names
                else assertFalse(info.cipher().isEmpty());
                assertEquals("echo/1", info.alpn());
                assertEquals("", info.peerSubject()); // no client certificate asked for
                assertEquals("", info.error());
            } // close() sends close_notify
            until(() -> server.closed.size() == 1, "server onClose");
            assertEquals(ErrorCode.PEER_CLOSED, server.closed.values().iterator().next());
        }
    }

    /** An SSLServerSocket echo server for one connection: the future gives the bytes echoed at a clean end. */
    private static CompletableFuture<Long> sslEchoServer(SSLServerSocket ss) {
        return CompletableFuture.supplyAsync(() -> {
            try (SSLSocket s = (SSLSocket) ss.accept()) {
                s.startHandshake();
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                byte[] buf = new byte[16384];
                long total = 0;
                for (int n; (n = in.read(buf)) > 0; total += n) out.write(buf, 0, n);
                return total;
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
    }

    private static SSLServerSocket sslServerSocket(String... alpn) throws Exception {
        SSLServerSocket ss = (SSLServerSocket) TestCerts.serverContext().getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
        SSLParameters p = ss.getSSLParameters();
        p.setApplicationProtocols(alpn);
        ss.setSSLParameters(p);
        return ss;
    }

    @Test
    void iocpnetTlsClientVerifiesAndTalksToAnSslServerSocket() throws Exception {
        try (SSLServerSocket ss = sslServerSocket("echo/1");
             TlsConfig tls = new TlsConfig(new TlsOptions().role(TlsRole.CLIENT).caFile(TestCerts.path("ca.pem"))
                     .applicationProtocols("echo/1"))) {
            CompletableFuture<Long> peer = sslEchoServer(ss);
            Events client = new Events();
            try (Port cp = new Port(small(), client)) {
                long c = cp.connect("127.0.0.1", ss.getLocalPort(), new ConnectionOptions().tls(tls).serverName("localhost"));
                until(() -> client.connected.containsKey(c), "onConnect");
                assertEquals(ErrorCode.OK, client.connected.get(c));
                TlsInfo info = cp.tlsInfo(c);
                assertTrue(info.version().startsWith("TLSv1."), info.version());
                assertTrue(info.peerSubject().contains("CN=localhost"), info.peerSubject());
                assertEquals("echo/1", info.alpn());

                byte[] payload = pattern(100_000, 8);
                for (int off = 0; off < payload.length; off += 10_000) cp.send(c, payload, off, 10_000);
                until(() -> client.count(c) >= payload.length, "100 kB echoed by SSLServerSocket");
                assertArrayEquals(payload, client.bytes(c));
                cp.close(c); // graceful: close_notify, so the JDK reads a clean end of stream
                assertEquals(payload.length, await(peer));
            }
        }
    }

    @Test
    void wrongCaGivesOnConnectTlsWithTheReason() throws Exception {
        try (SSLServerSocket ss = sslServerSocket();
             TlsConfig tls = new TlsConfig(new TlsOptions().role(TlsRole.CLIENT).caFile(TestCerts.path("other-ca.pem")))) {
            CompletableFuture<Long> peer = sslEchoServer(ss);
            AtomicReference<String> reason = new AtomicReference<>();
            Events client = new Events() {
                @Override
                public void onConnect(Port port, long conn, int status) {
                    if (status == ErrorCode.TLS) reason.set(port.tlsInfo(conn).error()); // readable in the failed onConnect
                    super.onConnect(port, conn, status);
                }
            };
            try (Port cp = new Port(small(), client)) {
                long c = cp.connect("127.0.0.1", ss.getLocalPort(), new ConnectionOptions().tls(tls).serverName("localhost"));
                until(() -> client.connected.containsKey(c), "onConnect");
                assertEquals(ErrorCode.TLS, client.connected.get(c));
                assertTrue(reason.get().toLowerCase().contains("verify"), reason.get());
                assertFalse(client.closed.containsKey(c), "a failed connect gets no onClose");
            }
            assertThrows(Exception.class, () -> await(peer)); // the JDK server saw the handshake fail
        }
    }

    @Test
    void plainTcpClientOnATlsListenerIsRefusedAndCounted() throws Exception {
        Events server = new Events();
        try (Port sp = new Port(small(), server); TlsConfig tls = new TlsConfig(TestCerts.server())) {
            long l = sp.listen("127.0.0.1", 0, new ConnectionOptions().tls(tls));
            assertEquals(0, sp.stats().tlsHandshakesFailed());
            try (Socket s = new Socket("127.0.0.1", sp.listenerPort(l))) {
                s.setSoTimeout(30_000);
                s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                try {
                    while (s.getInputStream().read(new byte[4096]) > 0) { } // an alert perhaps, then the close
                } catch (java.io.IOException reset) { } // or a reset
            }
            until(() -> sp.stats().tlsHandshakesFailed() == 1, "the refused handshake counted");
            assertTrue(server.accepted.isEmpty(), "a refused handshake gets no onAccept");
            // Counted before its socket is gone: connectionsOpen drops to 0 a moment later.
            until(() -> sp.stats().connectionsOpen() == 0, "the refused connection no longer open");
        }
    }

    @Test
    void badConfigurationsAreExceptionsWithTheEnginesCodes() throws Exception {
        IocpNetException bad = assertThrows(IocpNetException.class, () -> new TlsConfig(new TlsOptions()
                .certificatePem("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
                .privateKeyFile(TestCerts.path("server.key"))));
        assertEquals(ErrorCode.TLS, bad.code());
        assertFalse(bad.detail().isEmpty());

        IocpNetException mismatch = assertThrows(IocpNetException.class, () -> new TlsConfig(new TlsOptions()
                .certificatePem(Files.readString(Paths.get(TestCerts.path("server.pem")))) // PEM text this time
                .privateKeyPem(Files.readString(Paths.get(TestCerts.path("client.key"))))));
        assertEquals(ErrorCode.TLS, mismatch.code());

        IocpNetException noKey = assertThrows(IocpNetException.class,
                () -> new TlsConfig(new TlsOptions().certificateFile(TestCerts.path("server.pem"))));
        assertEquals(ErrorCode.INVALID_ARG, noKey.code());

        try (Port sp = new Port(small(), new Events())) {
            TlsConfig clientCfg = new TlsConfig(new TlsOptions().role(TlsRole.CLIENT));
            assertEquals(TlsRole.CLIENT, clientCfg.role());
            IocpNetException role = assertThrows(IocpNetException.class,
                    () -> sp.listen("127.0.0.1", 0, new ConnectionOptions().tls(clientCfg)));
            assertEquals(ErrorCode.INVALID_ARG, role.code());
            clientCfg.close();
            clientCfg.close(); // twice is harmless
            assertThrows(IllegalStateException.class, () -> sp.connect("127.0.0.1", 1, new ConnectionOptions().tls(clientCfg)));

            // TLS facts of a plain connection: UNSUPPORTED.
            Events client = new Events();
            try (Port cp = new Port(small(), client)) {
                long c = cp.connect("127.0.0.1", sp.listenerPort(sp.listen("127.0.0.1", 0)));
                until(() -> client.connected.containsKey(c), "onConnect");
                assertEquals(ErrorCode.UNSUPPORTED, assertThrows(IocpNetException.class, () -> cp.tlsInfo(c)).code());
            }
        }
    }
}
