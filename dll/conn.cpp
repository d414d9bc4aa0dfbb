// Connection behaviour: the send path, completions, close and timers.
// Lock order: Conn::cb_mu, then Conn::mu, then a worker's or the table's
// mutex. User callbacks run holding cb_mu only, so a callback may call any
// function on any connection, its own included.
#include <cstdlib>
#include <new>

#include "errors.hpp"
#include "port.hpp"

namespace iocpnet {

static constexpr int64_t kCloseDeadlineMs = 5000; // bound on a graceful close's flush + linger

// -------------------------------------------------------------- the id table

static uint32_t slot_index(uint64_t id) { return uint32_t(id & 0xFFFFFF) - 1; }

void Conn::reset_for_reuse() {
    port = nullptr, sock = nullptr, worker = 0, listener = 0, opts = ConnOpts{}, user = nullptr;
    connecting = connected = closing = abort = cancelled = wr_shut = false;
    recv_on = send_on = pump_queued = want_drain = notify_close = close_cb_done = connect_timed_out = dead = false;
    reason = IOCPNET_OK, pending = 0;
    last_rx_ms = connect_deadline = close_deadline = timer_at = 0;
    peer_addr[0] = local_addr[0] = 0;
    q.clear();
}

ConnTable::~ConnTable() {
    for (auto &ch : chunks_) delete[] ch.load();
}

Conn *ConnTable::alloc(uint64_t *id_out) {
    uint32_t index;
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (!free_.empty()) {
            index = free_.back();
            free_.pop_back();
        } else {
            index = next_.load(std::memory_order_relaxed);
            if (index >= kChunk * kMaxChunks) return nullptr;
            if (index % kChunk == 0) {
                Conn *chunk = new (std::nothrow) Conn[kChunk];
                if (!chunk) return nullptr;
                for (uint32_t i = 0; i < kChunk; ++i) chunk[i].slot = index + i;
                chunks_[index / kChunk].store(chunk, std::memory_order_release);
            }
            next_.store(index + 1, std::memory_order_release);
        }
    }
    Conn *c = at(index);
    std::lock_guard<std::mutex> lk(c->mu);
    c->reset_for_reuse();
    c->gen++;
    c->id = (c->gen << 24) | (uint64_t(index) + 1); // 24-bit slot + 40-bit generation: never reused
    *id_out = c->id;
    return c;
}

void ConnTable::release(Conn *c) {
    c->id = 0;
    std::lock_guard<std::mutex> lk(mu_);
    free_.push_back(c->slot);
}

Conn *ConnTable::at(uint32_t index) const {
    Conn *chunk = chunks_[index / kChunk].load(std::memory_order_acquire);
    return chunk ? &chunk[index % kChunk] : nullptr;
}

Conn *ConnTable::slot_of(uint64_t id) const {
    if ((id & 0xFFFFFF) == 0) return nullptr;
    uint32_t index = slot_index(id);
    if (index >= next_.load(std::memory_order_acquire)) return nullptr;
    return at(index);
}

Conn *Port::lookup(uint64_t id, bool until_dead) {
    Conn *c = conns.slot_of(id);
    if (!c) return nullptr;
    c->mu.lock();
    if (c->id != id || (until_dead ? c->dead : c->closing)) {
        c->mu.unlock();
        return nullptr;
    }
    return c;
}

// --------------------------------------------------------- state machine core

void Port::begin_close(Conn *c, int reason, bool abort) {
    if (c->closing) return;
    c->closing = true;
    c->reason = reason;
    c->abort = abort;
    c->close_deadline = now_ms() + kCloseDeadlineMs;
    arm_timer(c, c->close_deadline);
    if (c->notify_close) { // on_close always comes from a task, never nested in another callback
        c->pending++;
        Task t{};
        t.kind = Task::close_cb;
        t.conn = c;
        t.id = c->id;
        push_task(c->worker, t);
    }
}

void Port::pump(Conn *c, std::unique_lock<std::mutex> &) {
    if (!c->id || !c->sock) return;
    bool cut = c->abort || (c->closing && !c->connected) ||
               (c->closing && c->close_deadline && now_ms() >= c->close_deadline);
    if (cut) {
        if (!c->cancelled && (c->recv_on || c->send_on || c->connecting)) {
            c->cancelled = true;
            if (c->abort && c->connected) net_set_abortive(c->sock->fd);
            be->cancel(c->sock);
        }
        return;
    }
    if (c->connected && !c->send_on && !c->q.empty()) {
        unsigned n = c->q.gather(c->iov, 64);
        c->send_on = true;
        c->pending++;
        be->send(c->sock, c->iov, n);
    }
    if (c->closing && c->connected && !c->send_on && c->q.empty() && !c->wr_shut) {
        // Flushed: shut the write side, keep reading (and discarding) until the
        // peer's EOF so that our close does not turn into a reset.
        c->wr_shut = true;
        net_shutdown_write(c->sock->fd);
    }
}

