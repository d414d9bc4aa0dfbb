package org.iocpnet;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.iocpnet.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

@Timeout(120)
class FramingTest {
    static String text(ByteBuffer b) { return StandardCharsets.UTF_8.decode(b).toString(); }
    static byte[] bytes(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    /** Records every onData call as one message. */
    static final class Messages implements Handler {
        final LinkedBlockingQueue<byte[]> got = new LinkedBlockingQueue<>();

        @Override
        public void onData(Port port, long conn, ByteBuffer data) { got.add(copy(data)); }

        byte[] next() throws InterruptedException {
            byte[] m = got.poll(DEADLINE_S, TimeUnit.SECONDS);
            assertNotNull(m, "no message");
            return m;
        }
    }

    @Test
    void lineFramingSplitsLinesAndAddsNewlines() throws Exception {
        Messages server = new Messages();
        Messages client = new Messages();
        ConnectionOptions line = new ConnectionOptions().framing(Framing.LINE);
        try (Port s = new Port(small(), server); Port c = new Port(small(), client)) {
            int p = s.listenerPort(s.listen("127.0.0.1", 0, line));
            long raw = c.connect("127.0.0.1", p); // RAW on the client: we see the wire bytes
            c.send(raw, bytes("first\nsecond\r\nthi"));
            c.send(raw, bytes("rd\n"));
            assertEquals("first", new String(server.next(), StandardCharsets.UTF_8));
            assertEquals("second", new String(server.next(), StandardCharsets.UTF_8));
            assertEquals("third", new String(server.next(), StandardCharsets.UTF_8));

            long framed = c.connect("127.0.0.1", p, line);
            IocpNetException e = assertThrows(IocpNetException.class, () -> c.send(framed, bytes("a\nb")));
            assertEquals(ErrorCode.INVALID_ARG, e.code());
            c.send(framed, bytes("with newline added"));
            assertEquals("with newline added", new String(server.next(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void lengthPrefixDeliversWholeMessages() throws Exception {
        Messages client = new Messages();
        ConnectionOptions lp = new ConnectionOptions().framing(Framing.LENGTH_PREFIX);
        try (Port s = new Port(small(), ECHO); Port c = new Port(small(), client)) {
            int p = s.listenerPort(s.listen("127.0.0.1", 0, lp));
            long conn = c.connect("127.0.0.1", p, lp);
            int[] sizes = {0, 1, 5, 1000, 200_000, 3};
            for (int n : sizes) c.send(conn, pattern(n, n));
            for (int n : sizes) assertArrayEquals(pattern(n, n), client.next(), "message of " + n + " bytes");
        }
    }

    @Test
    void oversizedMessageGivesFramingErrorThenClose() throws Exception {
        CompletableFuture<Integer> framingError = new CompletableFuture<>();
        CompletableFuture<Integer> closed = new CompletableFuture<>();
        Messages client = new Messages();
        try (Port s = new Port(small(), new Handler() {
                @Override
                public void onFramingError(Port port, long conn, int err) {
                    framingError.complete(err);
                    port.send(conn, bytes("too long")); // a last reply is still allowed
                }

                @Override
                public void onClose(Port port, long conn, int reason) { closed.complete(reason); }
             });
             Port c = new Port(small(), client)) {
            int p = s.listenerPort(s.listen("127.0.0.1", 0,
                    new ConnectionOptions().framing(Framing.LINE).maxMessageSize(16)));
            long conn = c.connect("127.0.0.1", p);
            c.send(conn, new byte[100]); // 100 bytes, no newline
            assertEquals(ErrorCode.MESSAGE_TOO_LARGE, (int) await(framingError));
            assertEquals(ErrorCode.MESSAGE_TOO_LARGE, (int) await(closed));
            assertEquals("too long\n", new String(client.next(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void sendManyReachesLiveReceiversAndSkipsClosedOnes() throws Exception {
        final int n = 5;
        List<Long> accepted = new CopyOnWriteArrayList<>();
        CountDownLatch all = new CountDownLatch(n);
        CountDownLatch received = new CountDownLatch(n - 1);
        List<String> got = new CopyOnWriteArrayList<>();
        ConnectionOptions line = new ConnectionOptions().framing(Framing.LINE);
        try (Port s = new Port(small(), new Handler() {
                @Override
                public void onAccept(Port port, long l, long conn) { accepted.add(conn); all.countDown(); }
             });
             Port c = new Port(small(), new Handler() {
                @Override
                public void onData(Port port, long conn, ByteBuffer data) { got.add(text(data)); received.countDown(); }
             })) {
            int p = s.listenerPort(s.listen("127.0.0.1", 0, line));
            for (int i = 0; i < n; i++) c.connect("127.0.0.1", p, line);
            await(all, "accepts");
            long[] ids = accepted.stream().mapToLong(Long::longValue).toArray();
            s.close(ids[0], CloseMode.ABORT);
            assertEquals(n - 1, s.sendMany(ids, bytes("to everyone")));
            await(received, "broadcast");
            assertEquals(n - 1, got.size());
            for (String m : got) assertEquals("to everyone", m);
            assertEquals(0, s.sendMany(new long[] {ids[0], 12345L}, bytes("nobody")));
        }
    }
}
