// TLS configurations, TLS session facts and the WebSocket calls for Java
// (see glue.hpp). Strings cross as UTF-8 byte arrays in both directions.
#include "glue.hpp"

#include <vector>

namespace iocpnet_java {
namespace {

iocpnet_tls *tls_of(int64_t handle) { return reinterpret_cast<iocpnet_tls *>(static_cast<intptr_t>(handle)); }

jbyteArray to_java(JNIEnv *env, const char *s) {
    jsize n = static_cast<jsize>(std::char_traits<char>::length(s));
    jbyteArray a = env->NewByteArray(n); // NULL with an OutOfMemoryError pending
    if (a && n) env->SetByteArrayRegion(a, 0, n, reinterpret_cast<const jbyte *>(s));
    return a;
}

// Calls fn(buf, len) with a growing buffer until the string fits (LIMIT = too small).
template <class Fn> jbyteArray read_string(JNIEnv *env, int *rc, Fn fn) {
    std::vector<char> buf(256);
    *rc = fn(buf.data(), buf.size());
    while (*rc == IOCPNET_E_LIMIT && buf.size() < (1u << 20)) {
        buf.assign(buf.size() * 16, 0);
        *rc = fn(buf.data(), buf.size());
    }
    if (*rc != IOCPNET_OK) return nullptr;
    jbyteArray a = to_java(env, buf.data());
    if (!a) *rc = IOCPNET_E_NO_MEMORY;
    return a;
}

} // namespace

int tlsCreate(JNIEnv *env, int role, jbyteArray certPem, jbyteArray keyPem, jbyteArray certFile, jbyteArray keyFile,
              jbyteArray caPem, jbyteArray caFile, int verifyPeer, jbyteArray alpn, int64_t *out) {
    *out = 0;
    Utf8 cp(env, certPem), kp(env, keyPem), cf(env, certFile), kf(env, keyFile), ca(env, caPem), caf(env, caFile),
        al(env, alpn);
    iocpnet_tls_options o;
    iocpnet_tls_options_init(&o);
    o.role = static_cast<uint32_t>(role);
    o.cert_pem = cp.c_str();
    o.key_pem = kp.c_str();
    o.cert_file = cf.c_str();
    o.key_file = kf.c_str();
    o.ca_pem = ca.c_str();
    o.ca_file = caf.c_str();
    o.verify_peer = static_cast<uint32_t>(verifyPeer);
    o.alpn = al.c_str();
    iocpnet_tls *tls = nullptr;
    int rc = iocpnet_tls_create(&o, &tls); // copies every string
    if (rc == IOCPNET_OK) *out = static_cast<int64_t>(reinterpret_cast<intptr_t>(tls));
    return rc;
}

int tlsRelease(int64_t tls) { return iocpnet_tls_release(tls_of(tls)); }

jbyteArray NativePort::tlsInfo(JNIEnv *env, int64_t conn, int what, int *rc) {
    return read_string(env, rc, [&](char *buf, size_t len) {
        return iocpnet_conn_tls_info(port_, static_cast<iocpnet_conn>(conn), static_cast<uint32_t>(what), buf, len);
    });
}

int NativePort::wsSetSendType(int64_t conn, int type) {
    return iocpnet_ws_set_send_type(port_, static_cast<iocpnet_conn>(conn), static_cast<uint32_t>(type));
}

int NativePort::wsMessageType(int64_t conn, int *out) {
    uint32_t t = 0;
    int rc = iocpnet_ws_message_type(port_, static_cast<iocpnet_conn>(conn), &t);
    *out = static_cast<int>(t);
    return rc;
}

jbyteArray NativePort::wsRequestPath(JNIEnv *env, int64_t conn, int *rc) {
    return read_string(env, rc, [&](char *buf, size_t len) {
        return iocpnet_ws_request_path(port_, static_cast<iocpnet_conn>(conn), buf, len);
    });
}

jbyteArray NativePort::wsRequestHeader(JNIEnv *env, int64_t conn, jbyteArray name, int *rc) {
    Utf8 n(env, name);
    return read_string(env, rc, [&](char *buf, size_t len) {
        return iocpnet_ws_request_header(port_, static_cast<iocpnet_conn>(conn), n.c_str(), buf, len);
    });
}

int NativePort::wsAddPage(JNIEnv *env, int64_t listener, jbyteArray path, jbyteArray contentType, jbyteArray body) {
    Utf8 p(env, path), t(env, contentType);
    std::vector<jbyte> b(body ? static_cast<size_t>(env->GetArrayLength(body)) : 0);
    if (!b.empty()) env->GetByteArrayRegion(body, 0, static_cast<jsize>(b.size()), b.data());
    return iocpnet_ws_add_page(port_, static_cast<iocpnet_listener>(listener), p.c_str(), t.c_str(),
                               b.empty() ? nullptr : b.data(), b.size()); // copied by the engine
}

} // namespace iocpnet_java
