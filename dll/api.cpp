// The C ABI shim: argument checks, error codes and the exception barrier.
// Every exported function catches everything; nothing is thrown across.
#include <cstddef>
#include <cstring>
#include <new>
#include <string>

#include "errors.hpp"
#include "port.hpp"
#include "tls/tls.hpp"

using namespace iocpnet;

namespace {

Port *as_port(iocpnet_port *p) { return static_cast<Port *>(p); }

constexpr uint32_t kConfigV1Size = 24; // the config as first released: up to max_send_queue_bytes
constexpr uint32_t kOptionsMinSize = 8;

#define CHECK_PORT(p)                                                                              \
    if (!(p)) return fail(IOCPNET_E_INVALID_ARG, "port is NULL")

// Resolves per-connection options against the port's config.
int resolve_opts(Port *p, const iocpnet_conn_options *in, ConnOpts *out) {
    *out = p->defaults;
    if (!in) return IOCPNET_OK;
    iocpnet_conn_options o;
    iocpnet_conn_options_init(&o);
    if (in->struct_size < kOptionsMinSize)
        return fail(IOCPNET_E_INVALID_ARG, "iocpnet_conn_options.struct_size %u is too small", in->struct_size);
    memcpy(&o, in, in->struct_size < sizeof o ? in->struct_size : sizeof o);
    if (o.framing > IOCPNET_FRAMING_WEBSOCKET) return fail(IOCPNET_E_INVALID_ARG, "unknown framing %u", o.framing);
    out->framing = uint8_t(o.framing);
    out->max_message = o.max_message_size ? o.max_message_size : 1u << 20;
    if (o.idle_timeout_ms != IOCPNET_INHERIT) out->idle_ms = o.idle_timeout_ms;
    if (o.connect_timeout_ms != IOCPNET_INHERIT) out->connect_ms = o.connect_timeout_ms;
    if (o.tcp_nodelay != IOCPNET_INHERIT) out->nodelay = o.tcp_nodelay != 0;
    if (o.keepalive_s != IOCPNET_INHERIT) out->keepalive_s = o.keepalive_s;
    if (o.half_open > 1) return fail(IOCPNET_E_INVALID_ARG, "half_open must be 0 or 1, not %u", o.half_open);
    out->half_open = o.half_open != 0;
    if (o.ws_host) out->ws_host = o.ws_host;
    if (o.ws_path) out->ws_path = o.ws_path;
    if (!out->ws_path.empty() && out->ws_path[0] != '/') return fail(IOCPNET_E_INVALID_ARG, "ws_path must start with '/'");
    for (const std::string *s : {&out->ws_host, &out->ws_path})
        for (char ch : *s)
            if ((unsigned char)ch <= ' ') return fail(IOCPNET_E_INVALID_ARG, "ws_host / ws_path with a space or control byte");
    out->tls = static_cast<TlsConfig *>(o.tls);
    out->server_name = o.server_name;
    return IOCPNET_OK;
}

} // namespace

