package org.iocpnet;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.iocpnet.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

@Timeout(180)
class ManyConnectionsTest {
    static final int CONNS = 100, MSGS = 1000, SIZE = 8;

    /** Checks each connection's echo stream: 8-byte messages (connection index, sequence). */
    static final class Checker implements Handler {
        final ConcurrentHashMap<Long, Integer> index = new ConcurrentHashMap<>();
        final ConcurrentHashMap<Long, ByteBuffer> pending = new ConcurrentHashMap<>();
        final int[] next = new int[CONNS];
        final CountDownLatch done = new CountDownLatch(CONNS);
        volatile String error;

        @Override
        public void onData(Port port, long conn, ByteBuffer data) {
            // Callbacks of one connection never overlap, so per-connection state needs no lock.
            ByteBuffer acc = pending.computeIfAbsent(conn, k -> ByteBuffer.allocate(SIZE));
            int i = index.get(conn);
            while (data.hasRemaining()) {
                acc.put(data.get());
                if (acc.hasRemaining()) continue;
                acc.flip();
                int who = acc.getInt(), seq = acc.getInt();
                acc.clear();
                if (who != i || seq != next[i]) {
                    error = "connection " + i + ": got (" + who + "," + seq + ") expected (" + i + "," + next[i] + ")";
                    return;
                }
                if (++next[i] == MSGS) done.countDown();
            }
        }
    }

    @Test
    void hundredConnectionsThousandMessagesEachArriveInOrder() throws Exception {
        Checker checker = new Checker();
        try (Port server = new Port(new PortOptions().workerThreads(2), ECHO);
             Port client = new Port(new PortOptions().workerThreads(2), checker)) {
            int p = server.listenerPort(server.listen("127.0.0.1", 0));
            long[] conns = new long[CONNS];
            for (int i = 0; i < CONNS; i++) {
                conns[i] = client.connect("127.0.0.1", p);
                checker.index.put(conns[i], i);
            }
            ByteBuffer msg = ByteBuffer.allocate(SIZE);
            for (int seq = 0; seq < MSGS; seq++) {
                for (int i = 0; i < CONNS; i++) {
                    msg.clear();
                    msg.putInt(i).putInt(seq).flip();
                    client.send(conns[i], msg);
                }
            }
            await(checker.done, "all echoes");
            assertNull(checker.error);
            for (int i = 0; i < CONNS; i++) assertEquals(MSGS, checker.next[i]);
            Stats s = server.stats();
            assertEquals(CONNS, s.connectionsAccepted());
            assertEquals((long) CONNS * MSGS * SIZE, s.bytesReceived());
        }
    }
}
