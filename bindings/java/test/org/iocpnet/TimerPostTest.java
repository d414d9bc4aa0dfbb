package org.iocpnet;

import java.lang.ref.WeakReference;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.iocpnet.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** Port.startTimer (PortTimer) and Port.post(conn, task). */
@Timeout(120)
class TimerPostTest {
    @Test
    void repeatingTimerFiresRepeatedlyOnAWorkerAndStopsWhenClosed() throws Exception {
        try (Port port = new Port(small(), new Handler() {})) {
            AtomicInteger runs = new AtomicInteger();
            Map<Long, Boolean> threads = new ConcurrentHashMap<>();
            long t0 = System.nanoTime();
            PortTimer t = port.startTimer(Duration.ofMillis(30), Duration.ofMillis(10), () -> {
                threads.put(Thread.currentThread().getId(), true);
                runs.incrementAndGet();
            });
            assertTrue(t.isActive());
            assertNotEquals(0, t.id());
            until(() -> runs.get() >= 5, "five runs");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 30 + 4 * 10 - 1, "five runs after " + ms + " ms");
            t.close();
            assertFalse(t.isActive());
            assertFalse(t.stop()); // already stopped
            Thread.sleep(50); // a run under way when close returned may finish
            int atStop = runs.get();
            Thread.sleep(300);
            assertEquals(atStop, runs.get());
            assertFalse(threads.containsKey(Thread.currentThread().getId()));
        }
    }

    @Test
    void oneShotTimerFiresOnceNotBeforeItsDelay() throws Exception {
        try (Port port = new Port(small(), new Handler() {})) {
            AtomicInteger runs = new AtomicInteger();
            AtomicLong firedAfter = new AtomicLong(-1);
            long t0 = System.nanoTime();
            try (PortTimer t = port.startTimer(Duration.ofMillis(100), null, () -> {
                firedAfter.set((System.nanoTime() - t0) / 1_000_000);
                runs.incrementAndGet();
            })) {
                until(() -> runs.get() == 1, "the run");
                assertTrue(firedAfter.get() >= 99, "fired after " + firedAfter.get() + " ms");
                until(() -> !t.isActive(), "a fired one-shot is no longer active");
                assertFalse(t.stop());
                Thread.sleep(200);
                assertEquals(1, runs.get());
            }
        }
    }

    @Test
    void timerStopsItselfFromItsTaskAndItsExceptionsAreReportedWithoutStoppingIt() throws Exception {
        ConcurrentLinkedQueue<Throwable> reported = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Long> conns = new ConcurrentLinkedQueue<>();
        try (Port port = new Port(small(), new Handler() {
                @Override
                public void onHandlerException(Port p, long conn, Throwable error) {
                    conns.add(conn);
                    reported.add(error);
                }
             })) {
            AtomicInteger runs = new AtomicInteger();
            PortTimer t = port.startTimer(Duration.ZERO, Duration.ofMillis(5), self -> {
                int n = runs.incrementAndGet();
                if (n < 3) throw new IllegalStateException("run " + n);
                assertTrue(self.stop());
            });
            until(() -> !t.isActive(), "the timer stopped itself");
            Thread.sleep(100);
            assertEquals(3, runs.get());
            assertEquals(2, reported.size());
            for (Throwable e : reported) assertInstanceOf(IllegalStateException.class, e);
            for (long c : conns) assertEquals(0, c);
            assertThrows(IllegalArgumentException.class, () -> port.startTimer(Duration.ofMillis(-1), null, () -> {}));
            assertThrows(IllegalArgumentException.class, () -> port.startTimer(Duration.ZERO, Duration.ZERO, () -> {}));
        }
    }

    @Test
    void unreferencedTimerKeepsItsTaskReachableUntilThePortCloses() throws Exception {
        Port port = new Port(small(), new Handler() {});
        AtomicInteger runs = new AtomicInteger();
        WeakReference<PortTimer> timer = startForgotten(port, runs);
        for (int i = 0; i < 5; i++) {
            System.gc();
            int before = runs.get();
            until(() -> runs.get() > before, "a run after a collection");
        }
        assertNotNull(timer.get(), "the port keeps the timer of a running schedule");
        port.close(); // stops every timer
        int atClose = runs.get();
        Thread.sleep(200);
        assertEquals(atClose, runs.get());
        PortTimer t = timer.get();
        assertTrue(t == null || !t.isActive());
        t = null;
        until(() -> { System.gc(); return timer.get() == null; }, "a stopped timer is no longer kept");
        assertThrows(IllegalStateException.class, () -> port.startTimer(Duration.ZERO, null, () -> {}));
    }

    private static WeakReference<PortTimer> startForgotten(Port port, AtomicInteger runs) {
        return new WeakReference<>(port.startTimer(Duration.ZERO, Duration.ofMillis(5), () -> runs.incrementAndGet()));
    }

    @Test
    void postRunsOnTheConnectionsWorkerBetweenItsCallbacksAndBeforeOnClose() throws Exception {
        Map<Long, ConcurrentLinkedQueue<String>> order = new ConcurrentHashMap<>();
        Events server = new Events();
        server.onCloseHook = (p, c) -> order.computeIfAbsent(c, k -> new ConcurrentLinkedQueue<>()).add("close");
        List<Socket> peers = new ArrayList<>();
        try (Port sp = new Port(new PortOptions().workerThreads(2), server)) {
            int tcpPort = sp.listenerPort(sp.listen("127.0.0.1", 0));
            for (int i = 0; i < 4; i++) peers.add(new Socket(InetAddress.getLoopbackAddress(), tcpPort));
            until(() -> server.accepted.size() == 4, "four accepts");
            Map<Long, Long> postThread = new ConcurrentHashMap<>();
            for (long id : server.accepted) {
                for (int i = 0; i < 50; i++) {
                    int n = i;
                    sp.post(id, () -> {
                        postThread.put(id, Thread.currentThread().getId());
                        order.computeIfAbsent(id, k -> new ConcurrentLinkedQueue<>()).add("post " + n);
                    });
                }
                sp.close(id); // the posts still run, all of them before onClose
            }
            until(() -> server.closed.size() == 4, "four closes");
            for (long id : server.accepted) {
                List<String> expected = new ArrayList<>();
                for (int i = 0; i < 50; i++) expected.add("post " + i);
                expected.add("close");
                assertEquals(expected, new ArrayList<>(order.get(id)));
                assertEquals(server.acceptThread.get(id), postThread.get(id));
            }
            long dead = server.accepted.get(0);
            IocpNetException e = assertThrows(IocpNetException.class, () -> sp.post(dead, () -> {}));
            assertEquals(ErrorCode.NOT_FOUND, e.code());
        } finally {
            for (Socket s : peers) s.close();
        }
    }

    @Test
    void postFromACallbackWaitsForItSurvivesACollectionAndReportsExceptions() throws Exception {
        ConcurrentLinkedQueue<String> ran = new ConcurrentLinkedQueue<>();
        CompletableFuture<Long> reportedConn = new CompletableFuture<>();
        CompletableFuture<Throwable> reported = new CompletableFuture<>();
        Events server = new Events() {
            @Override
            public void onHandlerException(Port port, long conn, Throwable error) {
                reportedConn.complete(conn);
                reported.complete(error);
            }
        };
        server.onDataHook = (p, c) -> {
            if (server.count(c) == 1) {
                p.post(c, () -> ran.add("post"));
                System.gc(); // nothing but the port references the task now
                try { Thread.sleep(50); } catch (InterruptedException e) { throw new RuntimeException(e); }
                ran.add("callback"); // serialized: the post waits for this callback to return
            } else {
                p.post(c, () -> { throw new ArithmeticException("posted failure"); });
            }
        };
        try (Port sp = new Port(small(), server)) {
            int tcpPort = sp.listenerPort(sp.listen("127.0.0.1", 0));
            try (Socket peer = new Socket(InetAddress.getLoopbackAddress(), tcpPort)) {
                peer.getOutputStream().write('a');
                until(() -> ran.size() == 2, "the callback and the post");
                assertEquals(List.of("callback", "post"), new ArrayList<>(ran));
                peer.getOutputStream().write('b');
                assertInstanceOf(ArithmeticException.class, await(reported));
                until(() -> server.closed.size() == 1, "the connection is aborted as after a throwing callback");
                assertEquals(server.closed.keySet().iterator().next(), await(reportedConn));
            }
        }
    }
}
