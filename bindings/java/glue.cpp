// The engine's C callbacks, forwarded to the Java director, and the calls
// Java makes into the engine. See glue.hpp.
#include "glue.hpp"

#include <pthread.h>
#include <atomic>
#include <cstdio>
#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace iocpnet_java {
namespace {

JavaVM *g_vm = nullptr;
std::atomic<NativeLogger *> g_logger{nullptr};

// A Java exception cleared by the director:except code, waiting for the
// trampoline that made the upcall (it knows the port and connection).
thread_local jthrowable t_pending = nullptr;
// Nonzero while this thread holds a GetPrimitiveArrayCritical region: no JNI
// call may happen then, so log messages are kept until it is released.
thread_local int t_critical_depth = 0;
thread_local std::vector<std::pair<uint32_t, std::string>> t_deferred_logs;

pthread_key_t g_detach_key;
pthread_once_t g_detach_once = PTHREAD_ONCE_INIT;
void detach_thread(void *) { if (g_vm) g_vm->DetachCurrentThread(); }
void make_detach_key() { pthread_key_create(&g_detach_key, detach_thread); }

// This thread's JNIEnv. A thread we attach here (only on the exception path
// of a build without SWIG_JAVA_DETACH_ON_THREAD_END) is attached as a daemon
// and detached when it ends, like SWIG's own attach with that flag.
JNIEnv *current_env() {
    JNIEnv *env = nullptr;
    if (!g_vm) return nullptr;
    if (g_vm->GetEnv(reinterpret_cast<void **>(&env), JNI_VERSION_1_8) == JNI_OK) return env;
    if (g_vm->AttachCurrentThreadAsDaemon(reinterpret_cast<void **>(&env), nullptr) != JNI_OK) return nullptr;
    pthread_once(&g_detach_once, make_detach_key);
    pthread_setspecific(g_detach_key, g_vm);
    return env;
}

// Prints and drops an exception nobody can handle (a throwing
// onHandlerException or log hook): the worker thread must go on.
void drop_pending(const char *where) {
    jthrowable t = t_pending;
    if (!t) return;
    t_pending = nullptr;
    JNIEnv *env = current_env();
    if (!env) return;
    std::fprintf(stderr, "iocpnet: exception thrown by %s (ignored):\n", where);
    env->Throw(t);
    env->ExceptionDescribe(); // prints the stack trace and clears it
    env->DeleteGlobalRef(t);
}

// After every upcall: a handler that threw is told via onHandlerException,
// and the connection it was serving is aborted (its state is unknown).
void after_upcall(NativeHandler *h, iocpnet_port *port, iocpnet_conn conn, bool close_conn) {
    jthrowable t = t_pending;
    if (!t) return;
    t_pending = nullptr;
    h->onHandlerException(static_cast<int64_t>(conn), t);
    drop_pending("onHandlerException");
    if (JNIEnv *env = current_env()) env->DeleteGlobalRef(t);
    if (close_conn && conn) iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT);
}

NativeHandler *H(void *user) { return static_cast<NativeHandler *>(user); }
int64_t J(uint64_t id) { return static_cast<int64_t>(id); }

