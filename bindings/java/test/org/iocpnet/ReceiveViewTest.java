package org.iocpnet;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.iocpnet.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * onData's ByteBuffer: the worker's one buffer re-pointed at each call's bytes
 * (no allocation per call), reset before each call, emptied after it; and
 * sends from direct buffers are byte-exact.
 */
@Timeout(120)
class ReceiveViewTest {
    /** A plain socket client of an iocpnet server whose handler is given. */
    static final class Peer implements AutoCloseable {
        final Port port;
        final Socket socket;

        Peer(Handler h) throws Exception {
            port = new Port(small(), h); // one worker: every onData on the same thread
            socket = new Socket("127.0.0.1", port.listenerPort(port.listen("127.0.0.1", 0)));
            socket.setSoTimeout(DEADLINE_S * 1000);
            socket.setTcpNoDelay(true);
        }

        /** Writes one message and waits for the server's reply of n bytes. */
        byte[] roundTrip(byte[] msg, int n) throws Exception {
            socket.getOutputStream().write(msg);
            return socket.getInputStream().readNBytes(n);
        }

        @Override
        public void close() throws Exception {
            socket.close();
            port.close();
        }
    }

    @Test
    void aBufferKeptPastOnDataIsEmptiedAndTheNextCallGetsAFreshView() throws Exception {
        List<ByteBuffer> kept = new CopyOnWriteArrayList<>();
        List<byte[]> seen = new CopyOnWriteArrayList<>();
        Handler h = new Handler() {
            @Override
            public void onData(Port p, long conn, ByteBuffer data) {
                // What the handler of the previous call did to the buffer is undone.
                assertEquals(0, data.position());
                assertEquals(data.capacity(), data.limit());
                assertEquals(ByteOrder.BIG_ENDIAN, data.order());
                assertTrue(data.isDirect());
                kept.add(data); // wrong on purpose: the doc says never keep it
                seen.add(Handler.copyOf(data));
                assertEquals(0, data.position(), "copyOf does not move the position");
                data.order(ByteOrder.LITTLE_ENDIAN).position(data.limit()); // disturb it
                // One byte, "got it", sent by a task that runs on this (only) worker after
                // this call has returned, so the buffer has been emptied by then.
                byte n = (byte) seen.size();
                p.post(() -> p.send(conn, new byte[] {n}));
            }
        };
        try (Peer peer = new Peer(h)) {
            byte[] a = pattern(1000, 1), b = pattern(300, 2);
            assertArrayEquals(new byte[] {1}, peer.roundTrip(a, 1));
            ByteBuffer first = kept.get(0);
            // Emptied after the call: nothing of the engine's memory is reachable.
            assertEquals(0, first.capacity());
            assertEquals(0, first.limit());
            assertEquals(0, first.remaining());
            assertThrows(BufferUnderflowException.class, first::get);
            assertThrows(IndexOutOfBoundsException.class, () -> first.get(0));
            first.clear(); // even a reset gives it no bytes back
            assertEquals(0, first.remaining());

            assertArrayEquals(new byte[] {2}, peer.roundTrip(b, 1));
            assertArrayEquals(a, seen.get(0));
            assertArrayEquals(b, seen.get(1));
            // The same object both times: no DirectByteBuffer allocated per onData.
            assertSame(kept.get(0), kept.get(1));
            assertEquals(0, kept.get(1).capacity());
        }
    }

    @Test
    void manyCallsThroughTheReusedViewCarryExactlyTheBytesSent() throws Exception {
        Handler echo = new Handler() {
            @Override
            public void onData(Port p, long conn, ByteBuffer data) {
                p.send(conn, data); // the view itself goes back
                assertEquals(data.limit(), data.position(), "send moved the position to the limit");
            }
        };
        try (Peer peer = new Peer(echo)) {
            for (int i = 0; i < 200; i++) {
                byte[] m = pattern(1 + (i * 997) % 40_000, i);
                assertArrayEquals(m, peer.roundTrip(m, m.length), "message " + i);
            }
        }
    }

    @Test
    void sendsFromDirectBuffersAreByteExactAndMoveOnlyTheirOwnPosition() throws Exception {
        byte[] payload = pattern(100_000, 7);
        ByteBuffer big = ByteBuffer.allocateDirect(payload.length + 100);
        big.position(50);
        big.put(payload);
        big.flip().position(50); // bytes 50..50+payload: an offset into the buffer
        ByteBuffer ro = ByteBuffer.allocateDirect(64).put(pattern(64, 9)).flip().asReadOnlyBuffer();
        Handler h = new Handler() {
            @Override
            public void onData(Port p, long conn, ByteBuffer data) {
                if (data.get(0) != 'x') return;
                p.send(conn, big);
                assertFalse(big.hasRemaining());
                p.send(conn, ro); // a read-only direct buffer is still direct
                assertFalse(ro.hasRemaining());
            }
        };
        try (Peer peer = new Peer(h)) {
            byte[] got = peer.roundTrip(new byte[] {'x'}, payload.length + 64);
            byte[] first = java.util.Arrays.copyOfRange(got, 0, payload.length);
            assertArrayEquals(payload, first);
            assertArrayEquals(pattern(64, 9), java.util.Arrays.copyOfRange(got, payload.length, got.length));
        }
    }
}
