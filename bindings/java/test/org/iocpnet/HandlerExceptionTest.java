package org.iocpnet;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.iocpnet.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

@Timeout(120)
class HandlerExceptionTest {
    /** A server that throws on "boom", echoes anything else. */
    static final class Thrower implements Handler {
        final CompletableFuture<Throwable> reported = new CompletableFuture<>();
        final CompletableFuture<Long> reportedConn = new CompletableFuture<>();
        final CompletableFuture<Integer> closed = new CompletableFuture<>();
        final Throwable toThrow;
        final boolean throwInReport;

        Thrower(Throwable toThrow, boolean throwInReport) {
            this.toThrow = toThrow;
            this.throwInReport = throwInReport;
        }

        @Override
        public void onData(Port port, long conn, ByteBuffer data) {
            if (StandardCharsets.US_ASCII.decode(data.duplicate()).toString().startsWith("boom")) {
                sneakyThrow(toThrow);
            }
            port.send(conn, data);
        }

        @Override
        public void onHandlerException(Port port, long conn, Throwable error) {
            reportedConn.complete(conn);
            reported.complete(error);
            if (throwInReport) throw new IllegalStateException("the report throws too");
        }

        @Override
        public void onClose(Port port, long conn, int reason) { closed.complete(reason); }

        @SuppressWarnings("unchecked")
        static <E extends Throwable> void sneakyThrow(Throwable t) throws E { throw (E) t; }
    }

    static final class Client implements Handler {
        final CompletableFuture<Integer> closed = new CompletableFuture<>();
        final CompletableFuture<String> echoed = new CompletableFuture<>();

        @Override
        public void onData(Port port, long conn, ByteBuffer data) {
            echoed.complete(StandardCharsets.US_ASCII.decode(data).toString());
        }

        @Override
        public void onClose(Port port, long conn, int reason) { closed.complete(reason); }
    }

    private static void check(Throwable toThrow, boolean throwInReport) throws Exception {
        Thrower t = new Thrower(toThrow, throwInReport);
        try (Port server = new Port(small(), t); Port clients = new Port(small(), new Handler() {})) {
            int p = server.listenerPort(server.listen("127.0.0.1", 0));
            Client bad = new Client();
            clients.setHandler(bad);
            long c1 = clients.connect("127.0.0.1", p);
            clients.send(c1, "boom".getBytes(StandardCharsets.US_ASCII));
            assertSame(toThrow, await(t.reported), "onHandlerException gets the thrown object");
            assertNotEquals(0L, (long) await(t.reportedConn));
            await(t.closed);                    // the server closed that connection...
            int reason = await(bad.closed);     // ...and the client saw it go
            assertTrue(reason == ErrorCode.PEER_CLOSED || reason == ErrorCode.CONN_RESET, "reason " + reason);
            // The worker thread and the port carry on.
            Client good = new Client();
            clients.setHandler(good);
            long c2 = clients.connect("127.0.0.1", p);
            clients.send(c2, "still alive".getBytes(StandardCharsets.US_ASCII));
            assertEquals("still alive", await(good.echoed));
        }
    }

    @Test
    void runtimeExceptionIsReportedAndClosesTheConnection() throws Exception {
        check(new IllegalArgumentException("handler bug"), false);
    }

    @Test
    void errorIsContainedToo() throws Exception {
        check(new AssertionError("an Error, not an Exception"), false);
    }

    @Test
    void checkedExceptionThrownSneakily() throws Exception {
        check(new java.io.IOException("checked"), false);
    }

    @Test
    void throwingOnHandlerExceptionIsDropped() throws Exception {
        check(new RuntimeException("first"), true);
    }

    @Test
    void throwingPostedTaskIsReportedWithConnectionZero() throws Exception {
        CompletableFuture<Long> conn = new CompletableFuture<>();
        CompletableFuture<Throwable> err = new CompletableFuture<>();
        AtomicInteger after = new AtomicInteger();
        CountDownLatch ran = new CountDownLatch(1);
        try (Port port = new Port(small(), new Handler() {
            @Override
            public void onHandlerException(Port p, long c, Throwable e) {
                conn.complete(c);
                err.complete(e);
            }
        })) {
            RuntimeException boom = new RuntimeException("task failed");
            port.post(() -> { throw boom; });
            assertSame(boom, await(err));
            assertEquals(0L, (long) await(conn));
            port.post(() -> { after.incrementAndGet(); ran.countDown(); });
            await(ran, "a task after the failing one");
            assertEquals(1, after.get());
        }
    }
}