void IOCPNET_CALL cb_accept(void *u, iocpnet_port *p, iocpnet_listener l, iocpnet_conn c) {
    H(u)->onAccept(J(l), J(c));
    after_upcall(H(u), p, c, true);
}
void IOCPNET_CALL cb_connect(void *u, iocpnet_port *p, iocpnet_conn c, int status) {
    H(u)->onConnect(J(c), status);
    after_upcall(H(u), p, c, status == IOCPNET_OK);
}
// onData is the one upcall per message, so it skips the SWIG director's
// per-call work (attach check, a local reference to the handler and its
// null check, a static bridge method): a virtual call on the handler's global
// reference. A thread not attached yet (its first callback) takes the
// director, which attaches it.
void IOCPNET_CALL cb_data(void *u, iocpnet_port *p, iocpnet_conn c, const uint8_t *d, size_t n) {
    static const uint8_t empty = 0; // NewDirectByteBuffer wants an address even for 0 bytes
    if (!d) d = &empty;
    NativeHandler *h = H(u);
    JNIEnv *env = nullptr;
    if (h->upcall_self_ && g_vm->GetEnv(reinterpret_cast<void **>(&env), JNI_VERSION_1_8) == JNI_OK) {
        RecvView view(env, d, n);
        env->CallVoidMethod(h->upcall_self_, h->upcall_on_data_, static_cast<jlong>(c), view.get());
        if (env->ExceptionCheck()) { // as the director:except code: clear and keep it
            jthrowable e = env->ExceptionOccurred();
            env->ExceptionClear();
            stash_exception(env, e);
        }
    } else {
        h->onData(J(c), Bytes{d, n});
    }
    after_upcall(h, p, c, true);
}
void IOCPNET_CALL cb_drain(void *u, iocpnet_port *p, iocpnet_conn c) {
    H(u)->onDrain(J(c));
    after_upcall(H(u), p, c, true);
}
void IOCPNET_CALL cb_close(void *u, iocpnet_port *p, iocpnet_conn c, int reason) {
    H(u)->onClose(J(c), reason);
    after_upcall(H(u), p, c, false);
}
void IOCPNET_CALL cb_framing_error(void *u, iocpnet_port *p, iocpnet_conn c, int err) {
    H(u)->onFramingError(J(c), err);
    after_upcall(H(u), p, c, true);
}
void IOCPNET_CALL cb_peer_shutdown(void *u, iocpnet_port *p, iocpnet_conn c) {
    H(u)->onPeerShutdown(J(c));
    after_upcall(H(u), p, c, true);
}

// Timers: arg is the NativePort, valid for every run (destroy stops every
// timer before the NativePort can be freed); the token comes from its table.
void IOCPNET_CALL cb_timer(void *arg, iocpnet_port *p, iocpnet_timer t) {
    NativePort *np = static_cast<NativePort *>(arg);
    int64_t token = 0;
    if (!np->timerToken(t, &token)) return; // stopped meanwhile
    np->handler()->onTimer(token);
    after_upcall(np->handler(), p, 0, false);
}

struct ConnPostArg {
    NativeHandler *handler;
    int64_t token;
};
void IOCPNET_CALL cb_conn_post(void *arg, iocpnet_port *p, iocpnet_conn c) {
    ConnPostArg *a = static_cast<ConnPostArg *>(arg);
    a->handler->onConnPost(J(c), a->token);
    after_upcall(a->handler, p, c, true); // like a callback of c: a throw aborts it
    delete a;
}

struct OwnedArg {
    NativeHandler *handler;
    int64_t token;
};
void IOCPNET_CALL cb_owned_free(void *arg, const void *) {
    OwnedArg *a = static_cast<OwnedArg *>(arg);
    a->handler->onReleased(a->token);
    after_upcall(a->handler, nullptr, 0, false);
    delete a;
}

struct PostArg {
    NativeHandler *handler;
    iocpnet_port *port;
    int64_t token;
};
void IOCPNET_CALL cb_post(void *arg) {
    PostArg *a = static_cast<PostArg *>(arg);
    a->handler->onPost(a->token);
    after_upcall(a->handler, a->port, 0, false);
    delete a;
}

void IOCPNET_CALL cb_log(void *user, uint32_t level, const char *message) {
    if (t_critical_depth > 0) {
        t_deferred_logs.emplace_back(level, message ? message : "");
        return;
    }
    static_cast<NativeLogger *>(user)->log(static_cast<int>(level), message ? message : "");
    drop_pending("the log hook");
}

void flush_deferred_logs() {
    if (t_deferred_logs.empty()) return;
    std::vector<std::pair<uint32_t, std::string>> logs;
    logs.swap(t_deferred_logs);
    if (NativeLogger *lg = g_logger.load())
        for (auto &m : logs) {
            lg->log(static_cast<int>(m.first), m.second.c_str());
            drop_pending("the log hook");
        }
}

