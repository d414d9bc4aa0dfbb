// C++ glue between the C ABI and SWIG's Java director machinery.
//
// SWIG wraps the classes below (iocpnet_java.i). The engine's C callbacks
// land in glue.cpp, which forwards them to NativeHandler's virtual methods;
// SWIG's director subclass turns those into Java upcalls. Everything here
// returns iocpnet codes: the Java layer (org.iocpnet.Port) turns them into
// exceptions. Ids cross as int64_t (a Java long) holding the uint64_t bits.
#pragma once
#include <jni.h>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include "iocpnet/iocpnet.h"

namespace iocpnet_java {

// A view of engine memory for onData; typemapped to a direct ByteBuffer.
struct Bytes {
    const uint8_t *data;
    size_t len;
};

class NativeHandler;
#ifndef SWIG
// Drops the fast onData upcall's global reference (glue.cpp).
void release_upcalls(NativeHandler *h);
#endif

// The callbacks a port delivers. A director: Java overrides these.
class NativeHandler {
public:
    virtual ~NativeHandler() { release_upcalls(this); }
    virtual void onAccept(int64_t listener, int64_t conn) { (void)listener; (void)conn; }
    virtual void onConnect(int64_t conn, int status) { (void)conn; (void)status; }
    virtual void onData(int64_t conn, Bytes data) { (void)conn; (void)data; }
    virtual void onDrain(int64_t conn) { (void)conn; }
    virtual void onClose(int64_t conn, int reason) { (void)conn; (void)reason; }
    virtual void onFramingError(int64_t conn, int err) { (void)conn; (void)err; }
    // A task queued by NativePort::post (token chosen by Java) is due.
    virtual void onPost(int64_t token) { (void)token; }
    // The peer of a half_open connection shut down its write side.
    virtual void onPeerShutdown(int64_t conn) { (void)conn; }
    // A timer started by NativePort::timerStart (token chosen by Java) is due.
    virtual void onTimer(int64_t token) { (void)token; }
    // A task queued by NativePort::connPost is due (serialized with conn's callbacks).
    virtual void onConnPost(int64_t conn, int64_t token) { (void)conn; (void)token; }
    // The engine let go of the buffer of NativePort::sendOwned with this token.
    // Runs on a worker (or inside sendOwned when a layer copied the bytes);
    // its exception is reported with connection 0.
    virtual void onReleased(int64_t token) { (void)token; }
    // A Java exception escaped one of the methods above; conn is 0 for onPost.
    // `error` is a global reference owned by the glue, valid during the call.
    virtual void onHandlerException(int64_t conn, jthrowable error) { (void)conn; (void)error; }

#ifndef SWIG
    // onData's upcall without the director (glue.cpp, cb_data): a global
    // reference to the Java handler and its onData method, set by
    // NativePort::create before the port exists, read-only afterwards.
    jobject upcall_self_ = nullptr;
    jmethodID upcall_on_data_ = nullptr;
#endif
};

// The process-wide log hook (iocpnet_set_log). A director.
class NativeLogger {
public:
    virtual ~NativeLogger() {}
    virtual void log(int level, const char *message) { (void)level; (void)message; }
};

// One iocpnet_port and the handler its callbacks go to.
class NativePort {
public:
    NativePort() {}
    // Destroys a port still open (blocking) and deletes the handler.
    ~NativePort();
    // handler: owned from now on (deleted by destroy/the destructor).
    // self: the Java object of handler (the director), for onData's direct upcall.
    // uint32_t settings travel as int (IOCPNET_INHERIT is -1).
    int create(JNIEnv *env, jobject self, NativeHandler *handler, int workerThreads, int backend, int maxConnections,
               int64_t maxSendQueueBytes, int idleTimeoutMs, int connectTimeoutMs, int tcpNodelay,
               int keepaliveS);
    // IN_CALLBACK leaves everything intact; on success the handler is deleted.
    int destroy();
    // tls: a handle from tlsCreate or 0 (the listener takes its own reference).
    int listen(const char *host, int port, int framing, int maxMessageSize, int idleTimeoutMs,
               int connectTimeoutMs, int tcpNodelay, int keepaliveS, int halfOpen, int64_t tls, int64_t *OUTPUT);
    int listenerPort(int64_t listener, int *OUTPUT);
    int unlisten(int64_t listener);
    // tls as for listen; serverName, wsHost, wsPath: UTF-8 bytes or null (copied by connect_ex).
    int connect(JNIEnv *env, const char *host, int port, int framing, int maxMessageSize, int idleTimeoutMs,
                int connectTimeoutMs, int tcpNodelay, int keepaliveS, int halfOpen, int64_t tls,
                jbyteArray serverName, jbyteArray wsHost, jbyteArray wsPath, int64_t *OUTPUT);
    // Bounds are checked by the Java caller.
    int send(JNIEnv *env, int64_t conn, jbyteArray data, int off, int len);
    // directBuffer: isDirect() checked by the Java caller (its address field is read).
    int sendDirect(JNIEnv *env, int64_t conn, jobject directBuffer, int off, int len);
    int sendMany(JNIEnv *env, jlongArray conns, int count, jbyteArray data, int off, int len,
                 int64_t *OUTPUT);
    int close(int64_t conn, int mode);
    int post(int64_t token);
    // out: long[9] = backend, open, accepted, connected, closed, rx, tx, queued, TLS handshakes failed.
    int stats(JNIEnv *env, jlongArray out);
    // 0 when conn is live, else NOT_FOUND (or INVALID_ARG).
    int check(int64_t conn);
    std::string address(int64_t conn, bool peer, int *OUTPUT);

