package org.iocpnet;

/**
 * A failed iocpnet call: the engine's error code (a negative
 * {@code IOCPNET_E_*} value, see {@link ErrorCode}), its name and the
 * engine's detail message for the call, if any.
 */
public class IocpNetException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** The negative iocpnet error code. */
    private final int code;
    /** The code's name, e.g. IOCPNET_E_NOT_FOUND. */
    private final String name;
    /** The engine's detail message, "" when none. */
    private final String detail;

    /**
     * @param code   the negative iocpnet error code
     * @param name   its name, e.g. {@code IOCPNET_E_NOT_FOUND}
     * @param detail the engine's detail for this failure ("" if none)
     * @param what   what was being done, for the message
     */
    public IocpNetException(int code, String name, String detail, String what) {
        super(what + ": " + name + " (" + ErrorCode.message(code) + ")" + (detail.isEmpty() ? "" : ": " + detail));
        this.code = code;
        this.name = name;
        this.detail = detail;
    }

    /**
     * @return the negative iocpnet error code, e.g. {@link ErrorCode#NOT_FOUND}
     */
    public int code() { return code; }

    /**
     * @return the code's name, e.g. {@code "IOCPNET_E_NOT_FOUND"}
     */
    public String name() { return name; }

    /**
     * @return the engine's detail message for the failed call, "" when it gave none
     */
    public String detail() { return detail; }

    /** Throws for a failed result; returns for {@link ErrorCode#OK}. Call right after the failed call. */
    static void check(int rc, String what) {
        if (rc != ErrorCode.OK) throw of(rc, what);
    }

    static IocpNetException of(int rc, String what) {
        // The detail is this thread's and changes on its next iocpnet call: read it first.
        String detail = IocpNetNative.lastErrorMessage();
        return new IocpNetException(rc, IocpNetNative.errName(rc), detail == null ? "" : detail, what);
    }
}