extern "C" {

uint32_t iocpnet_version(void) {
    return (IOCPNET_VERSION_MAJOR << 16) | (IOCPNET_VERSION_MINOR << 8) | IOCPNET_VERSION_PATCH;
}

const char *iocpnet_strerror(int err) {
    switch (err) {
    case IOCPNET_OK: return "success";
#define XX(name, value, msg) case IOCPNET_E_##name: return msg;
        IOCPNET_ERRNO_MAP(XX)
#undef XX
    default: return "unknown error";
    }
}

const char *iocpnet_err_name(int err) {
    switch (err) {
    case IOCPNET_OK: return "IOCPNET_OK";
#define XX(name, value, msg) case IOCPNET_E_##name: return "IOCPNET_E_" #name;
        IOCPNET_ERRNO_MAP(XX)
#undef XX
    default: return "IOCPNET_E_UNKNOWN";
    }
}

const char *iocpnet_last_error_message(void) { return last_error(); }

void iocpnet_config_init(iocpnet_config *cfg) {
    if (!cfg) return;
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    cfg->tcp_nodelay = 1;
}

void iocpnet_conn_options_init(iocpnet_conn_options *opt) {
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->struct_size = sizeof *opt;
    opt->framing = IOCPNET_FRAMING_RAW;
    opt->idle_timeout_ms = opt->connect_timeout_ms = IOCPNET_INHERIT;
    opt->tcp_nodelay = opt->keepalive_s = IOCPNET_INHERIT;
}

int iocpnet_port_create(const iocpnet_config *cfg, const iocpnet_callbacks *cbs, void *user, iocpnet_port **out) {
    return guarded([&]() -> int {
        if (!out) return fail(IOCPNET_E_INVALID_ARG, "out is NULL");
        *out = nullptr;
        iocpnet_config c;
        iocpnet_config_init(&c);
        if (cfg) {
            if (cfg->struct_size < kConfigV1Size)
                return fail(IOCPNET_E_INVALID_ARG, "iocpnet_config.struct_size %u is too small", cfg->struct_size);
            memcpy(&c, cfg, cfg->struct_size < sizeof c ? cfg->struct_size : sizeof c);
        }
        if (c.backend > IOCPNET_BACKEND_EPOLL) return fail(IOCPNET_E_INVALID_ARG, "unknown backend %u", c.backend);
        if (cbs && cbs->struct_size < 8)
            return fail(IOCPNET_E_INVALID_ARG, "iocpnet_callbacks.struct_size %u is too small", cbs->struct_size);
        Port *p = new Port;
        int rc = p->init(c, cbs, user);
        if (rc != IOCPNET_OK) {
            delete p;
            return rc;
        }
        *out = p;
        return IOCPNET_OK;
    });
}

int iocpnet_port_destroy(iocpnet_port *port) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        int rc = as_port(port)->destroy();
        if (rc == IOCPNET_OK) delete as_port(port);
        return rc;
    });
}

int iocpnet_set_callbacks(iocpnet_port *port, const iocpnet_callbacks *cbs, void *user) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (cbs && cbs->struct_size < 8)
            return fail(IOCPNET_E_INVALID_ARG, "iocpnet_callbacks.struct_size %u is too small", cbs->struct_size);
        as_port(port)->set_callbacks(cbs, user);
        return IOCPNET_OK;
    });
}

int iocpnet_post(iocpnet_port *port, void(IOCPNET_CALL *fn)(void *), void *arg) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!fn) return fail(IOCPNET_E_INVALID_ARG, "fn is NULL");
        return as_port(port)->post(fn, arg);
    });
}

int iocpnet_get_stats(iocpnet_port *port, iocpnet_stats *out) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!out || out->struct_size < 8) return fail(IOCPNET_E_INVALID_ARG, "out is NULL or its struct_size below 8");
        iocpnet_stats s;
        memset(&s, 0, sizeof s);
        s.struct_size = sizeof s;
        as_port(port)->stats(&s);
        uint32_t n = out->struct_size < sizeof s ? out->struct_size : uint32_t(sizeof s);
        memcpy(reinterpret_cast<char *>(out) + 4, reinterpret_cast<char *>(&s) + 4, n - 4); // keep the caller's size
        return IOCPNET_OK;
    });
}

int iocpnet_listen(iocpnet_port *port, const char *host, uint16_t tcp_port, iocpnet_listener *out) {
    return iocpnet_listen_ex(port, host, tcp_port, nullptr, out);
}

int iocpnet_listen_ex(iocpnet_port *port, const char *host, uint16_t tcp_port, const iocpnet_conn_options *opt,
                      iocpnet_listener *out) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!out) return fail(IOCPNET_E_INVALID_ARG, "out is NULL");
        ConnOpts o;
        int rc = resolve_opts(as_port(port), opt, &o);
        if (rc != IOCPNET_OK) return rc;
        if (o.tls && o.tls->client) return fail(IOCPNET_E_INVALID_ARG, "a listener needs a TLS server configuration");
        return as_port(port)->listen(host, tcp_port, o, out);
    });
}

int iocpnet_listener_port(iocpnet_port *port, iocpnet_listener listener, uint16_t *out) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!out) return fail(IOCPNET_E_INVALID_ARG, "out is NULL");
        return as_port(port)->listener_port(listener, out);
    });
}

int iocpnet_unlisten(iocpnet_port *port, iocpnet_listener listener) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        return as_port(port)->unlisten(listener);
    });
}

