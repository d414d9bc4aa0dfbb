package org.iocpnet;

/** Process-wide functions: versions and the engine's log hook. */
public final class IocpNet {
    private IocpNet() {}

    /** Log level: errors only. */
    public static final int LOG_ERROR = 0;
    /** Log level: warnings and errors. */
    public static final int LOG_WARN = 1;
    /** Log level: informational messages and above. */
    public static final int LOG_INFO = 2;
    /** Log level: everything. */
    public static final int LOG_DEBUG = 3;

    /** The version of this binding (and of the engine it was built with). */
    public static final String VERSION = "1.0.0";

    /**
     * @return the loaded engine's version as "major.minor.patch"
     */
    public static String nativeVersion() {
        int v = IocpNetNative.version();
        return (v >>> 16) + "." + ((v >>> 8) & 0xff) + "." + (v & 0xff);
    }

    /**
     * Sends the engine's messages at {@code level} or more severe to {@code handler}
     * (process-wide, for every port); {@code null} turns logging off (the default).
     * A handler that throws has its exception printed and dropped.
     * @param level {@link #LOG_ERROR} .. {@link #LOG_DEBUG}
     * @param handler the receiver, or null
     * @throws IocpNetException INVALID_ARG for a bad level
     */
    public static synchronized void setLog(int level, LogHandler handler) {
        NativeLogger logger = null;
        if (handler != null) {
            logger = new NativeLogger() {
                @Override
                public void log(int lvl, String message) { handler.log(lvl, message); }
            };
            // The engine may call it from any thread at any time: pin it with a
            // global reference for the life of the process (never freed, see glue.hpp).
            logger.swigReleaseOwnership();
        }
        IocpNetException.check(IocpNetNative.setLog(level, logger), "setLog");
    }

    /**
     * Routes the engine's log to {@link System.Logger} "org.iocpnet".
     * @param level {@link #LOG_ERROR} .. {@link #LOG_DEBUG}
     */
    public static void logToSystemLogger(int level) {
        System.Logger log = System.getLogger("org.iocpnet");
        setLog(level, (lvl, msg) -> log.log(switch (lvl) {
            case LOG_ERROR -> System.Logger.Level.ERROR;
            case LOG_WARN -> System.Logger.Level.WARNING;
            case LOG_INFO -> System.Logger.Level.INFO;
            default -> System.Logger.Level.DEBUG;
        }, msg));
    }
}
