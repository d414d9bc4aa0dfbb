package org.iocpnet;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A timer on a port's worker threads ({@link Port#startTimer}). Its port keeps the task reachable
 * until the timer is stopped, has run (one-shot) or the port is closed, whether or not this object
 * is still referenced. {@link #close()} stops it: {@code try (PortTimer t = port.startTimer(...)) { ... }}.
 */
public final class PortTimer implements AutoCloseable {
    private final Port port;
    final long token; // what native code knows it by: a stopped timer's token finds nothing
    final boolean repeating;
    final Consumer<PortTimer> task;
    private volatile long id; // the engine's id, 0 until iocpnet_timer_start returned

    PortTimer(Port port, long token, boolean repeating, Consumer<PortTimer> task) {
        this.port = port;
        this.token = token;
        this.repeating = repeating;
        this.task = task;
    }

    /** @return the engine's timer id */
    public long id() { return id; }

    /** @return true until the timer is stopped, has run (one-shot), or its port is closed */
    public boolean isActive() { return port.timerActive(token); }

    /**
     * Stops the timer: once this returns the task does not start again (a run already under way
     * on another worker may finish). Works from inside the task.
     * @return true when this call stopped it; false when it had already run (one-shot) or was stopped
     */
    public boolean stop() {
        if (!port.forgetTimer(token)) return false;
        long i = id;
        // 0: startTimer has not returned yet; it sees the timer gone and stops the engine's timer.
        if (i != 0) port.stopNativeTimer(i);
        return true;
    }

    /** Stops the timer (see {@link #stop()}); nothing when it is not active. */
    @Override
    public void close() { stop(); }

    void started(long engineId) {
        id = engineId;
        // Stopped from its first run on another worker before the id was known.
        if (repeating && !port.timerActive(token)) port.stopNativeTimer(engineId);
    }

    static long millis(Duration d, String what, boolean zeroOk) {
        Objects.requireNonNull(d, what);
        if (d.isNegative() || (!zeroOk && d.isZero()))
            throw new IllegalArgumentException(what + " must be " + (zeroOk ? "0 or more" : "positive") + ": " + d);
        long ms = d.toMillis();
        if (d.minusMillis(ms).isZero()) return ms;
        return ms + 1; // rounded up: never earlier than asked
    }
}