int iocpnet_connect(iocpnet_port *port, const char *host, uint16_t tcp_port, iocpnet_conn *out) {
    return iocpnet_connect_ex(port, host, tcp_port, nullptr, out);
}

int iocpnet_connect_ex(iocpnet_port *port, const char *host, uint16_t tcp_port, const iocpnet_conn_options *opt,
                       iocpnet_conn *out) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!out || !host || !*host) return fail(IOCPNET_E_INVALID_ARG, "out or host is NULL");
        if (tcp_port == 0) return fail(IOCPNET_E_ADDR_INVALID, "cannot connect to port 0");
        ConnOpts o;
        int rc = resolve_opts(as_port(port), opt, &o);
        if (rc != IOCPNET_OK) return rc;
        if (o.framing == IOCPNET_FRAMING_WEBSOCKET && o.ws_host.empty())
            o.ws_host = (strchr(host, ':') ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(tcp_port);
        if (o.tls && !o.tls->client) return fail(IOCPNET_E_INVALID_ARG, "a connection needs a TLS client configuration");
        return as_port(port)->connect(host, tcp_port, o, out);
    });
}

int iocpnet_send(iocpnet_port *port, iocpnet_conn conn, const void *data, size_t len) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!data && len) return fail(IOCPNET_E_INVALID_ARG, "data is NULL");
        return as_port(port)->send(conn, data, len);
    });
}

static_assert(sizeof(iocpnet_buf) == sizeof(IoVec) && offsetof(iocpnet_buf, len) == offsetof(IoVec, len),
              "iocpnet_buf and IoVec share a layout");

int iocpnet_sendv(iocpnet_port *port, iocpnet_conn conn, const iocpnet_buf *bufs, size_t count) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!bufs && count) return fail(IOCPNET_E_INVALID_ARG, "bufs is NULL");
        for (size_t i = 0; i < count; i++)
            if (!bufs[i].data && bufs[i].len) return fail(IOCPNET_E_INVALID_ARG, "bufs[%zu].data is NULL", i);
        return as_port(port)->sendv(conn, reinterpret_cast<const IoVec *>(bufs), count);
    });
}

int iocpnet_send_owned(iocpnet_port *port, iocpnet_conn conn, const void *data, size_t len, iocpnet_free_fn free_fn,
                       void *free_arg) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!data && len) return fail(IOCPNET_E_INVALID_ARG, "data is NULL");
        return as_port(port)->send_owned(conn, data, len, free_fn, free_arg);
    });
}

int iocpnet_shutdown_write(iocpnet_port *port, iocpnet_conn conn) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        return as_port(port)->shutdown_write(conn);
    });
}

int iocpnet_pause_recv(iocpnet_port *port, iocpnet_conn conn) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        return as_port(port)->pause_recv(conn, true);
    });
}

int iocpnet_resume_recv(iocpnet_port *port, iocpnet_conn conn) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        return as_port(port)->pause_recv(conn, false);
    });
}

int iocpnet_conn_queued_bytes(iocpnet_port *port, iocpnet_conn conn, uint64_t *out) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!out) return fail(IOCPNET_E_INVALID_ARG, "out is NULL");
        return as_port(port)->queued_bytes(conn, out);
    });
}

int iocpnet_conn_post(iocpnet_port *port, iocpnet_conn conn, iocpnet_conn_fn fn, void *arg) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!fn) return fail(IOCPNET_E_INVALID_ARG, "fn is NULL");
        return as_port(port)->conn_post(conn, fn, arg);
    });
}

int iocpnet_timer_start(iocpnet_port *port, uint64_t delay_ms, uint64_t repeat_ms, iocpnet_timer_fn fn, void *arg,
                        iocpnet_timer *out) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!fn || !out) return fail(IOCPNET_E_INVALID_ARG, "fn or out is NULL");
        return as_port(port)->timer_start(delay_ms, repeat_ms, fn, arg, out);
    });
}

int iocpnet_timer_stop(iocpnet_port *port, iocpnet_timer timer) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        return as_port(port)->timer_stop(timer);
    });
}

int iocpnet_send_many(iocpnet_port *port, const iocpnet_conn *conns, size_t count, const void *data, size_t len,
                      size_t *queued) {
    return iocpnet_send_many_ex(port, conns, count, data, len, nullptr, queued);
}