void Port::kick(Conn *c, std::unique_lock<std::mutex> &lk) {
    if (can_submit(c)) {
        pump(c, lk);
    } else if (!c->pump_queued) {
        c->pump_queued = true;
        c->pending++;
        Task t{};
        t.kind = Task::pump;
        t.conn = c;
        t.id = c->id;
        push_task(c->worker, t);
    }
}

void Port::unref(Conn *c, std::unique_lock<std::mutex> &) {
    if (--c->pending != 0 || !c->closing) return;
    // Nothing refers to the connection any more: free the socket and the slot.
    if (c->sock) be->release(c->sock);
    c->sock = nullptr;
    queued_bytes.fetch_sub(int64_t(c->q.bytes()), std::memory_order_relaxed);
    c->q.clear();
    c->dec.reset(IOCPNET_FRAMING_RAW, 0);
    if (c->notify_close) n_closed.fetch_add(1, std::memory_order_relaxed);
    if (log_enabled(IOCPNET_LOG_DEBUG))
        log(IOCPNET_LOG_DEBUG, "connection %llu closed: %s", (unsigned long long)c->id, iocpnet_err_name(c->reason));
    conns.release(c);
    if (live_conns.fetch_sub(1) == 1 && stopping.load()) {
        std::lock_guard<std::mutex> lk(lst_mu);
        drained.notify_all();
    }
}

// --------------------------------------------------------------- start paths

void Port::start_conn(Conn *c, uint64_t id) {
    std::unique_lock<std::mutex> cbl(c->cb_mu);
    std::unique_lock<std::mutex> lk(c->mu);
    if (c->id != id) return;
    bool fire = !c->closing;
    c->last_rx_ms = now_ms();
    if (c->opts.idle_ms) arm_timer(c, c->last_rx_ms + c->opts.idle_ms);
    uint64_t lid = c->listener;
    lk.unlock();
    const CallbackSet *cs = callbacks();
    if (fire && cs->cb.on_accept) cs->cb.on_accept(cs->user, this, lid, id);
    lk.lock();
    if (!c->closing) {
        c->recv_on = true;
        c->pending++;
        be->recv(c->sock);
    }
    pump(c, lk);
    unref(c, lk);
}

int Port::connect(const char *host, uint16_t tcp_port, const ConnOpts &o, uint64_t *out) {
    if (stopping.load()) return fail(IOCPNET_E_SHUTTING_DOWN, "the port is being destroyed");
    if (max_conns && live_conns.load() >= max_conns)
        return fail(IOCPNET_E_LIMIT, "max_connections (%u) reached", max_conns);
    Addr a;
    int rc = net_resolve(host, tcp_port, false, &a);
    if (rc != IOCPNET_OK) return rc;
    BSock *s = nullptr;
    rc = be->open_stream(a, &s);
    if (rc != IOCPNET_OK) return rc;
    uint64_t id;
    Conn *c = conns.alloc(&id);
    if (!c) {
        be->release(s);
        return fail(IOCPNET_E_NO_MEMORY, "no memory for a new connection");
    }
    live_conns.fetch_add(1);
    std::unique_lock<std::mutex> lk(c->mu);
    c->port = this;
    c->sock = s;
    c->worker = s->worker = pick_worker();
    s->ctx = c;
    c->opts = o;
    c->dec.reset(o.framing, o.max_message);
    c->connecting = true;
    net_set_nodelay(s->fd, o.nodelay);
    if (o.keepalive_s) net_set_keepalive(s->fd, o.keepalive_s);
    c->pending++; // the connect operation's reference (the task's until it submits)
    *out = id;
    if (can_submit(c)) {
        if (o.connect_ms) {
            c->connect_deadline = now_ms() + o.connect_ms;
            arm_timer(c, c->connect_deadline);
        }
        be->connect(s, a);
    } else {
        Task t{};
        t.kind = Task::connect;
        t.conn = c;
        t.id = id;
        t.addr = a;
        push_task(c->worker, t);
    }
    return IOCPNET_OK;
}

void Port::start_connect(Conn *c, uint64_t id, const Addr &a) {
    std::unique_lock<std::mutex> lk(c->mu);
    if (c->id != id) return;
    if (!c->closing) {
        if (c->opts.connect_ms) {
            c->connect_deadline = now_ms() + c->opts.connect_ms;
            arm_timer(c, c->connect_deadline);
        }
        be->connect(c->sock, a);
        return;
    }
    // Closed before the connect was submitted: report it as a failed connect.
    Completion cp{};
    cp.op = Op::connect;
    cp.done = true;
    cp.res = c->reason;
    cp.ctx = c;
    cp.sock = c->sock;
    lk.unlock();
    on_completion(cp);
}

