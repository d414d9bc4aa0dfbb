package org.iocpnet;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Shared helpers: generous deadlines, an echo handler, small ports. */
final class TestSupport {
    static final int DEADLINE_S = 60;

    private TestSupport() {}

    static PortOptions small() { return new PortOptions().workerThreads(1); }

    /** Echoes every byte back on the connection it came from. */
    static final Handler ECHO = new Handler() {
        @Override
        public void onData(Port port, long conn, ByteBuffer data) { port.send(conn, data); }
    };

    static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(DEADLINE_S, TimeUnit.SECONDS);
    }

    static void await(CountDownLatch l, String what) throws InterruptedException {
        assertTrue(l.await(DEADLINE_S, TimeUnit.SECONDS), "timed out waiting for " + what);
    }

    static void until(BooleanSupplier cond, String what) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(DEADLINE_S);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) fail("timed out waiting for " + what);
            Thread.sleep(5);
        }
    }

    static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) ((i * 31 + seed) ^ (i >>> 8));
        return b;
    }

    static byte[] copy(ByteBuffer data) {
        byte[] b = new byte[data.remaining()];
        data.get(b);
        return b;
    }
}
