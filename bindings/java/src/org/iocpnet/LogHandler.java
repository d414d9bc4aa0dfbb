package org.iocpnet;

/** Receives the engine's log messages; see {@link IocpNet#setLog}. */
@FunctionalInterface
public interface LogHandler {
    /**
     * One message. Runs on whatever thread logged it, possibly while the engine
     * holds internal locks: do not call back into iocpnet from here.
     * @param level {@link IocpNet#LOG_ERROR} .. {@link IocpNet#LOG_DEBUG}
     * @param message the text
     */
    void log(int level, String message);
}