// A GetPrimitiveArrayCritical region around one engine call. The engine's
// send only copies into its queue (no callback runs inline), so the region
// is short and makes no JNI call; log messages are deferred (cb_log).
class Critical {
public:
    Critical(JNIEnv *env, jarray a) : env_(env), a_(a), p_(env->GetPrimitiveArrayCritical(a, nullptr)) {
        ++t_critical_depth;
    }
    ~Critical() {
        if (p_) env_->ReleasePrimitiveArrayCritical(a_, p_, JNI_ABORT); // read only: no copy back
        if (--t_critical_depth == 0) flush_deferred_logs();
    }
    char *get() const { return static_cast<char *>(p_); }

private:
    JNIEnv *env_;
    jarray a_;
    void *p_;
};

iocpnet_conn_options conn_options(int framing, int maxMessageSize, int idle, int connectTimeout,
                                  int nodelay, int keepalive, int halfOpen) {
    iocpnet_conn_options o;
    iocpnet_conn_options_init(&o);
    o.framing = static_cast<uint32_t>(framing);
    o.max_message_size = static_cast<uint32_t>(maxMessageSize);
    o.idle_timeout_ms = static_cast<uint32_t>(idle);
    o.connect_timeout_ms = static_cast<uint32_t>(connectTimeout);
    o.tcp_nodelay = static_cast<uint32_t>(nodelay);
    o.keepalive_s = static_cast<uint32_t>(keepalive);
    o.half_open = static_cast<uint32_t>(halfOpen);
    return o;
}

} // namespace

void stash_exception(JNIEnv *env, jthrowable error) {
    if (!t_pending) t_pending = static_cast<jthrowable>(env->NewGlobalRef(error)); // the first one wins
    env->DeleteLocalRef(error);
}

NativePort::~NativePort() {
    if (port_) iocpnet_port_destroy(port_);
    delete handler_;
}

void release_upcalls(NativeHandler *h) {
    if (!h->upcall_self_) return;
    if (JNIEnv *env = current_env()) env->DeleteGlobalRef(h->upcall_self_);
    h->upcall_self_ = nullptr;
}

int NativePort::create(JNIEnv *env, jobject self, NativeHandler *handler, int workerThreads, int backend,
                       int maxConnections, int64_t maxSendQueueBytes, int idleTimeoutMs, int connectTimeoutMs,
                       int tcpNodelay, int keepaliveS) {
    if (port_ || !handler) {
        delete handler;
        return IOCPNET_E_INVALID_ARG;
    }
    if (self) { // before the port exists: the workers only ever read these
        jclass cls = env->GetObjectClass(self);
        jmethodID m = env->GetMethodID(cls, "onData", "(JLjava/nio/ByteBuffer;)V");
        env->DeleteLocalRef(cls);
        if (m) {
            handler->upcall_on_data_ = m;
            handler->upcall_self_ = env->NewGlobalRef(self);
        } else {
            env->ExceptionClear(); // no such method: the director does it all
        }
    }
    iocpnet_config cfg;
    iocpnet_config_init(&cfg);
    cfg.worker_threads = static_cast<uint32_t>(workerThreads);
    cfg.backend = static_cast<uint32_t>(backend);
    cfg.max_connections = static_cast<uint32_t>(maxConnections);
    cfg.max_send_queue_bytes = static_cast<uint64_t>(maxSendQueueBytes);
    cfg.idle_timeout_ms = static_cast<uint32_t>(idleTimeoutMs);
    cfg.connect_timeout_ms = static_cast<uint32_t>(connectTimeoutMs);
    cfg.tcp_nodelay = static_cast<uint32_t>(tcpNodelay);
    cfg.keepalive_s = static_cast<uint32_t>(keepaliveS);
    iocpnet_callbacks cbs = {};
    cbs.struct_size = sizeof cbs;
    cbs.on_accept = cb_accept;
    cbs.on_connect = cb_connect;
    cbs.on_data = cb_data;
    cbs.on_drain = cb_drain;
    cbs.on_close = cb_close;
    cbs.on_framing_error = cb_framing_error;
    cbs.on_peer_shutdown = cb_peer_shutdown;
    int rc = iocpnet_port_create(&cfg, &cbs, handler, &port_);
    if (rc != IOCPNET_OK) {
        port_ = nullptr;
        delete handler;
        return rc;
    }
    handler_ = handler;
    return rc;
}

