package org.iocpnet;

import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.iocpnet.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

@Timeout(120)
class NativeThreadsTest {
    static final class Recorder implements Handler {
        final Set<Thread> threads = ConcurrentHashMap.newKeySet();
        final LinkedBlockingQueue<byte[]> replies = new LinkedBlockingQueue<>();

        @Override
        public void onData(Port port, long conn, ByteBuffer data) {
            threads.add(Thread.currentThread());
            replies.add(copy(data));
        }
    }

    @Test
    void callbacksFromNativeThreadsSurviveGcAndAttachOnce() throws Exception {
        Recorder rec = new Recorder();
        WeakReference<Recorder> weak = new WeakReference<>(rec);
        Port client = new Port(small(), rec);
        rec = null; // from here only the port (through its global reference) keeps the handler
        try (Port server = new Port(small(), ECHO)) {
            int p = server.listenerPort(server.listen("127.0.0.1", 0));
            long conn = client.connect("127.0.0.1", p);
            for (int round = 0; round < 50; round++) {
                byte[] msg = pattern(100 + round, round);
                client.send(conn, msg);
                // Echo of 100+ bytes may arrive in pieces: gather until complete.
                ByteBuffer got = ByteBuffer.allocate(msg.length);
                while (got.hasRemaining()) {
                    byte[] piece = weak.get().replies.poll(DEADLINE_S, TimeUnit.SECONDS);
                    assertNotNull(piece, "no echo in round " + round);
                    got.put(piece);
                }
                assertArrayEquals(msg, got.array());
                System.gc();
                assertNotNull(weak.get(), "the handler was collected while its port is open");
            }
            Set<Thread> threads = weak.get().threads;
            // One worker, attached once: every callback saw the same java.lang.Thread
            // (a per-call attach would make a new Thread object each time).
            assertEquals(1, threads.size(), "callbacks came on " + threads);
            Thread t = threads.iterator().next();
            assertNotSame(Thread.currentThread(), t);
            assertTrue(t.isDaemon(), "native workers are attached as daemons");
        } finally {
            client.close();
        }
        client = null;
        // After close the global reference is gone: the handler becomes collectable.
        for (int i = 0; i < 100 && weak.get() != null; i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertNull(weak.get(), "the handler leaked after Port.close()");
    }

    @Test
    void postRunsOnAWorkerThread() throws Exception {
        try (Port port = new Port(small(), new Handler() {})) {
            LinkedBlockingQueue<Thread> ran = new LinkedBlockingQueue<>();
            for (int i = 0; i < 10; i++) {
                port.post(() -> ran.add(Thread.currentThread()));
                System.gc();
            }
            for (int i = 0; i < 10; i++) {
                Thread t = ran.poll(DEADLINE_S, TimeUnit.SECONDS);
                assertNotNull(t, "posted task " + i + " did not run");
                assertNotSame(Thread.currentThread(), t);
            }
        }
    }
}
