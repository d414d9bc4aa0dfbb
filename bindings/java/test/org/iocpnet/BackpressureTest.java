package org.iocpnet;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.iocpnet.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

@Timeout(180)
class BackpressureTest {
    static final int QUEUE = 64 * 1024, CHUNK = 16 * 1024;

    static byte at(long i) { return (byte) (i * 7 + (i >>> 10)); }

    @Test
    void trySendRefusesWhenFullThenDrainsAndEveryAcceptedByteArrives() throws Exception {
        Semaphore drains = new Semaphore(0);
        java.util.concurrent.atomic.AtomicInteger drainCalls = new java.util.concurrent.atomic.AtomicInteger();
        try (ServerSocket ss = new ServerSocket()) {
            ss.setReceiveBufferSize(16 * 1024); // a slow reader with a small window
            ss.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (Port port = new Port(small().maxSendQueueBytes(QUEUE), new Handler() {
                    @Override
                    public void onDrain(Port p, long conn) {
                        drainCalls.incrementAndGet();
                        drains.release();
                    }
                 })) {
                long conn = port.connect("127.0.0.1", ss.getLocalPort());
                Socket peer = ss.accept();
                long sent = 0;
                byte[] chunk = new byte[CHUNK];
                // Nobody reads yet: the kernel buffers fill, then our queue does.
                // First send() until it throws WOULD_BLOCK (nothing queued then)...
                IocpNetException full = null;
                while (full == null && sent < 256L << 20) {
                    for (int i = 0; i < CHUNK; i++) chunk[i] = at(sent + i);
                    try {
                        port.send(conn, chunk);
                        sent += CHUNK;
                    } catch (IocpNetException e) {
                        full = e;
                    }
                }
                assertNotNull(full, "send never refused after " + sent + " bytes");
                assertEquals(ErrorCode.WOULD_BLOCK, full.code());
                // ...then trySend until it says false (the kernel may have taken a little more).
                boolean refused = false;
                while (sent < 256L << 20) {
                    for (int i = 0; i < CHUNK; i++) chunk[i] = at(sent + i);
                    if (!port.trySend(conn, chunk)) { refused = true; break; }
                    sent += CHUNK;
                }
                assertTrue(refused, "trySend never returned false after " + sent + " bytes");

                final long total = sent + (4L << 20); // then 4 MiB more through the drain cycle
                CompletableFuture<String> reader = CompletableFuture.supplyAsync(() -> readAll(peer, total));
                while (sent < total) {
                    int n = (int) Math.min(CHUNK, total - sent);
                    for (int i = 0; i < n; i++) chunk[i] = at(sent + i);
                    if (port.trySend(conn, chunk, 0, n)) {
                        sent += n;
                    } else {
                        assertTrue(drains.tryAcquire(DEADLINE_S, TimeUnit.SECONDS), "no onDrain");
                    }
                }
                assertEquals("ok " + total, reader.get(DEADLINE_S, TimeUnit.SECONDS));
                until(() -> drainCalls.get() > 0, "onDrain after the refused sends");
                peer.close();
            }
        }
    }

    /** Reads exactly `total` bytes and checks them against the pattern. */
    static String readAll(Socket s, long total) {
        try (InputStream in = s.getInputStream()) {
            byte[] buf = new byte[64 * 1024];
            long got = 0;
            while (got < total) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, total - got));
                if (n < 0) return "EOF after " + got;
                for (int i = 0; i < n; i++) {
                    if (buf[i] != at(got + i)) return "wrong byte at " + (got + i);
                }
                got += n;
            }
            return "ok " + got;
        } catch (Exception e) {
            return e.toString();
        }
    }
}