int NativePort::destroy() {
    if (!port_) return IOCPNET_E_INVALID_ARG;
    int rc = iocpnet_port_destroy(port_);
    if (rc != IOCPNET_OK) return rc; // IN_CALLBACK: the port is intact
    port_ = nullptr;
    {
        std::lock_guard<std::mutex> lk(timers_mu_);
        timers_.clear(); // destroy stopped them all
    }
    delete handler_; // releases the director's global reference to the Java handler
    handler_ = nullptr;
    return rc;
}

int NativePort::listen(const char *host, int port, int framing, int maxMessageSize, int idleTimeoutMs,
                       int connectTimeoutMs, int tcpNodelay, int keepaliveS, int halfOpen, int64_t tls, int64_t *out) {
    iocpnet_conn_options o = conn_options(framing, maxMessageSize, idleTimeoutMs, connectTimeoutMs, tcpNodelay, keepaliveS,
                                          halfOpen);
    o.tls = reinterpret_cast<iocpnet_tls *>(static_cast<intptr_t>(tls));
    iocpnet_listener l = 0;
    int rc = iocpnet_listen_ex(port_, host, static_cast<uint16_t>(port), &o, &l);
    *out = J(l);
    return rc;
}

int NativePort::listenerPort(int64_t listener, int *out) {
    uint16_t p = 0;
    int rc = iocpnet_listener_port(port_, static_cast<iocpnet_listener>(listener), &p);
    *out = p;
    return rc;
}

int NativePort::unlisten(int64_t listener) { return iocpnet_unlisten(port_, static_cast<iocpnet_listener>(listener)); }

int NativePort::connect(JNIEnv *env, const char *host, int port, int framing, int maxMessageSize, int idleTimeoutMs,
                        int connectTimeoutMs, int tcpNodelay, int keepaliveS, int halfOpen, int64_t tls,
                        jbyteArray serverName, jbyteArray wsHost, jbyteArray wsPath, int64_t *out) {
    iocpnet_conn_options o = conn_options(framing, maxMessageSize, idleTimeoutMs, connectTimeoutMs, tcpNodelay, keepaliveS,
                                          halfOpen);
    Utf8 sni(env, serverName), host_header(env, wsHost), path(env, wsPath); // connect_ex copies them
    o.tls = reinterpret_cast<iocpnet_tls *>(static_cast<intptr_t>(tls));
    o.server_name = sni.c_str();
    o.ws_host = host_header.c_str();
    o.ws_path = path.c_str();
    iocpnet_conn c = 0;
    int rc = iocpnet_connect_ex(port_, host, static_cast<uint16_t>(port), &o, &c);
    *out = J(c);
    return rc;
}

int NativePort::send(JNIEnv *env, int64_t conn, jbyteArray data, int off, int len) {
    Critical c(env, data);
    if (!c.get()) return IOCPNET_E_NO_MEMORY; // an OutOfMemoryError is pending for Java
    return iocpnet_send(port_, static_cast<iocpnet_conn>(conn), c.get() + off, static_cast<size_t>(len));
}

int NativePort::sendDirect(JNIEnv *env, int64_t conn, jobject directBuffer, int off, int len) {
    char *base = static_cast<char *>(direct_address(env, directBuffer));
    if (!base) return IOCPNET_E_INVALID_ARG;
    return iocpnet_send(port_, static_cast<iocpnet_conn>(conn), base + off, static_cast<size_t>(len));
}

int NativePort::sendMany(JNIEnv *env, jlongArray conns, int count, jbyteArray data, int off, int len,
                         int64_t *out) {
    size_t queued = 0;
    *out = 0;
    // Two critical regions may nest; jlong and iocpnet_conn have the same size.
    Critical ids(env, conns);
    if (!ids.get()) return IOCPNET_E_NO_MEMORY;
    Critical bytes(env, data);
    if (!bytes.get()) return IOCPNET_E_NO_MEMORY;
    int rc = iocpnet_send_many(port_, reinterpret_cast<const iocpnet_conn *>(ids.get()), static_cast<size_t>(count),
                               bytes.get() + off, static_cast<size_t>(len), &queued);
    *out = static_cast<int64_t>(queued);
    return rc;
}

