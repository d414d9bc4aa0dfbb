package org.iocpnet;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.iocpnet.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** pauseReceive/resumeReceive, queuedBytes, shutdownWrite with halfOpen, and vectored sends, on loopback. */
@Timeout(300)
class ReceiveControlTest {
    /** Byte p of the peer's stream, whatever the sizes of its writes. */
    static byte at(long p) { return (byte) (p * 7 + (p >>> 10)); }

    static ByteBuffer fill(ByteBuffer b, long from) {
        b.clear();
        for (int i = 0; i < b.capacity(); i++) b.put(i, at(from + i));
        return b;
    }

    static String ascii(byte[] b) { return new String(b, StandardCharsets.US_ASCII); }

    @Test
    void pauseStopsOnDataAndFillsThePeersBuffersThenResumeDeliversEveryByteInOrder() throws Exception {
        Events server = new Events();
        server.onAcceptHook = Port::pauseReceive; // paused before any byte is read
        try (Port port = new Port(small(), server);
             SocketChannel peer = SocketChannel.open()) {
            int tcpPort = port.listenerPort(port.listen("127.0.0.1", 0));
            peer.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), tcpPort));
            until(() -> server.accepted.size() == 1, "accept");
            long conn = server.accepted.get(0);

            // Non-blocking writes until the kernel says no: the paused side's window and the
            // peer's send buffer are full, and the engine holds nothing.
            peer.configureBlocking(false);
            ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
            long sent = 0;
            boolean blocked = false;
            while (sent < (256L << 20) && !blocked) {
                fill(chunk, sent);
                int n = peer.write(chunk);
                if (n == 0) blocked = true;
                sent += n;
            }
            assertTrue(blocked, "the peer sent " + sent + " bytes without ever being held back");
            Thread.sleep(300);
            assertEquals(0, server.total());
            // At most what a read already under way at the pause took in: the rest stays in the kernel.
            long readEarly = port.stats().bytesReceived();
            assertTrue(readEarly <= 1 << 20 && readEarly < sent, "the engine read " + readEarly + " of " + sent + " bytes while paused");

            port.resumeReceive(conn);
            port.resumeReceive(conn); // idempotent
            long total = sent + (4 << 20);
            peer.configureBlocking(true);
            final long from = sent;
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    ByteBuffer part = ByteBuffer.allocate(64 * 1024);
                    for (long p = from; p < total;) {
                        fill(part, p);
                        part.limit((int) Math.min(part.capacity(), total - p));
                        p += peer.write(part);
                    }
                } catch (Exception e) { throw new RuntimeException(e); }
            });
            final long held = sent;
            until(() -> server.total() >= held, "the held bytes after resume");

            port.pauseReceive(conn); // from this thread, mid-stream
            Thread.sleep(100); // an onData already under way when pause returned may finish
            long atPause = server.total();
            Thread.sleep(300);
            assertEquals(atPause, server.total());
            port.resumeReceive(conn);

            writer.get(120, java.util.concurrent.TimeUnit.SECONDS);
            until(() -> server.total() >= total, "every byte");
            byte[] got = server.bytes(conn);
            assertEquals(total, got.length);
            for (int p = 0; p < got.length; p++)
                if (got[p] != at(p)) fail("byte " + p + " differs");
            IocpNetException e = assertThrows(IocpNetException.class, () -> port.pauseReceive(999_999));
            assertEquals(ErrorCode.NOT_FOUND, e.code());
        }
    }

    @Test
    void queuedBytesGrowWhileThePeerDoesNotReadAndFallToZeroOnceItDoes() throws Exception {
        try (ServerSocket ss = new ServerSocket()) {
            ss.setReceiveBufferSize(16 * 1024);
            ss.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Events client = new Events();
            long maxQueue = 1 << 20;
            try (Port port = new Port(small().maxSendQueueBytes(maxQueue), client)) {
                long conn = port.connect("127.0.0.1", ss.getLocalPort());
                try (Socket peer = ss.accept()) {
                    until(() -> client.connected.containsKey(conn), "onConnect");
                    assertEquals(0, port.queuedBytes(conn));
                    byte[] chunk = pattern(16 * 1024, 3);
                    long sent = 0;
                    while (port.trySend(conn, chunk)) sent += chunk.length;
                    long queued = port.queuedBytes(conn);
                    assertTrue(queued > 0 && queued <= maxQueue && queued <= sent, "queued " + queued);
                    InputStream in = peer.getInputStream();
                    byte[] buf = new byte[64 * 1024];
                    long read = 0;
                    while (read < sent) read += in.read(buf);
                    assertEquals(sent, read);
                    until(() -> port.queuedBytes(conn) == 0, "an empty queue");
                }
            }
        }
    }

    @Test
    void halfCloseRoundTripBetweenTwoHalfOpenPorts() throws Exception {
        ConnectionOptions halfOpen = new ConnectionOptions().halfOpen(true);
        Events server = new Events();
        Events client = new Events();
        try (Port sp = new Port(small(), server); Port cp = new Port(small(), client)) {
            int tcpPort = sp.listenerPort(sp.listen("127.0.0.1", 0, halfOpen));
            long c = cp.connect("127.0.0.1", tcpPort, halfOpen);
            until(() -> client.connected.containsKey(c), "onConnect");
            cp.send(c, "GET /".getBytes(StandardCharsets.US_ASCII));
            cp.shutdownWrite(c);
            cp.shutdownWrite(c); // idempotent
            IocpNetException e = assertThrows(IocpNetException.class, () -> cp.send(c, new byte[] {1}));
            assertEquals(ErrorCode.WRITE_SHUTDOWN, e.code());
            assertEquals("IOCPNET_E_WRITE_SHUTDOWN", e.name());

            // The server replies once the request is complete (the client's FIN), then shuts down its side.
            until(() -> server.accepted.size() == 1 && server.peerShutdowns.containsKey(server.accepted.get(0)), "the request's FIN");
            long s0 = server.accepted.get(0);
            assertFalse(server.closed.containsKey(s0), "a half-open connection stays open after the peer's FIN");
            sp.send(s0, "reply to ".getBytes(StandardCharsets.US_ASCII));
            sp.send(s0, server.bytes(s0));
            sp.shutdownWrite(s0);

            until(() -> client.closed.containsKey(c), "the client side closes after both directions are done");
            assertEquals("reply to GET /", ascii(client.bytes(c)));
            assertEquals(1, client.peerShutdowns.get(c));
            assertEquals(ErrorCode.PEER_CLOSED, client.closed.get(c));
            until(() -> server.closed.size() == 1, "the server side closes");
            long s = server.accepted.get(0);
            assertEquals(1, server.peerShutdowns.get(s));
            assertEquals(ErrorCode.PEER_CLOSED, server.closed.get(s));
        }
    }

    @Test
    void halfOpenServerAnswersASocketThatSentItsRequestAndFin() throws Exception {
        Events server = new Events();
        server.onPeerShutdownHook = (p, c) -> {
            p.send(c, ("HTTP/1.0 200 OK\r\n\r\n" + server.bytes(c).length + " bytes").getBytes(StandardCharsets.US_ASCII));
            p.shutdownWrite(c);
        };
        try (Port sp = new Port(small(), server)) {
            int tcpPort = sp.listenerPort(sp.listen("127.0.0.1", 0, new ConnectionOptions().halfOpen(true)));
            try (Socket peer = new Socket(InetAddress.getLoopbackAddress(), tcpPort)) {
                peer.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                peer.shutdownOutput();
                peer.setSoTimeout(60_000);
                assertEquals("HTTP/1.0 200 OK\r\n\r\n18 bytes", ascii(peer.getInputStream().readAllBytes()));
            }
            until(() -> server.closed.size() == 1, "the server side closes");
            assertEquals(ErrorCode.PEER_CLOSED, server.closed.values().iterator().next());
        }
    }

    @Test
    void withoutHalfOpenThePeersFinClosesAndOnPeerShutdownNeverComes() throws Exception {
        Events server = new Events();
        try (Port sp = new Port(small(), server)) {
            int tcpPort = sp.listenerPort(sp.listen("127.0.0.1", 0));
            try (Socket peer = new Socket(InetAddress.getLoopbackAddress(), tcpPort)) {
                peer.shutdownOutput();
                until(() -> server.closed.size() == 1, "close on the peer's FIN");
            }
            assertEquals(ErrorCode.PEER_CLOSED, server.closed.values().iterator().next());
            assertTrue(server.peerShutdowns.isEmpty());
        }
    }

    @Test
    void vectoredSendsAreOneMessageEachAndQueueAllOrNothing() throws Exception {
        ConnectionOptions lp = new ConnectionOptions().framing(Framing.LENGTH_PREFIX);
        Events server = new Events();
        Events client = new Events();
        try (Port sp = new Port(small(), server); Port cp = new Port(small().maxSendQueueBytes(64 * 1024), client)) {
            int tcpPort = sp.listenerPort(sp.listen("127.0.0.1", 0, lp));
            long c = cp.connect("127.0.0.1", tcpPort, lp);
            until(() -> client.connected.containsKey(c), "onConnect");

            byte[] whole = "header|body of the message|trailer".getBytes(StandardCharsets.US_ASCII);
            ByteBuffer heap = ByteBuffer.wrap(whole, 0, 7);
            ByteBuffer direct = ByteBuffer.allocateDirect(64);
            direct.put(whole, 7, 20).flip();
            ByteBuffer readOnly = ByteBuffer.wrap(whole).position(27).asReadOnlyBuffer();
            ByteBuffer[] parts = {heap, direct, readOnly};
            cp.send(c, parts);
            for (ByteBuffer b : parts) assertEquals(0, b.remaining(), "positions advance to the limits");
            assertTrue(cp.trySend(c, new ByteBuffer[0])); // no parts: one empty message
            until(() -> server.accepted.size() == 1 && server.messages.getOrDefault(server.accepted.get(0), List.of()).size() == 2,
                  "two messages");
            List<byte[]> got = server.messages.get(server.accepted.get(0));
            assertEquals("header|body of the message|trailer", ascii(got.get(0)));
            assertEquals(0, got.get(1).length);

            // Larger than the whole queue: LIMIT, nothing queued, positions unchanged.
            ByteBuffer a = ByteBuffer.allocate(48 * 1024), b = ByteBuffer.allocateDirect(48 * 1024);
            IocpNetException e = assertThrows(IocpNetException.class, () -> cp.send(c, new ByteBuffer[] {a, b}));
            assertEquals(ErrorCode.LIMIT, e.code());
            assertEquals(0, a.position());
            assertEquals(0, b.position());
            assertEquals(0, cp.queuedBytes(c));
        }
    }
}
