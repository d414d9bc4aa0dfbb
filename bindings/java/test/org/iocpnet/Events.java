package org.iocpnet;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;

/** A handler that records what happens per connection, with optional hooks (tests of issue 10's API). */
class Events implements Handler {
    final List<Long> accepted = new CopyOnWriteArrayList<>();
    final Map<Long, Integer> connected = new ConcurrentHashMap<>();
    final Map<Long, Integer> closed = new ConcurrentHashMap<>();
    final Map<Long, Integer> peerShutdowns = new ConcurrentHashMap<>();
    final Map<Long, Long> acceptThread = new ConcurrentHashMap<>();
    final Map<Long, List<byte[]>> messages = new ConcurrentHashMap<>();
    private final Map<Long, ByteArrayOutputStream> bytes = new ConcurrentHashMap<>();

    volatile BiConsumer<Port, Long> onAcceptHook, onPeerShutdownHook, onCloseHook;
    volatile BiConsumer<Port, Long> onDataHook;

    @Override
    public void onAccept(Port port, long listener, long conn) {
        acceptThread.put(conn, Thread.currentThread().getId());
        BiConsumer<Port, Long> h = onAcceptHook;
        if (h != null) h.accept(port, conn);
        accepted.add(conn);
    }

    @Override
    public void onConnect(Port port, long conn, int status) { connected.put(conn, status); }

    @Override
    public void onData(Port port, long conn, ByteBuffer data) {
        byte[] b = TestSupport.copy(data);
        ByteArrayOutputStream s = bytes.computeIfAbsent(conn, k -> new ByteArrayOutputStream());
        synchronized (s) { s.write(b, 0, b.length); }
        messages.computeIfAbsent(conn, k -> new CopyOnWriteArrayList<>()).add(b);
        BiConsumer<Port, Long> h = onDataHook;
        if (h != null) h.accept(port, conn);
    }

    @Override
    public void onPeerShutdown(Port port, long conn) {
        BiConsumer<Port, Long> h = onPeerShutdownHook;
        if (h != null) h.accept(port, conn);
        peerShutdowns.merge(conn, 1, Integer::sum);
    }

    @Override
    public void onClose(Port port, long conn, int reason) {
        BiConsumer<Port, Long> h = onCloseHook;
        if (h != null) h.accept(port, conn);
        closed.put(conn, reason);
    }

    long count(long conn) {
        ByteArrayOutputStream s = bytes.get(conn);
        if (s == null) return 0;
        synchronized (s) { return s.size(); }
    }

    long total() {
        long n = 0;
        for (long c : bytes.keySet()) n += count(c);
        return n;
    }

    byte[] bytes(long conn) {
        ByteArrayOutputStream s = bytes.get(conn);
        if (s == null) return new byte[0];
        synchronized (s) { return s.toByteArray(); }
    }
}