int NativePort::close(int64_t conn, int mode) { return iocpnet_close(port_, static_cast<iocpnet_conn>(conn), mode); }

int NativePort::post(int64_t token) {
    PostArg *a = new PostArg{handler_, port_, token};
    int rc = iocpnet_post(port_, cb_post, a);
    if (rc != IOCPNET_OK) delete a;
    return rc;
}

int NativePort::stats(JNIEnv *env, jlongArray out) {
    iocpnet_stats s = {};
    s.struct_size = sizeof s;
    int rc = iocpnet_get_stats(port_, &s);
    if (rc != IOCPNET_OK) return rc;
    jlong v[9] = {static_cast<jlong>(s.backend), static_cast<jlong>(s.connections_open),
                  static_cast<jlong>(s.connections_accepted), static_cast<jlong>(s.connections_connected),
                  static_cast<jlong>(s.connections_closed), static_cast<jlong>(s.bytes_received),
                  static_cast<jlong>(s.bytes_sent), static_cast<jlong>(s.send_queue_bytes),
                  static_cast<jlong>(s.tls_handshakes_failed)};
    env->SetLongArrayRegion(out, 0, 9, v);
    return rc;
}

// Is the connection open? set_user answers exactly that (get_user also
// answers for a closing one until its on_close returns); the binding keeps
// attachments in Java, so the engine's user pointer is free to overwrite.
int NativePort::check(int64_t conn) {
    return iocpnet_conn_set_user(port_, static_cast<iocpnet_conn>(conn), nullptr);
}

std::string NativePort::address(int64_t conn, bool peer, int *out) {
    char buf[IOCPNET_ADDRSTRLEN] = {0};
    auto fn = peer ? iocpnet_conn_peer_address : iocpnet_conn_local_address;
    *out = fn(port_, static_cast<iocpnet_conn>(conn), buf, sizeof buf);
    return *out == IOCPNET_OK ? std::string(buf) : std::string();
}

int NativePort::pauseRecv(int64_t conn) { return iocpnet_pause_recv(port_, static_cast<iocpnet_conn>(conn)); }
int NativePort::resumeRecv(int64_t conn) { return iocpnet_resume_recv(port_, static_cast<iocpnet_conn>(conn)); }
int NativePort::shutdownWrite(int64_t conn) { return iocpnet_shutdown_write(port_, static_cast<iocpnet_conn>(conn)); }

int NativePort::queuedBytes(int64_t conn, int64_t *out) {
    uint64_t n = 0;
    int rc = iocpnet_conn_queued_bytes(port_, static_cast<iocpnet_conn>(conn), &n);
    *out = static_cast<int64_t>(n);
    return rc;
}

int NativePort::sendv(JNIEnv *env, int64_t conn, jobjectArray parts, jintArray offs, jintArray lens) {
    jsize n = env->GetArrayLength(parts);
    std::vector<jint> off(static_cast<size_t>(n)), len(static_cast<size_t>(n));
    env->GetIntArrayRegion(offs, 0, n, off.data());
    env->GetIntArrayRegion(lens, 0, n, len.data());
    if (env->PushLocalFrame(n + 4) != 0) return IOCPNET_E_NO_MEMORY; // an OutOfMemoryError is pending
    // Every JNI call first: none may happen inside the critical regions below.
    std::vector<jobject> obj(static_cast<size_t>(n));
    std::vector<iocpnet_buf> bufs(static_cast<size_t>(n));
    for (jsize i = 0; i < n; i++) {
        obj[i] = env->GetObjectArrayElement(parts, i);
        bufs[i].data = env->GetDirectBufferAddress(obj[i]); // NULL for a byte[]
        bufs[i].len = static_cast<size_t>(len[i]);
    }
    int rc;
    {
        std::deque<Critical> pinned; // nested critical regions, released in reverse order
        rc = IOCPNET_OK;
        for (jsize i = 0; i < n; i++) {
            if (bufs[i].data) {
                bufs[i].data = static_cast<const char *>(bufs[i].data) + off[i];
                continue;
            }
            pinned.emplace_back(env, static_cast<jarray>(obj[i]));
            if (!pinned.back().get()) { rc = IOCPNET_E_NO_MEMORY; break; }
            bufs[i].data = pinned.back().get() + off[i];
        }
        if (rc == IOCPNET_OK)
            rc = iocpnet_sendv(port_, static_cast<iocpnet_conn>(conn), bufs.data(), bufs.size());
        while (!pinned.empty()) pinned.pop_back();
    }
    env->PopLocalFrame(nullptr);
    return rc;
}

