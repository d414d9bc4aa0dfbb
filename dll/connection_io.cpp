// The owner's events of a connection: its start, the completions of its
// operations, its timers and its close notification. The way from a socket
// to a callback: backend completion -> here -> pipeline -> callback.
#include "errors.hpp"
#include "port.hpp"
#include "tls/tls.hpp"

namespace iocpnet {

namespace {
// A receiver takes messages while it is open and not paused.
struct Ready {
    Conn *c;
    bool operator()() const { return c->takes_data(); }
};
} // namespace

bool Port::arm_recv(Conn *c) {
    {
        std::lock_guard<std::mutex> lk(c->mu);
        Life l = c->life.load(std::memory_order_acquire);
        // A TLS handshake reads before the connection is open (tls/tls_flow.cpp).
        bool reads = c->hs ? l == Life::accepted || l == Life::connecting
                           : l == Life::open && !c->peer_shut && !c->paused.load(std::memory_order_relaxed) &&
                                 c->recv_end == RecvEnd::none;
        if (!reads) return false;
        if (c->ops & kOpRecv) return true;
        c->ops |= kOpRecv;
        c->refs++;
    }
    be->recv(c->sock);
    return true;
}

// One message up to the user (owner, no lock held).
void Port::deliver(uint64_t id, const uint8_t *m, size_t n) {
    const CallbackSet &cs = callbacks();
    if (cs.cb.on_data) cs.cb.on_data(cs.user, this, id, m, n);
}

// Received bytes up the pipeline (a layer, the framing or the WebSocket
// session) to on_data while the receiver is ready; the rest is held. Owner,
// no lock held. IOCPNET_OK or the error that ends the stream.
int Port::feed(Conn *c, const uint8_t *p, size_t n) {
    uint64_t id = c->id.load(std::memory_order_relaxed);
    int rc = c->pipe.ws() ? ws_feed(c, p, n) : c->pipe.recv(p, n, Ready{c}, [&](const uint8_t *m, size_t k) {
        deliver(id, m, k);
        return true;
    });
    if (c->tls()) { // what TLS answers by itself (tickets, key updates, alerts)
        std::lock_guard<std::mutex> lk(c->mu);
        c->tls()->take_output(c->q);
    }
    return rc;
}

// The start task of an accepted connection: on_accept, then reading.
void Port::start(Conn *c) {
    if (c->tls() && tls_start(c, false)) return; // on_accept comes after the handshake
    uint64_t id, lid;
    bool started;
    {
        std::lock_guard<std::mutex> lk(c->mu);
        started = c->life.load(std::memory_order_acquire) == Life::accepted;
        if (started) c->life.store(Life::open, std::memory_order_release); // visible from here: on_accept may close it
        id = c->id.load(std::memory_order_relaxed);
        lid = c->listener;
    }
    if (!started) { // destroy got there first: no callback at all
        drive(c);
        return;
    }
    Worker &wk = owner();
    c->last_rx_ms = wk.now;
    if (c->opts.idle_ms) arm_timer(c, wk.now + c->opts.idle_ms);
    ws_arm_upgrade(c); // WebSocket: the upgrade has a deadline of its own
    const CallbackSet &cs = callbacks();
    if (cs.cb.on_accept && c->pipe.announced()) cs.cb.on_accept(cs.user, this, lid, id); // WebSocket: after the upgrade
    arm_recv(c);
    drive(c);
}

void Port::submit_connect(Conn *c, const Addr &a) {
    {
        std::lock_guard<std::mutex> lk(c->mu);
        if (c->life.load(std::memory_order_acquire) == Life::connecting) {
            c->ops |= kOpConnect;
            c->refs++;
            if (c->opts.connect_ms) c->deadline = owner().now + c->opts.connect_ms;
        }
    }
    if (c->ops & kOpConnect) {
        if (c->deadline) arm_timer(c, c->deadline);
        be->connect(c->sock, a);
        return;
    }
    // Closed before the connect was submitted: it fails like a cancelled connect.
    Completion cp{};
    cp.op = Op::connect;
    cp.done = true;
    cp.res = IOCPNET_E_SHUTTING_DOWN;
    on_connect(c, cp);
}

void Port::on_completion(const Completion &cp) {
    Conn *c = static_cast<Conn *>(cp.ctx);
    switch (cp.op) {
    case Op::recv: on_recv(c, cp); return;
    case Op::send: on_send(c, cp); return;
    case Op::connect:
        {
            std::lock_guard<std::mutex> lk(c->mu);
            c->ops &= uint8_t(~kOpConnect);
        }
        on_connect(c, cp);
        unref(c);
        return;
    case Op::accept: return; // on_accept_completion
    }
}

void Port::on_connect(Conn *c, const Completion &cp) {
    if (cp.res == IOCPNET_OK && c->tls() && tls_start(c, true)) return; // on_connect comes after the handshake
    int status = cp.res;
    uint64_t id;
    {
        std::lock_guard<std::mutex> lk(c->mu);
        Life l = c->life.load(std::memory_order_acquire);
        id = c->id.load(std::memory_order_relaxed);
        if (l == Life::connect_failing) status = c->reason; // closed, timed out or destroyed meanwhile
        if (status == IOCPNET_OK) {
            c->life.store(Life::open, std::memory_order_release);
            c->deadline = 0;
            net_sock_addr(c->sock->fd, false, &c->local);
        } else {
            c->life.store(Life::connect_failing, std::memory_order_release);
            c->reason = status;
            c->wire = Wire::done;
            drop_queue(c); // never to be sent
            // on_connect(error) is the last callback: a task, behind any conn_post already queued
            queue_task(c, Task::notify_close);
        }
    }
    if (status != IOCPNET_OK) return;
    Worker &wk = owner();
    WorkerStats::add(wk.stats.connected, 1);
    c->last_rx_ms = wk.now;
    if (c->opts.idle_ms) arm_timer(c, wk.now + c->opts.idle_ms);
    ws_arm_upgrade(c); // WebSocket: the upgrade has a deadline of its own
    const CallbackSet &cs = callbacks();
    if (cs.cb.on_connect && c->pipe.announced()) cs.cb.on_connect(cs.user, this, id, status); // WebSocket: after the upgrade
    arm_recv(c);
    drive(c);
}

void Port::on_recv(Conn *c, const Completion &cp) {
    if (c->hs) { // a TLS handshake's bytes
        tls_recv(c, cp);
        return;
    }
    Worker &wk = owner();
    uint64_t id = c->id.load(std::memory_order_relaxed);
    if (cp.res > 0) {
        WorkerStats::add(wk.stats.rx, uint64_t(cp.res));
        c->last_rx_ms = wk.now;
        int rc = IOCPNET_OK;
        if (c->life.load(std::memory_order_acquire) == Life::open) // else: a linger discards what arrives
            rc = feed(c, cp.data, size_t(cp.res));
        be->recv_done(cp);
        if (rc != IOCPNET_OK) framing_error(c, id, rc);
        if (!cp.done) {
            if (rc != IOCPNET_OK || c->tls()) drive(c); // TLS may have answered
            return;
        }
    }
    bool rearm = false, resumed = false, ended = false;
    {
        std::lock_guard<std::mutex> lk(c->mu);
        c->ops &= uint8_t(~(kOpRecv | kOpRecvStopping));
        bool open = c->life.load(std::memory_order_acquire) == Life::open;
        if (cp.res == kRecvStopped) {
            resumed = open && !c->paused.load(std::memory_order_relaxed); // resumed while it stopped
        } else if (cp.res <= 0 && open && c->pipe.holding()) {
            // Bytes wait for a resume: the end comes after them.
            c->recv_end = cp.res == 0 ? RecvEnd::eof : RecvEnd::error;
            c->end_err = cp.res;
        } else if (cp.res <= 0) {
            ended = true;
        } else {
            rearm = true; // the stream ended with data: read on
        }
    }
    if (ended) end_recv(c, cp.res == 0, cp.res);
    if (resumed) resume(c);
    if (rearm) arm_recv(c);
    drive(c);
    unref(c);
}

// The receive side ended: the peer's FIN (eof) or an error. Owner, no lock.
void Port::end_recv(Conn *c, bool eof, int err) {
    bool tell = false;
    uint64_t id;
    {
        std::lock_guard<std::mutex> lk(c->mu);
        id = c->id.load(std::memory_order_relaxed);
        if (eof && c->opts.half_open && c->life.load(std::memory_order_acquire) == Life::open) {
            c->peer_shut = true;
            tell = true;
        } else if (eof) {
            close_locked(c, IOCPNET_E_PEER_CLOSED, false); // still flush what the user queued
        } else {
            close_locked(c, err, true);
        }
    }
    if (!tell) return;
    const CallbackSet &cs = callbacks();
    if (cs.cb.on_peer_shutdown) cs.cb.on_peer_shutdown(cs.user, this, id);
    std::lock_guard<std::mutex> lk(c->mu);
    if (c->wire == Wire::shut) close_locked(c, IOCPNET_E_PEER_CLOSED, false); // our FIN is out too
}

// The resume task (or a stop that finished after a resume): delivers what
// was held, then reads on, or ends as the peer did meanwhile.
void Port::resume(Conn *c) {
    if (!Ready{c}()) return;
    uint64_t id = c->id.load(std::memory_order_relaxed);
    int rc = c->pipe.ws() ? ws_resume(c) : c->pipe.resume(Ready{c}, [&](const uint8_t *m, size_t n) {
        deliver(id, m, n);
        return true;
    });
    if (rc != IOCPNET_OK) framing_error(c, id, rc);
    if (rc != IOCPNET_OK || !Ready{c}() || c->pipe.holding()) { // paused again in on_data, or closed
        drive(c);
        return;
    }
    Worker &wk = owner();
    c->last_rx_ms = wk.now; // the idle timeout starts afresh
    if (c->opts.idle_ms) arm_timer(c, wk.now + c->opts.idle_ms);
    if (c->recv_end != RecvEnd::none) {
        bool eof = c->recv_end == RecvEnd::eof;
        c->recv_end = RecvEnd::none;
        end_recv(c, eof, c->end_err);
    } else {
        arm_recv(c);
    }
    drive(c);
}

// The peer broke the framing (MESSAGE_TOO_LARGE, a WebSocket PROTOCOL
// error): one last chance to reply, then a graceful close; a WebSocket
// connection not yet upgraded (unannounced) gets no callback.
// A layer's end of the stream closes gracefully too, without that callback:
// IOCPNET_E_TLS (a broken record, a fatal alert) or IOCPNET_E_PEER_CLOSED
// (TLS close_notify).
void Port::framing_error(Conn *c, uint64_t id, int rc) {
    if (c->life.load(std::memory_order_acquire) != Life::open) return;
    if (rc != IOCPNET_E_PEER_CLOSED)
        log(IOCPNET_LOG_WARN, "connection %llu: %s", (unsigned long long)id, iocpnet_strerror(rc));
    const CallbackSet &cs = callbacks();
    bool framing = rc == IOCPNET_E_MESSAGE_TOO_LARGE || rc == IOCPNET_E_PROTOCOL;
    if (framing && cs.cb.on_framing_error && c->pipe.announced()) cs.cb.on_framing_error(cs.user, this, id, rc);
    std::lock_guard<std::mutex> lk(c->mu);
    close_locked(c, rc, false);
}

void Port::on_send(Conn *c, const Completion &cp) {
    Worker &wk = owner();
    bool drain = false, unrefd = false;
    uint64_t id;
    DriveActs a;
    {
        std::lock_guard<std::mutex> lk(c->mu);
        c->ops &= uint8_t(~kOpSend);
        id = c->id.load(std::memory_order_relaxed);
        int err = c->send_err ? c->send_err : cp.res; // an inline write's error came first
        c->send_err = IOCPNET_OK;
        if (cp.res >= 0) {
            c->q.consume(size_t(cp.res), &wk.blocks);
            wk.stats.queued.fetch_sub(int64_t(c->pipe.sent(size_t(cp.res))), std::memory_order_relaxed);
        } else if (!close_locked(c, err, true)) {
            c->wire = Wire::cutting; // a graceful close's flush failed: stop
        }
        if (c->want_drain && c->life.load(std::memory_order_acquire) == Life::open &&
            c->pipe.queued(c->q) <= max_queue / 2) {
            c->want_drain = false;
            drain = true;
        }
        // The rest goes out before on_drain runs; decided in this critical section.
        drive_plan(c, wk, a);
        // The send's reference, in the same section unless it may be the
        // last (unref releases) or on_drain needs it. Only the owner
        // releases, so c stays valid until this returns.
        if (!drain && (c->refs > 1 || c->life.load(std::memory_order_acquire) != Life::closed)) {
            c->refs--;
            unrefd = true;
        }
    }
    if (cp.res > 0) WorkerStats::add(wk.stats.tx, uint64_t(cp.res));
    drive_do(c, wk, a);
    if (drain && c->life.load(std::memory_order_acquire) == Life::open) {
        const CallbackSet &cs = callbacks();
        if (cs.cb.on_drain) cs.cb.on_drain(cs.user, this, id);
    }
    if (!unrefd) unref(c);
}

void Port::on_timer(Conn *c) {
    int64_t now = owner().now, next = 0;
    bool hs_expired = false, ws_expired = false;
    {
        std::lock_guard<std::mutex> lk(c->mu);
        switch (c->life.load(std::memory_order_acquire)) {
        case Life::accepted: // an incoming TLS handshake that takes too long is dropped
            if (c->hs && c->deadline && now >= c->deadline) {
                hs_expired = true;
                c->tls()->set_error("the handshake did not finish in time");
                close_locked(c, IOCPNET_E_TIMEOUT, true);
            } else if (c->hs) {
                next = c->deadline;
            }
            break;
        case Life::connecting:
            if (c->deadline && now >= c->deadline) close_locked(c, IOCPNET_E_TIMEOUT, true);
            else next = c->deadline;
            break;
        case Life::open:
            next = ws_upgrade_due_locked(c, now, &ws_expired); // WebSocket: an upgrade still unfinished
            if (c->life.load(std::memory_order_acquire) != Life::open) break; // overdue: closed
            // Not while paused: resume starts the idle time afresh.
            if (c->opts.idle_ms && (c->wire == Wire::live || c->wire == Wire::shut) &&
                !c->paused.load(std::memory_order_relaxed)) {
                int64_t due = c->last_rx_ms + c->opts.idle_ms;
                if (now >= due) close_locked(c, IOCPNET_E_TIMEOUT, false);
                else if (!next || due < next) next = due;
            }
            break;
        default: // a graceful close whose flush or linger takes too long is cut
            if ((c->wire == Wire::flushing || c->wire == Wire::lingering) && c->deadline) {
                if (now >= c->deadline) c->wire = Wire::cutting;
                else next = c->deadline;
            }
            break;
        }
    }
    if (hs_expired) {
        WorkerStats::add(owner().stats.tls_failed, 1);
        log(IOCPNET_LOG_WARN, "TLS handshake of connection %llu timed out: dropped",
            (unsigned long long)c->id.load(std::memory_order_relaxed));
    }
    if (ws_expired) ws_upgrade_expired(c);
    drive(c);
    if (next) arm_timer(c, next);
}

// The last callback: on_close, or on_connect with the error of a connect
// that failed.
void Port::notify_close(Conn *c) {
    uint64_t id;
    int reason;
    Life l;
    {
        std::lock_guard<std::mutex> lk(c->mu);
        l = c->life.load(std::memory_order_acquire);
        if (l != Life::closing && l != Life::connect_failing) return;
        id = c->id.load(std::memory_order_relaxed);
        reason = c->reason;
    }
    const CallbackSet &cs = callbacks();
    if (l == Life::connect_failing) {
        if (cs.cb.on_connect) cs.cb.on_connect(cs.user, this, id, reason);
        std::lock_guard<std::mutex> lk(c->mu);
        c->life.store(Life::closed, std::memory_order_release);
        return; // a failed connect was never counted as open or closed
    }
    if (!ws_unannounced_close(c, id, reason) && cs.cb.on_close) cs.cb.on_close(cs.user, this, id, reason);
    {
        std::lock_guard<std::mutex> lk(c->mu);
        c->life.store(Life::closed, std::memory_order_release); // get_user worked until here
    }
    WorkerStats::add(owner().stats.closed, 1);
    drive(c);
}

} // namespace iocpnet