    int pauseRecv(int64_t conn);
    int resumeRecv(int64_t conn);
    int queuedBytes(int64_t conn, int64_t *OUTPUT);
    int shutdownWrite(int64_t conn);
    // parts[i] is a direct ByteBuffer or a byte[]; bytes offs[i]..offs[i]+lens[i]
    // of it (bounds checked by the Java caller). Copied by the engine.
    int sendv(JNIEnv *env, int64_t conn, jobjectArray parts, jintArray offs, jintArray lens);
    // Zero-copy: the direct buffer's bytes are queued in place; onReleased(token)
    // follows exactly once when the call succeeded, never when it failed.
    int sendOwned(JNIEnv *env, int64_t conn, jobject directBuffer, int off, int len, int64_t token);
    // onTimer(token) after delayMs, then every repeatMs (0 = once); *OUTPUT = the timer id.
    int timerStart(int64_t delayMs, int64_t repeatMs, int64_t token, int64_t *OUTPUT);
    int timerStop(int64_t timer);
    // onConnPost(conn, token) once, serialized with conn's callbacks, before its onClose.
    int connPost(int64_t conn, int64_t token);

    // TLS facts and WebSocket calls (glue_tls_ws.cpp). Strings cross as UTF-8
    // byte arrays, null for NULL: JNI's own string functions use modified
    // UTF-8, and header values from the network may be any bytes. Results:
    // the bytes, with the iocpnet code in *OUTPUT (null unless it is OK).
    jbyteArray tlsInfo(JNIEnv *env, int64_t conn, int what, int *OUTPUT);
    int wsSetSendType(int64_t conn, int type);
    int wsMessageType(int64_t conn, int *OUTPUT);
    jbyteArray wsRequestPath(JNIEnv *env, int64_t conn, int *OUTPUT);
    jbyteArray wsRequestHeader(JNIEnv *env, int64_t conn, jbyteArray name, int *OUTPUT);
    int wsAddPage(JNIEnv *env, int64_t listener, jbyteArray path, jbyteArray contentType, jbyteArray body);

#ifndef SWIG
    // The timer callback (glue.cpp): token of a live timer, false when it was stopped.
    bool timerToken(uint64_t timer, int64_t *token);
    NativeHandler *handler() const { return handler_; }
#endif

private:
    NativePort(const NativePort &);
    NativePort &operator=(const NativePort &);
    iocpnet_port *port_ = nullptr;
    NativeHandler *handler_ = nullptr;
    // Live timers: engine id -> (Java token, repeating). The engine's timer
    // callback gets only the id; a stopped timer's entry is gone, so a run
    // racing with the stop finds nothing. Never held while Java code runs.
    std::mutex timers_mu_;
    std::unordered_map<uint64_t, std::pair<int64_t, bool>> timers_;
};

// logger: kept for the life of the process (another thread may still be
// inside the previous one), so never deleted. NULL turns logging off.
int setLog(int level, NativeLogger *logger);
int version();
const char *errName(int code);
const char *strError(int code);
const char *lastErrorMessage();

// A TLS configuration (glue_tls_ws.cpp): iocpnet_tls_create with UTF-8 byte
// arrays (null = NULL) for the strings; *OUTPUT = the iocpnet_tls pointer as
// a handle. tlsRelease drops the handle's reference.
int tlsCreate(JNIEnv *env, int role, jbyteArray certPem, jbyteArray keyPem, jbyteArray certFile, jbyteArray keyFile,
              jbyteArray caPem, jbyteArray caFile, int verifyPeer, jbyteArray alpn, int64_t *OUTPUT);
int tlsRelease(int64_t tls);

#ifndef SWIG
// A Java byte[] of UTF-8 as a NUL-terminated C string (null stays NULL).
class Utf8 {
public:
    Utf8(JNIEnv *env, jbyteArray a) : null_(a == nullptr) {
        if (null_) return;
        jsize n = env->GetArrayLength(a);
        s_.resize(static_cast<size_t>(n));
        if (n) env->GetByteArrayRegion(a, 0, n, reinterpret_cast<jbyte *>(&s_[0]));
    }
    const char *c_str() const { return null_ ? nullptr : s_.c_str(); }

private:
    bool null_;
    std::string s_;
};
#endif

#ifndef SWIG
// onData's direct ByteBuffer for one upcall (recv_view.cpp): the calling
// worker thread's one buffer, re-pointed at data..data+len, or a fresh one
// when that cannot be done. Emptied (capacity 0) when the
// upcall is over, so a kept reference cannot reach freed engine memory.
// Constructed and destroyed with no Java exception pending.
class RecvView {
public:
    RecvView(JNIEnv *env, const uint8_t *data, size_t len);
    ~RecvView();
    jobject get() const { return buf_; }

private:
    RecvView(const RecvView &);
    RecvView &operator=(const RecvView &);
    JNIEnv *env_;
    jobject buf_ = nullptr;
    bool reused_ = false; // the thread's global reference, not a local one
};
// From JNI_OnLoad: finds java.nio.Buffer's address and capacity fields.
void init_recv_view(JavaVM *vm, JNIEnv *env);
// The address of a buffer the Java caller knows is direct (its address field).
void *direct_address(JNIEnv *env, jobject buf);
#endif

#ifndef SWIG
// Called from the director:except code in the generated wrapper: keeps the
// pending Java exception (cleared already) for the callback trampoline.
void stash_exception(JNIEnv *env, jthrowable error);
#endif

} // namespace iocpnet_java