int iocpnet_send_many_ex(iocpnet_port *port, const iocpnet_conn *conns, size_t count, const void *data, size_t len,
                         int *results, size_t *queued) {
    return guarded([&]() -> int {
        if (queued) *queued = 0;
        CHECK_PORT(port);
        if (!conns && count) return fail(IOCPNET_E_INVALID_ARG, "conns is NULL");
        if (!data && len) return fail(IOCPNET_E_INVALID_ARG, "data is NULL");
        return as_port(port)->send_many(conns, count, data, len, results, queued);
    });
}

int iocpnet_close(iocpnet_port *port, iocpnet_conn conn, int mode) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (mode != IOCPNET_CLOSE_GRACEFUL && mode != IOCPNET_CLOSE_ABORT)
            return fail(IOCPNET_E_INVALID_ARG, "unknown close mode %d", mode);
        return as_port(port)->close(conn, mode);
    });
}

int iocpnet_conn_set_user(iocpnet_port *port, iocpnet_conn conn, void *user) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        return as_port(port)->set_user(conn, user);
    });
}

int iocpnet_conn_get_user(iocpnet_port *port, iocpnet_conn conn, void **out) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!out) return fail(IOCPNET_E_INVALID_ARG, "out is NULL");
        return as_port(port)->get_user(conn, out);
    });
}

static int address_of(iocpnet_port *port, iocpnet_conn conn, char *buf, size_t buflen, bool peer) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!buf || !buflen) return fail(IOCPNET_E_INVALID_ARG, "buf is NULL or empty");
        buf[0] = 0;
        return as_port(port)->address(conn, peer, buf, buflen);
    });
}

int iocpnet_conn_peer_address(iocpnet_port *port, iocpnet_conn conn, char *buf, size_t buflen) {
    return address_of(port, conn, buf, buflen, true);
}

int iocpnet_conn_local_address(iocpnet_port *port, iocpnet_conn conn, char *buf, size_t buflen) {
    return address_of(port, conn, buf, buflen, false);
}

int iocpnet_ws_set_send_type(iocpnet_port *port, iocpnet_conn conn, uint32_t type) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (type != IOCPNET_WS_TEXT && type != IOCPNET_WS_BINARY) return fail(IOCPNET_E_INVALID_ARG, "unknown type %u", type);
        return as_port(port)->ws_set_send_type(conn, type);
    });
}

int iocpnet_ws_message_type(iocpnet_port *port, iocpnet_conn conn, uint32_t *out) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!out) return fail(IOCPNET_E_INVALID_ARG, "out is NULL");
        return as_port(port)->ws_message_type(conn, out);
    });
}

int iocpnet_ws_request_path(iocpnet_port *port, iocpnet_conn conn, char *buf, size_t buflen) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!buf || !buflen) return fail(IOCPNET_E_INVALID_ARG, "buf is NULL or empty");
        buf[0] = 0;
        return as_port(port)->ws_request(conn, nullptr, buf, buflen);
    });
}

int iocpnet_ws_request_header(iocpnet_port *port, iocpnet_conn conn, const char *name, char *buf, size_t buflen) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!buf || !buflen || !name) return fail(IOCPNET_E_INVALID_ARG, "buf or name is NULL, or buflen 0");
        buf[0] = 0;
        return as_port(port)->ws_request(conn, name, buf, buflen);
    });
}

int iocpnet_ws_add_page(iocpnet_port *port, iocpnet_listener listener, const char *path, const char *content_type,
                        const void *body, size_t len) {
    return guarded([&]() -> int {
        CHECK_PORT(port);
        if (!path || path[0] != '/' || !content_type) return fail(IOCPNET_E_INVALID_ARG, "path must start with '/'; content_type not NULL");
        if (!body && len) return fail(IOCPNET_E_INVALID_ARG, "body is NULL");
        return as_port(port)->ws_add_page(listener, path, content_type, body, len);
    });
}

int iocpnet_set_log(uint32_t level, iocpnet_log_fn fn, void *user) {
    return guarded([&]() -> int { return set_log(level, fn, user); });
}

} // extern "C"
