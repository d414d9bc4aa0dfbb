package org.iocpnet;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.iocpnet.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** Port.sendOwned: a direct buffer queued without a copy, released exactly once. */
@Timeout(180)
class ZeroCopyTest {
    static final int BIG = 32 << 20; // far more than loopback's socket buffers hold

    /** An engine client connected to a plain socket that reads only when told to. */
    static final class Setup implements AutoCloseable {
        final ServerSocket ss = new ServerSocket();
        final Events client = new Events();
        final Port port;
        final long conn;
        final Socket peer;

        Setup(long maxQueue) throws Exception {
            ss.setReceiveBufferSize(16 * 1024);
            ss.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            port = new Port(small().maxSendQueueBytes(maxQueue), client);
            conn = port.connect("127.0.0.1", ss.getLocalPort());
            peer = ss.accept();
            until(() -> client.connected.containsKey(conn), "onConnect");
        }

        byte[] readExactly(int n) throws Exception {
            peer.setSoTimeout(60_000);
            return peer.getInputStream().readNBytes(n);
        }

        @Override
        public void close() throws Exception {
            port.close();
            peer.close();
            ss.close();
        }
    }

    static ByteBuffer direct(byte[] content) {
        ByteBuffer b = ByteBuffer.allocateDirect(content.length);
        b.put(content).flip();
        return b;
    }

    @Test
    void releasedExactlyOnceOnlyAfterTheEngineHasSentEveryByte() throws Exception {
        try (Setup s = new Setup(64 << 20)) {
            byte[] content = pattern(BIG, 5);
            ByteBuffer buf = direct(content);
            AtomicInteger released = new AtomicInteger();
            AtomicReference<ByteBuffer> seen = new AtomicReference<>();
            s.port.sendOwned(s.conn, buf, b -> { seen.set(b); released.incrementAndGet(); });
            assertEquals(0, buf.remaining(), "the position advances when queued");

            // The peer reads nothing: the engine still needs the bytes, nothing is released.
            Thread.sleep(300);
            System.gc();
            assertEquals(0, released.get());
            long queued = s.port.queuedBytes(s.conn);
            assertTrue(queued > 0 && queued <= BIG, "queued " + queued);

            assertArrayEquals(content, s.readExactly(BIG));
            until(() -> released.get() == 1, "the release");
            Thread.sleep(200);
            assertEquals(1, released.get());
            assertSame(buf, seen.get());
            assertEquals(0, s.port.queuedBytes(s.conn));
        }
    }

    @Test
    void queuedOwnedSendsAreReleasedExactlyOnceWhenTheConnectionIsAbortedOrThePortClosed() throws Exception {
        AtomicInteger first = new AtomicInteger(), second = new AtomicInteger(), third = new AtomicInteger();
        Setup s = new Setup(64 << 20);
        try {
            s.port.sendOwned(s.conn, ByteBuffer.allocateDirect(BIG), b -> first.incrementAndGet());
            s.port.sendOwned(s.conn, ByteBuffer.allocateDirect(1 << 20), b -> second.incrementAndGet());
            Thread.sleep(200);
            assertEquals(0, first.get() + second.get());
            s.port.close(s.conn, CloseMode.ABORT);
            until(() -> s.client.closed.containsKey(s.conn), "onClose");
            until(() -> first.get() == 1 && second.get() == 1, "both releases after the abort");

            // A second connection whose owned send is still queued when the port closes.
            try (ServerSocket ss2 = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                long c2 = s.port.connect("127.0.0.1", ss2.getLocalPort());
                try (Socket peer2 = ss2.accept()) {
                    until(() -> s.client.connected.containsKey(c2), "onConnect");
                    s.port.sendOwned(c2, ByteBuffer.allocateDirect(BIG), b -> third.incrementAndGet());
                    Thread.sleep(200);
                    assertEquals(0, third.get());
                    s.port.close();
                    assertEquals(1, third.get(), "released before close() returned");
                }
            }
        } finally {
            s.close();
        }
        Thread.sleep(200);
        assertEquals(1, first.get());
        assertEquals(1, second.get());
        assertEquals(1, third.get());
    }

    @Test
    void aRefusedOwnedSendIsNeverReleasedAndTheCallerKeepsTheBuffer() throws Exception {
        try (Setup s = new Setup(256 * 1024)) {
            List<Integer> releasedChunks = new ArrayList<>();
            ByteBuffer chunk = ByteBuffer.allocateDirect(64 * 1024);
            int accepted = 0;
            while (true) {
                int n = accepted;
                ByteBuffer view = chunk.duplicate();
                if (!s.port.trySendOwned(s.conn, view, b -> { synchronized (releasedChunks) { releasedChunks.add(n); } })) {
                    assertEquals(64 * 1024, view.remaining(), "a refused send leaves the position alone");
                    break;
                }
                accepted++;
                assertTrue(accepted < 10_000, "the queue never filled");
            }
            AtomicInteger wrong = new AtomicInteger();
            IocpNetException e = assertThrows(IocpNetException.class,
                    () -> s.port.sendOwned(s.conn, ByteBuffer.allocateDirect(1 << 20), b -> wrong.incrementAndGet()));
            assertEquals(ErrorCode.LIMIT, e.code());
            assertThrows(IllegalArgumentException.class, () -> s.port.sendOwned(s.conn, ByteBuffer.allocate(10), null));

            s.port.close(s.conn, CloseMode.ABORT);
            final int total = accepted;
            until(() -> { synchronized (releasedChunks) { return releasedChunks.size() == total; } }, "every accepted chunk released");
            Thread.sleep(200);
            synchronized (releasedChunks) {
                List<Integer> sorted = new ArrayList<>(releasedChunks);
                sorted.sort(null);
                List<Integer> expected = new ArrayList<>();
                for (int i = 0; i < total; i++) expected.add(i);
                assertEquals(expected, sorted);
            }
            assertEquals(0, wrong.get());
        }
    }

    @Test
    void ownedSendAfterShutdownWriteFailsWithWriteShutdownAndIsNotReleased() throws Exception {
        Events server = new Events();
        Events client = new Events();
        try (Port sp = new Port(small(), server); Port cp = new Port(small(), client)) {
            int tcpPort = sp.listenerPort(sp.listen("127.0.0.1", 0, new ConnectionOptions().halfOpen(true)));
            long c = cp.connect("127.0.0.1", tcpPort);
            until(() -> client.connected.containsKey(c), "onConnect");
            AtomicInteger released = new AtomicInteger();
            cp.sendOwned(c, direct("last words".getBytes()), b -> released.incrementAndGet());
            cp.shutdownWrite(c);
            IocpNetException e = assertThrows(IocpNetException.class,
                    () -> cp.sendOwned(c, ByteBuffer.allocateDirect(10), b -> released.incrementAndGet()));
            assertEquals(ErrorCode.WRITE_SHUTDOWN, e.code());
            until(() -> server.accepted.size() == 1 && server.peerShutdowns.containsKey(server.accepted.get(0)),
                  "the FIN after the owned bytes");
            assertEquals("last words", new String(server.bytes(server.accepted.get(0))));
            until(() -> released.get() == 1, "the release of the sent buffer");
            Thread.sleep(100);
            assertEquals(1, released.get());
        }
    }
}
