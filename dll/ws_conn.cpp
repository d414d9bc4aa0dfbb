// The connection side of WebSocket framing: what a ws::Session decides
// becomes queue bytes, callbacks and closes here, so that the state machine
// in connection*.cpp keeps only small hooks (announced(), a close frame
// before a graceful close, ws_feed instead of the decoder). The session
// itself (dll/ws/) knows nothing of connections.
#include <cstring>

#include "errors.hpp"
#include "port.hpp"

namespace iocpnet {

namespace {
int not_ws(uint64_t id) {
    return fail(IOCPNET_E_INVALID_ARG, "connection %llu is not a WebSocket connection", (unsigned long long)id);
}
int copy_out(const std::string &s, char *buf, size_t len) {
    if (s.size() + 1 > len) return fail(IOCPNET_E_LIMIT, "%zu bytes do not fit a %zu-byte buffer", s.size() + 1, len);
    memcpy(buf, s.c_str(), s.size() + 1);
    return IOCPNET_OK;
}
} // namespace

bool Port::ws_queue_locked(Conn *c, const uint8_t *p, size_t n) {
    if (!n || c->wire == Wire::cutting || c->wire == Wire::done || c->shut_wr) return true;
    Worker &wk = *workers[c->worker];
    if (!c->pipe.send_raw(p, n, c->q, &wk.blocks)) return false; // the caller aborts: a half-queued frame corrupts the stream
    wk.stats.queued.fetch_add(int64_t(n), std::memory_order_relaxed);
    return true;
}

bool Port::ws_close_frame_locked(Conn *c, int reason) {
    std::string f = c->pipe.ws()->close_frame(reason);
    return ws_queue_locked(c, reinterpret_cast<const uint8_t *>(f.data()), f.size());
}

namespace {
// What a session decides, done on the connection (owner thread, no lock held
// while user code runs).
struct ConnEvents : ws::Events {
    Port *port;
    Conn *c;
    uint64_t id;
    ConnEvents(Port *p, Conn *cc) : port(p), c(cc), id(cc->id.load(std::memory_order_relaxed)) {}
    bool open() const { return c->life.load(std::memory_order_acquire) == Life::open; }
    bool ready() override { return c->takes_data(); }
    bool message(const uint8_t *m, size_t len) override {
        if (!open()) return false; // a callback closed it
        port->deliver(id, m, len);
        return true;
    }
    void output(const uint8_t *b, size_t len) override {
        std::unique_lock<std::mutex> lk(c->mu);
        Life l = c->life.load(std::memory_order_acquire);
        if (l != Life::open && l != Life::closing) return;
        if (!port->ws_queue_locked(c, b, len)) port->close_locked(c, IOCPNET_E_NO_MEMORY, true);
        if (!(c->ops & kOpSend)) port->request_drive(c, lk);
    }
    bool upgraded() override {
        c->pipe.set_announced();
        const CallbackSet &cs = port->callbacks();
        if (c->pipe.ws()->client()) {
            if (cs.cb.on_connect) cs.cb.on_connect(cs.user, port, id, IOCPNET_OK);
        } else if (cs.cb.on_accept) {
            cs.cb.on_accept(cs.user, port, c->listener, id);
        }
        return open();
    }
    void plain_get(const ws::HttpHead &req, std::string *reply) override {
        std::string path = req.target.substr(0, req.target.find('?'));
        std::lock_guard<std::mutex> lk(port->lst_mu);
        auto it = port->ws_pages.find({c->listener, path});
        if (it == port->ws_pages.end()) *reply = ws::reply_plain(404, "Not Found", "text/plain", "not found\n", 10);
        else *reply = ws::reply_plain(200, "OK", it->second.type.c_str(), it->second.body.data(), it->second.body.size());
    }
    void end(int reason) override {
        std::lock_guard<std::mutex> lk(c->mu);
        port->close_locked(c, reason, false);
    }
};
} // namespace

// The bytes handed up here are the engine's own, never the user's: a
// backend's receive buffer (until recv_done) or the TLS layer's plaintext
// buffer. The session unmasks client frames in place in them (no copy of
// the message), hence the const_casts.
int Port::ws_feed(Conn *c, const uint8_t *p, size_t n) {
    ConnEvents ev(this, c);
    if (!c->pipe.layer()) return c->pipe.ws_deliver(const_cast<uint8_t *>(p), n, ev);
    // Under a layer (TLS): its plaintext goes to the session.
    struct Up : Layer::Up {
        Pipeline *pl;
        ws::Events *ev;
        int rc = IOCPNET_OK;
        bool put(const uint8_t *q, size_t m) override {
            rc = pl->ws_deliver(const_cast<uint8_t *>(q), m, *ev);
            return rc == IOCPNET_OK;
        }
    } up;
    up.pl = &c->pipe;
    up.ev = &ev;
    int rc = c->pipe.layer()->recv(p, n, up);
    return rc != IOCPNET_OK ? rc : up.rc;
}

int Port::ws_resume(Conn *c) {
    ConnEvents ev(this, c);
    return c->pipe.ws_resume(ev);
}

bool Port::ws_unannounced_close(Conn *c, uint64_t id, int reason) {
    if (c->pipe.announced()) return false;
    // The user never heard of this connection: a server says nothing; a
    // client's on_connect reports the failed handshake instead of on_close.
    const CallbackSet &cs = callbacks();
    if (c->pipe.ws()->client() && cs.cb.on_connect)
        cs.cb.on_connect(cs.user, this, id, reason == IOCPNET_OK ? IOCPNET_E_SHUTTING_DOWN : reason);
    return true;
}

static constexpr int64_t kUpgradeDefaultMs = 10000; // when connect_timeout_ms is 0, as for a TLS handshake

void Port::ws_arm_upgrade(Conn *c) {
    ws::Session *s = c->pipe.ws();
    if (!s || c->pipe.announced() || c->life.load(std::memory_order_acquire) != Life::open) return;
    s->upgrade_deadline = owner().now + (c->opts.connect_ms ? int64_t(c->opts.connect_ms) : kUpgradeDefaultMs);
    arm_timer(c, s->upgrade_deadline);
}

int64_t Port::ws_upgrade_due_locked(Conn *c, int64_t now, bool *expired) {
    ws::Session *s = c->pipe.ws();
    if (!s || c->pipe.announced() || !s->upgrade_deadline) return 0;
    if (now < s->upgrade_deadline) return s->upgrade_deadline;
    // A peer that sent half a request, or nothing, holds no slot for good: a
    // server drops it without a callback, a client gets on_connect(TIMEOUT)
    // (ws_unannounced_close).
    s->upgrade_deadline = 0;
    *expired = true;
    close_locked(c, IOCPNET_E_TIMEOUT, true);
    return 0;
}

void Port::ws_upgrade_expired(Conn *c) {
    if (!log_enabled(IOCPNET_LOG_WARN)) return;
    char peer[IOCPNET_ADDRSTRLEN] = "?";
    net_format(c->peer, peer, sizeof peer);
    log(IOCPNET_LOG_WARN, "WebSocket handshake %s %s did not finish in time: dropped",
        c->pipe.ws()->client() ? "to" : "from", peer);
}

namespace {
// The WebSocket connection an id names, locked (visible or closing).
struct WsRef {
    WsRef(ConnTable &t, uint64_t id) {
        Conn *cc = t.slot_of(id);
        if (!cc) return;
        lk = std::unique_lock<std::mutex>(cc->mu);
        if (cc->id.load(std::memory_order_relaxed) == id && cc->answers_queries()) c = cc;
        else lk.unlock();
    }
    Conn *c = nullptr;
    std::unique_lock<std::mutex> lk;
};
} // namespace

int Port::ws_set_send_type(uint64_t id, uint32_t type) {
    WsRef r(conns, id);
    if (!r.c || !r.c->visible()) return fail(IOCPNET_E_NOT_FOUND, "no open connection %llu", (unsigned long long)id);
    if (!r.c->pipe.ws()) return not_ws(id);
    r.c->pipe.ws()->send_type.store(uint8_t(type), std::memory_order_relaxed);
    return IOCPNET_OK;
}

int Port::ws_message_type(uint64_t id, uint32_t *out) {
    WsRef r(conns, id);
    if (!r.c) return fail(IOCPNET_E_NOT_FOUND, "no open connection %llu", (unsigned long long)id);
    if (!r.c->pipe.ws()) return not_ws(id);
    *out = r.c->pipe.ws()->rx_type.load(std::memory_order_relaxed);
    return IOCPNET_OK;
}

int Port::ws_request(uint64_t id, const char *header, char *buf, size_t len) {
    WsRef r(conns, id);
    if (!r.c) return fail(IOCPNET_E_NOT_FOUND, "no open connection %llu", (unsigned long long)id);
    ws::Session *s = r.c->pipe.ws();
    if (!s || s->client() || !s->open()) return fail(IOCPNET_E_INVALID_ARG, "not an accepted WebSocket connection");
    if (!header) return copy_out(s->request().target, buf, len);
    const std::string *v = s->request().find(header);
    if (!v) return fail(IOCPNET_E_NOT_FOUND, "the request had no %s header", header);
    return copy_out(*v, buf, len);
}

int Port::ws_add_page(uint64_t listener, const char *path, const char *type, const void *body, size_t len) {
    std::lock_guard<std::mutex> lk(lst_mu);
    auto it = listeners.find(listener);
    if (it == listeners.end()) return fail(IOCPNET_E_NOT_FOUND, "no listener %llu", (unsigned long long)listener);
    if (it->second->opts.framing != IOCPNET_FRAMING_WEBSOCKET)
        return fail(IOCPNET_E_INVALID_ARG, "listener %llu is not a WEBSOCKET listener", (unsigned long long)listener);
    WsPage &pg = ws_pages[{listener, path}];
    pg.type = type;
    pg.body.assign(static_cast<const char *>(body), len);
    return IOCPNET_OK;
}

} // namespace iocpnet