// ----------------------------------------------------------------- send path

static bool append_framed(SendQueue &q, const Frame &f, const void *data, size_t len, SharedPayload *sp) {
    if (f.head_len && !q.append_copy(f.head, f.head_len)) return false;
    if (sp) {
        sp->refs.fetch_add(1, std::memory_order_relaxed);
        q.append_shared(sp);
    } else if (!q.append_copy(data, len)) {
        return false;
    }
    return !f.newline || q.append_copy("\n", 1);
}

int Port::send(uint64_t id, const void *data, size_t len) {
    Conn *c = lookup(id);
    if (!c) return fail(IOCPNET_E_NOT_FOUND, "no open connection %llu", (unsigned long long)id);
    std::unique_lock<std::mutex> lk(c->mu, std::adopt_lock);
    Frame f;
    int rc = frame_for(c->opts.framing, data, len, &f);
    if (rc != IOCPNET_OK) return rc;
    size_t total = f.total(len);
    if (total > max_queue)
        return fail(IOCPNET_E_LIMIT, "%zu bytes exceed max_send_queue_bytes", total);
    if (c->q.bytes() + total > max_queue) {
        c->want_drain = true;
        return fail(IOCPNET_E_WOULD_BLOCK, "send queue full (%zu bytes queued)", c->q.bytes());
    }
    if (!append_framed(c->q, f, data, len, nullptr)) {
        begin_close(c, IOCPNET_E_NO_MEMORY, true); // a half-queued frame would corrupt the stream
        kick(c, lk);
        return fail(IOCPNET_E_NO_MEMORY, "no memory to queue %zu bytes", total);
    }
    queued_bytes.fetch_add(int64_t(total), std::memory_order_relaxed);
    if (!c->send_on) kick(c, lk);
    return IOCPNET_OK;
}

int Port::send_many(const uint64_t *ids, size_t count, const void *data, size_t len, int *results,
                    size_t *queued) {
    size_t ok = 0;
    SharedPayload *sp = SharedPayload::create(data, len, 1); // our own reference, dropped below
    if (!sp) return fail(IOCPNET_E_NO_MEMORY, "no memory for a %zu-byte payload", len);
    for (size_t i = 0; i < count; ++i) {
        int rc = IOCPNET_OK;
        if (Conn *c = lookup(ids[i])) {
            std::unique_lock<std::mutex> lk(c->mu, std::adopt_lock);
            Frame f;
            rc = frame_for(c->opts.framing, data, len, &f);
            size_t total = f.total(len);
            if (rc != IOCPNET_OK) {
            } else if (total > max_queue) {
                rc = IOCPNET_E_LIMIT;
            } else if (c->q.bytes() + total > max_queue) {
                c->want_drain = true;
                rc = IOCPNET_E_WOULD_BLOCK;
            } else if (!append_framed(c->q, f, data, len, sp)) {
                begin_close(c, IOCPNET_E_NO_MEMORY, true);
                kick(c, lk);
                rc = IOCPNET_E_NO_MEMORY;
            } else {
                queued_bytes.fetch_add(int64_t(total), std::memory_order_relaxed);
                ++ok;
                if (!c->send_on) kick(c, lk);
            }
        } else {
            rc = IOCPNET_E_NOT_FOUND;
        }
        if (results) results[i] = rc;
    }
    sp->unref();
    if (queued) *queued = ok;
    return IOCPNET_OK;
}

int Port::close(uint64_t id, int mode) {
    Conn *c = lookup(id);
    if (!c) return fail(IOCPNET_E_NOT_FOUND, "no open connection %llu", (unsigned long long)id);
    std::unique_lock<std::mutex> lk(c->mu, std::adopt_lock);
    if (c->connecting) begin_close(c, IOCPNET_E_SHUTTING_DOWN, true);
    else begin_close(c, IOCPNET_OK, mode == IOCPNET_CLOSE_ABORT);
    kick(c, lk);
    return IOCPNET_OK;
}

void Port::deliver_close(Conn *c, uint64_t id) {
    std::unique_lock<std::mutex> cbl(c->cb_mu);
    std::unique_lock<std::mutex> lk(c->mu);
    if (c->id == id && !c->close_cb_done) {
        c->close_cb_done = true;
        int reason = c->reason;
        lk.unlock();
        const CallbackSet *cs = callbacks();
        if (cs->cb.on_close) cs->cb.on_close(cs->user, this, id, reason);
        lk.lock();
        c->dead = true;
    }
    pump(c, lk);
    unref(c, lk);
}
} // namespace iocpnet
