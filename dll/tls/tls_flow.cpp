// The TLS handshake in a connection's life (see connection.hpp for the
// states). A handshake runs while the connection is still `accepted`
// (server: invisible, no callback yet) or `connecting` (client: visible,
// sends are kept by the session until it is done), with `hs` set so that it
// reads and sends before it is open. Its outcome:
//
//   done            -> open; on_accept / on_connect(OK); then the bytes that
//                      came with the last flight go up the pipeline
//   failed (server) -> closed without any callback: the alert is flushed,
//                      counted in stats.tls_failed, logged
//   failed (client) -> on_connect(IOCPNET_E_TLS) (the notify_close task, as
//                      for any failed connect)
//   deadline        -> server: dropped as a failure; client: the connecting
//                      timeout (on_connect(IOCPNET_E_TIMEOUT))
//   closed meanwhile (close, destroy, timer: close_locked)
//                   -> server: nothing; client: on_connect(reason), queued
//                      when the receive that the close cancelled completes
//
// A receive is armed during the whole handshake; when arming fails the
// connection was closed meanwhile and tls_abandon finishes it at once.
#include <string>

#include "../errors.hpp"
#include "../port.hpp"
#include "tls.hpp"

namespace iocpnet {

static constexpr int64_t kHandshakeDefaultMs = 10000; // when connect_timeout_ms is 0

bool Port::tls_start(Conn *c, bool client) {
    Worker &wk = owner();
    {
        std::lock_guard<std::mutex> lk(c->mu);
        if (c->life.load(std::memory_order_acquire) != (client ? Life::connecting : Life::accepted)) return false;
        c->hs = true;
        c->deadline = wk.now + (c->opts.connect_ms ? int64_t(c->opts.connect_ms) : kHandshakeDefaultMs);
        if (client) net_sock_addr(c->sock->fd, false, &c->local);
    }
    arm_timer(c, c->deadline);
    if (client) { // the client speaks first
        if (c->tls()->handshake(nullptr, 0) == TlsSession::kFailed) {
            tls_client_failed(c, IOCPNET_E_TLS);
            drive(c);
            return true;
        }
        std::lock_guard<std::mutex> lk(c->mu);
        c->tls()->take_output(c->q);
    }
    if (!arm_recv(c)) tls_abandon(c);
    drive(c);
    return true;
}

void Port::tls_recv(Conn *c, const Completion &cp) {
    Worker &wk = owner();
    bool client = c->tls()->client();
    bool live = c->life.load(std::memory_order_acquire) == (client ? Life::connecting : Life::accepted);
    TlsSession::Step st = TlsSession::kMore;
    if (cp.res > 0) {
        WorkerStats::add(wk.stats.rx, uint64_t(cp.res));
        c->last_rx_ms = wk.now;
        if (live) st = c->tls()->handshake(cp.data, size_t(cp.res));
        be->recv_done(cp);
    } else if (live) {
        c->tls()->set_error(cp.res == 0 ? "the peer closed the connection during the handshake"
                                      : iocpnet_strerror(cp.res));
        st = TlsSession::kFailed;
    }
    if (!live) tls_abandon(c);
    else if (st == TlsSession::kFailed && client) tls_client_failed(c, IOCPNET_E_TLS);
    else if (st == TlsSession::kFailed) tls_server_failed(c, cp.res > 0);
    else if (st == TlsSession::kDone) tls_established(c);
    else {
        std::lock_guard<std::mutex> lk(c->mu);
        c->tls()->take_output(c->q); // our next flight
    }

    // The receive operation, as on_recv does it.
    if (!cp.done) {
        drive(c);
        return;
    }
    {
        std::lock_guard<std::mutex> lk(c->mu);
        c->ops &= uint8_t(~kOpRecv);
    }
    if (cp.res > 0 && !arm_recv(c) && c->hs) tls_abandon(c);
    drive(c);
    unref(c);
}

// The handshake is done: the connection opens and the user hears of it.
void Port::tls_established(Conn *c) {
    Worker &wk = owner();
    bool client = c->tls()->client();
    uint64_t id, lid;
    {
        std::lock_guard<std::mutex> lk(c->mu);
        if (c->life.load(std::memory_order_acquire) != (client ? Life::connecting : Life::accepted)) {
            // closed by another thread a moment ago: finish as a close
        } else {
            c->life.store(Life::open, std::memory_order_release); // visible from here
            c->hs = false;
            c->deadline = 0;
            c->tls()->take_output(c->q); // the last flight, and what the user sent meanwhile
        }
        id = c->id.load(std::memory_order_relaxed);
        lid = c->listener;
    }
    if (c->hs) {
        tls_abandon(c);
        return;
    }
    if (client) WorkerStats::add(wk.stats.connected, 1);
    c->last_rx_ms = wk.now;
    if (c->opts.idle_ms) arm_timer(c, wk.now + c->opts.idle_ms);
    ws_arm_upgrade(c); // wss: the upgrade over TLS has a deadline of its own
    const CallbackSet &cs = callbacks();
    if (!c->pipe.announced()) {
        // WebSocket over TLS (wss): the user hears of it after the upgrade,
        // which runs over the session from here (ws_conn.cpp).
    } else if (client) {
        if (cs.cb.on_connect) cs.cb.on_connect(cs.user, this, id, IOCPNET_OK);
    } else if (cs.cb.on_accept) {
        cs.cb.on_accept(cs.user, this, lid, id);
    }
    // Application data that came in the same segments as the handshake's end.
    if (c->life.load(std::memory_order_acquire) == Life::open) {
        int rc = feed(c, nullptr, 0);
        if (rc != IOCPNET_OK) framing_error(c, id, rc);
    }
}

// The connection was closed during the handshake by close_locked (close,
// destroy, a deadline): a server's ends silently, a client's gets the
// on_connect that its connect is owed.
void Port::tls_abandon(Conn *c) {
    c->hs = false;
    if (c->tls()->client()) tls_client_failed(c, IOCPNET_E_SHUTTING_DOWN); // keeps the close's reason
}

// The client's connect fails after all: on_connect(status), or the reason
// of a close that came first, from the notify_close task like any failed
// connect. Nothing is flushed: the server learns it from the TCP close.
void Port::tls_client_failed(Conn *c, int status) {
    uint64_t id;
    {
        std::lock_guard<std::mutex> lk(c->mu);
        c->hs = false;
        Life l = c->life.load(std::memory_order_acquire);
        if (l == Life::connecting) {
            c->life.store(Life::connect_failing, std::memory_order_release);
            c->reason = status;
            c->wire = Wire::cutting;
        } else if (l != Life::connect_failing) {
            return; // on_connect is on its way already
        }
        c->deadline = 0;
        drop_queue(c); // never to be sent
        queue_task(c, Task::notify_close);
        id = c->id.load(std::memory_order_relaxed);
    }
    if (log_enabled(IOCPNET_LOG_DEBUG))
        log(IOCPNET_LOG_DEBUG, "connection %llu: TLS handshake failed: %s", (unsigned long long)id,
            c->tls()->info(IOCPNET_TLS_INFO_ERROR).c_str());
}

void Port::tls_server_failed(Conn *c, bool graceful) {
    {
        std::lock_guard<std::mutex> lk(c->mu);
        c->hs = false;
        if (c->life.load(std::memory_order_acquire) != Life::accepted) return; // destroy got there first
        c->life.store(Life::closed, std::memory_order_release); // the user never heard of it
        // The alert that tells the client why, then the TCP close.
        c->wire = graceful && c->tls()->take_output(c->q) ? Wire::flushing : Wire::cutting;
        c->deadline = 0;
    }
    WorkerStats::add(owner().stats.tls_failed, 1);
    if (log_enabled(IOCPNET_LOG_WARN)) {
        char peer[IOCPNET_ADDRSTRLEN] = "?";
        net_format(c->peer, peer, sizeof peer);
        log(IOCPNET_LOG_WARN, "TLS handshake from %s failed: %s", peer, c->tls()->info(IOCPNET_TLS_INFO_ERROR).c_str());
    }
}

int Port::tls_info(uint64_t id, uint32_t what, char *buf, size_t len) {
    std::string s;
    {
        Conn *c = conns.slot_of(id);
        if (!c) return fail(IOCPNET_E_NOT_FOUND, "no open connection %llu", (unsigned long long)id);
        std::lock_guard<std::mutex> lk(c->mu);
        if (c->id.load(std::memory_order_relaxed) != id || !c->answers_queries())
            return fail(IOCPNET_E_NOT_FOUND, "no open connection %llu", (unsigned long long)id);
        if (!c->tls()) return fail(IOCPNET_E_UNSUPPORTED, "connection %llu is plain TCP", (unsigned long long)id);
        s = c->tls()->info(what);
    }
    if (s.size() >= len) return fail(IOCPNET_E_LIMIT, "%zu bytes do not fit in %zu", s.size() + 1, len);
    memcpy(buf, s.c_str(), s.size() + 1);
    return IOCPNET_OK;
}

} // namespace iocpnet