int NativePort::sendOwned(JNIEnv *env, int64_t conn, jobject directBuffer, int off, int len, int64_t token) {
    char *base = static_cast<char *>(env->GetDirectBufferAddress(directBuffer));
    if (!base) return IOCPNET_E_INVALID_ARG;
    OwnedArg *a = new OwnedArg{handler_, token};
    int rc = iocpnet_send_owned(port_, static_cast<iocpnet_conn>(conn), base + off, static_cast<size_t>(len),
                                cb_owned_free, a);
    if (rc != IOCPNET_OK) delete a; // refused: the engine will not call back
    return rc;
}

int NativePort::timerStart(int64_t delayMs, int64_t repeatMs, int64_t token, int64_t *out) {
    *out = 0;
    if (delayMs < 0 || repeatMs < 0) return IOCPNET_E_INVALID_ARG;
    iocpnet_timer t = 0;
    // Held across the start: a run on another worker waits here for its entry.
    std::lock_guard<std::mutex> lk(timers_mu_);
    int rc = iocpnet_timer_start(port_, static_cast<uint64_t>(delayMs), static_cast<uint64_t>(repeatMs), cb_timer,
                                 this, &t);
    if (rc != IOCPNET_OK) return rc;
    timers_[t] = std::make_pair(token, repeatMs != 0);
    *out = J(t);
    return rc;
}

bool NativePort::timerToken(uint64_t timer, int64_t *token) {
    std::lock_guard<std::mutex> lk(timers_mu_);
    auto it = timers_.find(timer);
    if (it == timers_.end()) return false;
    *token = it->second.first;
    if (!it->second.second) timers_.erase(it); // a one-shot runs once
    return true;
}

int NativePort::timerStop(int64_t timer) {
    int rc = iocpnet_timer_stop(port_, static_cast<iocpnet_timer>(timer));
    std::lock_guard<std::mutex> lk(timers_mu_);
    timers_.erase(static_cast<uint64_t>(timer));
    return rc;
}

int NativePort::connPost(int64_t conn, int64_t token) {
    ConnPostArg *a = new ConnPostArg{handler_, token};
    int rc = iocpnet_conn_post(port_, static_cast<iocpnet_conn>(conn), cb_conn_post, a);
    if (rc != IOCPNET_OK) delete a;
    return rc;
}

int setLog(int level, NativeLogger *logger) {
    int rc = logger ? iocpnet_set_log(static_cast<uint32_t>(level), cb_log, logger)
                    : iocpnet_set_log(static_cast<uint32_t>(level), nullptr, nullptr);
    if (rc == IOCPNET_OK) g_logger.store(logger);
    return rc;
}

int version() { return static_cast<int>(iocpnet_version()); }
const char *errName(int code) { return iocpnet_err_name(code); }
const char *strError(int code) { return iocpnet_strerror(code); }
const char *lastErrorMessage() { return iocpnet_last_error_message(); }

} // namespace iocpnet_java

extern "C" JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *) {
    iocpnet_java::g_vm = vm;
    JNIEnv *env = nullptr;
    if (vm->GetEnv(reinterpret_cast<void **>(&env), JNI_VERSION_1_8) == JNI_OK) iocpnet_java::init_recv_view(vm, env);
    return JNI_VERSION_1_8;
}
