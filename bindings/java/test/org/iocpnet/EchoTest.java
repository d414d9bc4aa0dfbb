package org.iocpnet;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.iocpnet.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

@Timeout(120)
class EchoTest {
    /** Collects what arrives on a client connection until `expect` bytes are in. */
    static final class Collector implements Handler {
        final ByteArrayOutputStream got = new ByteArrayOutputStream();
        final CompletableFuture<byte[]> done = new CompletableFuture<>();
        final int expect;
        volatile boolean direct = true;

        Collector(int expect) { this.expect = expect; }

        @Override
        public synchronized void onData(Port port, long conn, ByteBuffer data) {
            direct &= data.isDirect();
            byte[] b = copy(data);
            got.write(b, 0, b.length);
            if (got.size() >= expect) done.complete(got.toByteArray());
        }
    }

    private static byte[] roundTrip(byte[] payload, java.util.function.BiConsumer<Port, Long> sender) throws Exception {
        Collector c = new Collector(payload.length);
        try (Port server = new Port(small(), ECHO); Port client = new Port(small(), c)) {
            int p = server.listenerPort(server.listen("127.0.0.1", 0));
            long conn = client.connect("127.0.0.1", p);
            sender.accept(client, conn);
            byte[] got = await(c.done);
            assertTrue(c.direct, "onData must get direct buffers");
            return got;
        }
    }

    @Test
    void oneMebibyteByteArrayIsEchoedByteExact() throws Exception {
        byte[] payload = pattern(1 << 20, 7);
        assertArrayEquals(payload, roundTrip(payload, (port, conn) -> port.send(conn, payload)));
    }

    @Test
    void oneMebibyteDirectBufferInPiecesHonoursPosition() throws Exception {
        byte[] payload = pattern(1 << 20, 11);
        byte[] got = roundTrip(payload, (port, conn) -> {
            ByteBuffer b = ByteBuffer.allocateDirect(payload.length + 100);
            b.position(100);
            b.put(payload);
            b.flip().position(100); // remaining = the payload, after 100 bytes of noise
            for (int off = 0; off < payload.length; off += 64 * 1024) {
                ByteBuffer slice = b.duplicate();
                slice.position(100 + off).limit(100 + Math.min(payload.length, off + 64 * 1024));
                port.send(conn, slice);
                assertEquals(0, slice.remaining(), "send consumes the buffer");
            }
        });
        assertArrayEquals(payload, got);
    }

    @Test
    void heapAndReadOnlyBuffersAndArraySlices() throws Exception {
        byte[] payload = pattern(300_000, 3);
        byte[] got = roundTrip(payload, (port, conn) -> {
            port.send(conn, payload, 0, 1000);                                  // array slice
            port.send(conn, ByteBuffer.wrap(payload, 1000, 99_000));            // heap buffer with offset
            port.send(conn, ByteBuffer.wrap(payload, 100_000, 100_000).slice()); // arrayOffset != 0
            port.send(conn, ByteBuffer.wrap(payload, 200_000, 100_000).asReadOnlyBuffer());
        });
        assertArrayEquals(payload, got);
    }

    @Test
    void badArraySliceIsRejectedBeforeNativeCode() throws Exception {
        try (Port port = new Port(small(), ECHO)) {
            assertThrows(IndexOutOfBoundsException.class, () -> port.send(1, new byte[10], 5, 6));
            assertThrows(IndexOutOfBoundsException.class, () -> port.send(1, new byte[10], -1, 2));
        }
    }
}
