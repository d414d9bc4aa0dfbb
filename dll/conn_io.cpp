// Completions of a connection's operations, and its timers. The way from a
// socket to a callback: backend completion -> here -> decoder -> callback.
#include "errors.hpp"
#include "port.hpp"

namespace iocpnet {

static void on_recv_data(Port *p, Conn *c, const Completion &cp) {
    p->rx_bytes.fetch_add(uint64_t(cp.res), std::memory_order_relaxed);
    std::unique_lock<std::mutex> cbl(c->cb_mu);
    std::unique_lock<std::mutex> lk(c->mu);
    c->last_rx_ms = now_ms();
    bool deliver = !c->closing;
    uint64_t id = c->id;
    lk.unlock();
    int rc = IOCPNET_OK;
    if (deliver) {
        const CallbackSet *cs = p->callbacks();
        rc = c->dec.feed(cp.data, size_t(cp.res), [&](const uint8_t *m, size_t n) {
            {
                std::lock_guard<std::mutex> g(c->mu); // the callback may have closed it
                if (c->closing) return false;
            }
            if (cs->cb.on_data) cs->cb.on_data(cs->user, p, id, m, n);
            return true;
        });
    }
    p->be->recv_done(cp);
    if (rc == IOCPNET_OK) return;
    // The peer broke the framing: one last chance to reply, then a graceful close.
    lk.lock();
    if (c->closing) return;
    lk.unlock();
    log(IOCPNET_LOG_WARN, "connection %llu: %s", (unsigned long long)id, iocpnet_strerror(rc));
    const CallbackSet *cs = p->callbacks();
    if (cs->cb.on_framing_error) cs->cb.on_framing_error(cs->user, p, id, rc);
    lk.lock();
    p->begin_close(c, rc, false);
    p->pump(c, lk);
}

void Port::on_completion(const Completion &cp) {
    Conn *c = static_cast<Conn *>(cp.ctx);
    switch (cp.op) {
    case Op::recv: {
        if (cp.res > 0) {
            on_recv_data(this, c, cp);
            if (!cp.done) return;
        }
        std::unique_lock<std::mutex> lk(c->mu);
        c->recv_on = false;
        if (cp.res == 0) begin_close(c, IOCPNET_E_PEER_CLOSED, false); // still flush what the user queued
        else if (cp.res < 0) begin_close(c, cp.res, true);
        pump(c, lk);
        unref(c, lk);
        return;
    }
    case Op::send: {
        std::unique_lock<std::mutex> lk(c->mu);
        c->send_on = false;
        if (cp.res >= 0) {
            c->q.consume(size_t(cp.res));
            tx_bytes.fetch_add(uint64_t(cp.res), std::memory_order_relaxed);
            queued_bytes.fetch_sub(cp.res, std::memory_order_relaxed);
        } else if (!c->closing) {
            begin_close(c, cp.res, true);
        } else {
            c->abort = true; // the flush of a graceful close failed: stop
        }
        bool drain = c->want_drain && !c->closing && c->q.bytes() <= max_queue / 2;
        if (drain) c->want_drain = false;
        pump(c, lk);
        if (drain) {
            uint64_t id = c->id;
            lk.unlock();
            {
                std::lock_guard<std::mutex> cbl(c->cb_mu);
                bool open;
                {
                    std::lock_guard<std::mutex> g(c->mu);
                    open = !c->closing;
                }
                const CallbackSet *cs = callbacks();
                if (open && cs->cb.on_drain) cs->cb.on_drain(cs->user, this, id);
            }
            lk.lock();
        }
        unref(c, lk);
        return;
    }
    case Op::connect: {
        std::unique_lock<std::mutex> cbl(c->cb_mu);
        std::unique_lock<std::mutex> lk(c->mu);
        c->connecting = false;
        int status = cp.res;
        if (c->connect_timed_out) status = IOCPNET_E_TIMEOUT;
        else if (c->closing) status = c->reason;
        if (status == IOCPNET_OK) {
            c->connected = true;
            c->notify_close = true;
            { NetAddr na; if (net_sock_addr(c->sock->fd, true, &na) == 0) net_format(na, c->peer_addr, sizeof c->peer_addr);
              if (net_sock_addr(c->sock->fd, false, &na) == 0) net_format(na, c->local_addr, sizeof c->local_addr); }
            c->last_rx_ms = now_ms();
            if (c->opts.idle_ms) arm_timer(c, c->last_rx_ms + c->opts.idle_ms);
            n_connected.fetch_add(1, std::memory_order_relaxed);
        } else if (!c->closing) {
            c->closing = true;
            c->reason = status;
        }
        uint64_t id = c->id;
        lk.unlock();
        const CallbackSet *cs = callbacks();
        if (cs->cb.on_connect) cs->cb.on_connect(cs->user, this, id, status);
        lk.lock();
        if (status != IOCPNET_OK) c->dead = true;
        if (status == IOCPNET_OK && !c->closing) {
            c->recv_on = true;
            c->pending++;
            be->recv(c->sock);
        }
        pump(c, lk);
        unref(c, lk);
        return;
    }
    case Op::accept: break; // Port::on_accept_completion
    }
}

void Port::on_conn_timer(Conn *c) {
    std::unique_lock<std::mutex> lk(c->mu);
    if (!c->id) return;
    int64_t now = now_ms(), next = 0;
    if (c->connecting) {
        if (c->connect_deadline && now >= c->connect_deadline && !c->closing) {
            c->connect_timed_out = true;
            c->closing = true;
            c->reason = IOCPNET_E_TIMEOUT;
            kick(c, lk); // cancels the connect; its completion reports the timeout
        }
        next = c->closing ? 0 : c->connect_deadline;
    } else if (c->closing) {
        if (c->close_deadline && now >= c->close_deadline) kick(c, lk); // flush or linger took too long
        else next = c->close_deadline;
    } else if (c->connected && c->opts.idle_ms) {
        int64_t due = c->last_rx_ms + c->opts.idle_ms;
        if (now >= due) {
            begin_close(c, IOCPNET_E_TIMEOUT, false);
            kick(c, lk);
        } else {
            next = due;
        }
    }
    if (next) arm_timer(c, next);
}

} // namespace iocpnet
