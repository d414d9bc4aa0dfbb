// A connection's requests from any thread (connect, send, close, user data,
// addresses) and the owner's side of its state machine: tasks, drive and
// release. See connection.hpp for the states and the transition table.
#include <cstring>
#include <string>

#include "errors.hpp"
#include "port.hpp"
#include "tls/tls.hpp"

namespace iocpnet {

static constexpr int64_t kCloseDeadlineMs = 5000; // bound on a graceful close's flush + linger

namespace {
// The connection an id names, locked, if it is in a state that answers:
// visible ones for requests, also the closing ones for queries.
class ConnRef {
  public:
    ConnRef(ConnTable &t, uint64_t id, bool query) {
        Conn *c = t.slot_of(id);
        if (!c) return;
        lk = std::unique_lock<std::mutex>(c->mu);
        if (c->id.load(std::memory_order_relaxed) == id && (query ? c->answers_queries() : c->visible())) conn = c;
        else lk.unlock();
    }
    explicit operator bool() const { return conn != nullptr; }
    Conn *operator->() const { return conn; }
    Conn *conn = nullptr;
    std::unique_lock<std::mutex> lk;
};

int not_found(uint64_t id) { return fail(IOCPNET_E_NOT_FOUND, "no open connection %llu", (unsigned long long)id); }
} // namespace

// ------------------------------------------------------------ any thread

bool Port::close_locked(Conn *c, int reason, bool abort) {
    Life l = c->life.load(std::memory_order_acquire);
    switch (l) {
    case Life::connecting: // on_connect(reason) comes from the connect's completion
        c->life.store(Life::connect_failing, std::memory_order_release);
        c->reason = reason;
        c->wire = Wire::cutting;
        return true;
    case Life::accepted: // the user never heard of it: no callback at all
        c->life.store(Life::closed, std::memory_order_release);
        c->wire = Wire::cutting;
        net_set_abortive(c->sock->fd);
        return true;
    case Life::open:
        if (!abort && c->pipe.ws() && !ws_close_frame_locked(c, reason)) abort = true; // RFC 6455: a close frame first
        c->life.store(Life::closing, std::memory_order_release);
        c->reason = reason;
        // After a half-close the FIN is out already: wait for the peer's.
        c->wire = abort ? Wire::cutting : c->wire == Wire::shut ? Wire::lingering : Wire::flushing;
        c->deadline = 0;
        if (abort) net_set_abortive(c->sock->fd);
        else if (c->tls()) c->tls()->close_notify(c->q); // TLS's own close before the TCP shutdown
        queue_task(c, Task::notify_close); // on_close never nests in another callback
        return true;
    case Life::connect_failing:
    case Life::closing:
    case Life::closed: // already closing: an abort (destroy) cuts a flush or linger short
        if (abort && (c->wire == Wire::flushing || c->wire == Wire::lingering)) {
            c->wire = Wire::cutting;
            return true;
        }
        return false;
    case Life::free: break;
    }
    return false;
}

void Port::queue_task(Conn *c, Task::Kind k) {
    Task t{};
    t.kind = k;
    t.conn = c;
    t.id = c->id.load(std::memory_order_relaxed);
    c->refs++;
    // Cannot fail: workers stop accepting tasks only after every connection is gone.
    push_task(c->worker, t);
}

void Port::request_drive(Conn *c, std::unique_lock<std::mutex> &lk) {
    if (c->drive_queued) return; // a drive task comes (from another thread, or a deferred send)
    if (on_owner(c->worker)) {
        // Decided in this critical section, done after it: one lock per send
        // instead of three. Only the owner releases a connection: c stays valid.
        Worker &wk = owner();
        DriveActs a;
        drive_plan(c, wk, a);
        lk.unlock();
        drive_do(c, wk, a);
    } else {
        c->drive_queued = true;
        queue_task(c, Task::drive);
    }
}

Conn *Port::new_slot(uint32_t framing, uint32_t max_message, TlsSession *ts, bool client,
                     std::unique_lock<std::mutex> *lk) {
    Conn *c = conns.alloc();
    if (c) {
        *lk = std::unique_lock<std::mutex>(c->mu);
        if (c->pipe.reset(framing, max_message, ts, client)) return c;
        lk->unlock();
        conns.release(c);
    }
    delete ts;
    return nullptr;
}

int Port::connect(const char *host, uint16_t tcp_port, const ConnOpts &o, uint64_t *out) {
    if (stopping.load()) return fail(IOCPNET_E_SHUTTING_DOWN, "the port is being destroyed");
    Addr a;
    int rc = net_resolve(host, tcp_port, false, &a);
    if (rc != IOCPNET_OK) return rc;
    // Counted before the second `stopping` check, so destroy either sees this
    // connection (and sweeps it) or the connect fails.
    uint32_t live = live_conns.fetch_add(1) + 1;
    // `what` NULL: the failing call already recorded the detail (formatting
    // last_error() into itself would read the buffer it writes).
    auto uncount = [&](int code, const char *what) {
        uncount_conn();
        return what ? fail(code, "%s", what) : code;
    };
    if (stopping.load()) return uncount(IOCPNET_E_SHUTTING_DOWN, "the port is being destroyed");
    if (max_conns && live > max_conns) return uncount(IOCPNET_E_LIMIT, "max_connections reached");
    TlsSession *ts = nullptr;
    if (o.tls && (rc = TlsSession::create(o.tls, o.server_name ? o.server_name : host, &ts)) != IOCPNET_OK) {
        return uncount(rc, nullptr);
    }
    BSock *s = nullptr;
    rc = be->open_stream(a, &s);
    if (rc != IOCPNET_OK) {
        delete ts;
        return uncount(rc, nullptr);
    }
    std::unique_lock<std::mutex> lk;
    Conn *c = new_slot(o.framing, o.max_message, ts, true, &lk);
    if (!c) {
        be->release(s);
        return uncount(IOCPNET_E_NO_MEMORY, "no memory for a new connection");
    }
    uint64_t id = id_layout::make(c->slot, ++c->gen);
    c->id.store(id, std::memory_order_release);
    c->life.store(Life::connecting, std::memory_order_release);
    c->sock = s;
    c->worker = uint16_t(pick_worker());
    s->worker = c->worker;
    s->ctx = c;
    c->opts = o;
    if (c->pipe.ws()) { // the Upgrade request goes before anything the user queues
        bool queued = false;
        try { // the slot has an id now: no exception may leave it behind
            std::string req = c->pipe.ws()->client_request(o.ws_host, o.ws_path.empty() ? "/" : o.ws_path);
            queued = ws_queue_locked(c, reinterpret_cast<const uint8_t *>(req.data()), req.size());
        } catch (const std::bad_alloc &) {
        }
        if (!queued) close_locked(c, IOCPNET_E_NO_MEMORY, true); // on_connect(NO_MEMORY) follows
    }
    net_addr_from(a, &c->peer);
    net_set_nodelay(s->fd, o.nodelay);
    if (o.keepalive_s) net_set_keepalive(s->fd, o.keepalive_s);
    Task t{};
    t.kind = Task::connect;
    t.conn = c;
    t.id = id;
    t.addr = a;
    c->refs++;
    push_task(c->worker, t);
    *out = id;
    return IOCPNET_OK;
}

int Port::queue_payload(Conn *c, const IoVec *parts, size_t n, size_t len, SharedPayload *sp) {
    if (c->shut_wr) return fail(IOCPNET_E_WRITE_SHUTDOWN, "the write side is shut down");
    Frame f;
    int rc = c->pipe.frame(parts, n, len, &f);
    if (rc != IOCPNET_OK) return rc;
    size_t total = f.total(len);
    if (total > max_queue) return fail(IOCPNET_E_LIMIT, "%zu bytes exceed max_send_queue_bytes", total);
    size_t queued = c->pipe.queued(c->q); // payload bytes: a layer's own bytes do not count
    if (queued + total > max_queue) {
        c->want_drain = true;
        return fail(IOCPNET_E_WOULD_BLOCK, "send queue full (%zu bytes queued)", queued);
    }
    BlockCache *cache = &workers[c->worker]->blocks;
    size_t skip = 0; // bytes of the frame written inline
    bool defer = false, now = false;
    if (send_now_ok && c->q.empty() && !(c->ops & kOpSend) && c->pipe.direct() && on_owner(c->worker)) {
        // One inline write per connection and round: later sends of the
        // round (a relay's messages from several senders) wait for a drive
        // task at the round's end and leave together, in one write.
        Worker &wk = owner();
        defer = c->inline_round == wk.round;
        now = !defer;
        c->inline_round = wk.round;
    }
    if (now) {
        long r = send_inline(c, f, parts, n);
        // An error closes the connection as a failed queued send does, at
        // the same point: the bytes are queued, the send the caller's drive
        // submits fails too, and its completion closes with this error. Not
        // here: the caller may be in a callback that closes or replies next
        // (on_framing_error), and its own close reason comes first.
        if (r < 0) c->send_err = int(r);
        else if (size_t(r) == total) return IOCPNET_OK;
        else skip = size_t(r);
    }
    bool ok;
    if (!skip) {
        ok = sp ? c->pipe.send(f, parts[0].base, len, sp, c->q, cache) : c->pipe.send(f, parts, n, c->q, cache);
    } else if (SendQueue::shares(sp, len)) {
        ok = c->q.append(f, parts[0].base, len, sp, cache, skip); // the rest of the frame, still shared
    } else {
        ok = queue_rest(c, f, parts, n, skip, cache); // the rest of the frame, copied
    }
    if (!ok) {
        if (close_locked(c, IOCPNET_E_NO_MEMORY, true) && !c->drive_queued) { // a half-queued frame would corrupt the stream
            c->drive_queued = true;
            queue_task(c, Task::drive);
        }
        return fail(IOCPNET_E_NO_MEMORY, "no memory to queue %zu bytes", total);
    }
    workers[c->worker]->stats.queued.fetch_add(int64_t(total - skip), std::memory_order_relaxed);
    if (defer && !c->drive_queued) { // the caller's request_drive leaves it to this task
        c->drive_queued = true;
        queue_task(c, Task::drive);
    }
    return IOCPNET_OK;
}

// The frame as the wire sees it: head, the payload's parts, tail. At most
// max entries; 0 when it needs more (then it is queued as usual).
static unsigned frame_iov(const Frame &f, const IoVec *parts, size_t n, IoVec *iov, unsigned max) {
    static const uint8_t nl = '\n';
    unsigned m = 0;
    if (n + 2 > max) return 0;
    if (f.head_len) iov[m++] = IoVec{f.head, f.head_len};
    for (size_t i = 0; i < n; i++)
        if (parts[i].len) iov[m++] = parts[i];
    if (f.tail_len) iov[m++] = IoVec{&nl, 1};
    return m;
}

long Port::send_inline(Conn *c, const Frame &f, const IoVec *parts, size_t n) {
    // Only an open, live connection: a connecting one has no socket to
    // write yet, a closing one flushes through drive, a TLS handshake's
    // bytes are the layer's.
    if (c->life.load(std::memory_order_relaxed) != Life::open || c->wire != Wire::live || c->hs) return 0;
    Worker &wk = owner();
    unsigned m = frame_iov(f, parts, n, wk.iov, 64);
    if (!m) return 0;
    long r = be->send_now(c->sock, wk.iov, m);
    if (r == kSendLater) return 0;
    if (r > 0) WorkerStats::add(wk.stats.tx, uint64_t(r));
    return r;
}

// What an inline send left of a frame, copied into the queue (c->mu held,
// no layer: the frame goes to the wire as it is).
bool Port::queue_rest(Conn *c, const Frame &f, const IoVec *parts, size_t n, size_t skip, BlockCache *cache) {
    IoVec *iov = owner().iov;
    unsigned m = frame_iov(f, parts, n, iov, 64), i = 0;
    while (i < m && skip >= iov[i].len) skip -= iov[i++].len;
    iov[i].base = static_cast<const uint8_t *>(iov[i].base) + skip; // skip < total: i < m
    iov[i].len -= skip;
    return c->q.append(Frame{}, iov + i, m - i, cache);
}

int Port::send(uint64_t id, const void *data, size_t len) {
    IoVec part{data, len};
    return sendv(id, &part, 1);
}

int Port::sendv(uint64_t id, const IoVec *parts, size_t n) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].len > SIZE_MAX - len) return fail(IOCPNET_E_LIMIT, "the buffers add up to more than SIZE_MAX");
        len += parts[i].len;
    }
    ConnRef r(conns, id, false);
    if (!r) return not_found(id);
    int rc = queue_payload(r.conn, parts, n, len, nullptr);
    if (rc == IOCPNET_OK && !(r->ops & kOpSend)) request_drive(r.conn, r.lk);
    return rc;
}

int Port::send_owned(uint64_t id, const void *data, size_t len, iocpnet_free_fn fn, void *arg) {
    SharedPayload *sp = SharedPayload::lend(data, len, fn, arg);
    if (!sp) return fail(IOCPNET_E_NO_MEMORY, "no memory to queue %zu bytes", len);
    int rc;
    {
        ConnRef r(conns, id, false);
        if (!r) {
            sp->discard();
            return not_found(id);
        }
        IoVec part{data, len};
        rc = queue_payload(r.conn, &part, 1, len, sp);
        if (rc != IOCPNET_OK) {
            sp->discard(); // the caller keeps the buffer
            return rc;
        }
        // Under the lock, so that the queue's reference is not the last one
        // yet: that one drops on the owner, which runs free_fn.
        sp->unref();
        if (!(r->ops & kOpSend)) request_drive(r.conn, r.lk);
    }
    SharedPayload::run_frees(); // a layer copied the bytes: they are free at once
    return IOCPNET_OK;
}

int Port::send_many(const uint64_t *ids, size_t count, const void *data, size_t len, int *results, size_t *queued) {
    size_t ok = 0;
    SharedPayload *sp = nullptr;
    if (len >= SendQueue::kShareMin && count > 1) {
        sp = SharedPayload::create(data, len, 1); // our own reference, dropped below
        if (!sp) return fail(IOCPNET_E_NO_MEMORY, "no memory for a %zu-byte payload", len);
    }
    for (size_t i = 0; i < count; ++i) {
        int rc = IOCPNET_E_NOT_FOUND;
        ConnRef r(conns, ids[i], false);
        if (r) {
            IoVec part{sp ? sp->data() : data, len};
            rc = queue_payload(r.conn, &part, 1, len, sp);
            if (rc == IOCPNET_OK) {
                ++ok;
                if (!(r->ops & kOpSend)) request_drive(r.conn, r.lk);
            }
        }
        if (results) results[i] = rc;
    }
    if (sp) sp->unref();
    if (queued) *queued = ok;
    return IOCPNET_OK;
}

int Port::close(uint64_t id, int mode) {
    ConnRef r(conns, id, false);
    if (!r) return not_found(id);
    bool connecting = r->life.load(std::memory_order_acquire) == Life::connecting;
    if (close_locked(r.conn, connecting ? IOCPNET_E_SHUTTING_DOWN : IOCPNET_OK, mode == IOCPNET_CLOSE_ABORT))
        request_drive(r.conn, r.lk);
    return IOCPNET_OK;
}

int Port::shutdown_write(uint64_t id) {
    ConnRef r(conns, id, false);
    if (!r) return not_found(id);
    if (!r->shut_wr) {
        r->shut_wr = true;
        if (r->tls()) r->tls()->close_notify(r->q); // TLS's own half-close before the TCP one
        if (!(r->ops & kOpSend)) request_drive(r.conn, r.lk);
    }
    return IOCPNET_OK;
}

int Port::pause_recv(uint64_t id, bool pause) {
    ConnRef r(conns, id, false);
    if (!r) return not_found(id);
    if (pause == r->paused.load(std::memory_order_relaxed)) return IOCPNET_OK;
    r->paused.store(pause, std::memory_order_release);
    if (!pause) queue_task(r.conn, Task::resume); // delivers what was held, never inside this call
    else if ((r->ops & (kOpRecv | kOpRecvStopping)) == kOpRecv) request_drive(r.conn, r.lk); // stop reading
    return IOCPNET_OK;
}

int Port::queued_bytes(uint64_t id, uint64_t *out) {
    ConnRef r(conns, id, true);
    if (!r) return not_found(id);
    *out = r->pipe.queued(r->q); // payload bytes (with TLS: plaintext)
    return IOCPNET_OK;
}

int Port::conn_post(uint64_t id, iocpnet_conn_fn fn, void *arg) {
    if (stopping.load()) return fail(IOCPNET_E_SHUTTING_DOWN, "the port is being destroyed");
    ConnRef r(conns, id, false);
    if (!r) return not_found(id);
    // Queued behind everything the connection has queued so far; its last
    // callback is queued later, as a task too, so fn runs before it.
    Task t{};
    t.kind = Task::conn_post;
    t.conn = r.conn;
    t.id = id;
    t.cfn = fn;
    t.arg = arg;
    r->refs++;
    push_task(r->worker, t);
    return IOCPNET_OK;
}

int Port::set_user(uint64_t id, void *user) {
    ConnRef r(conns, id, false);
    if (!r) return not_found(id);
    r->user = user;
    return IOCPNET_OK;
}

int Port::get_user(uint64_t id, void **out) {
    ConnRef r(conns, id, true);
    if (!r) return not_found(id);
    *out = r->user;
    return IOCPNET_OK;
}

int Port::address(uint64_t id, bool peer, char *buf, size_t len) {
    NetAddr a;
    {
        ConnRef r(conns, id, true);
        if (!r) return not_found(id);
        Life l = r->life.load(std::memory_order_acquire);
        if (l == Life::connecting || l == Life::connect_failing)
            return fail(IOCPNET_E_SYSTEM, "not connected yet");
        a = peer ? r->peer : r->local;
    }
    if (!a.family) return fail(IOCPNET_E_SYSTEM, "the %s address is not known", peer ? "peer's" : "local");
    return net_format(a, buf, len);
}

void Port::drop_queue(Conn *c) {
    Worker &wk = *workers[c->worker];
    wk.stats.queued.fetch_sub(int64_t(c->pipe.queued(c->q)), std::memory_order_relaxed);
    c->q.clear(&wk.blocks);
    if (c->pipe.layer()) c->pipe.layer()->dropped();
}

void Port::uncount_conn() {
    if (live_conns.fetch_sub(1) == 1 && stopping.load()) {
        std::lock_guard<std::mutex> lk(lst_mu);
        drained.notify_all();
    }
}

// ------------------------------------------------------------------ owner

void Port::conn_task(const Task &t) {
    Conn *c = t.conn; // the task's reference keeps this incarnation in the slot
    switch (t.kind) {
    case Task::start: start(c); break;
    case Task::connect: submit_connect(c, t.addr); break;
    case Task::notify_close: notify_close(c); break;
    case Task::resume: resume(c); break;
    case Task::conn_post: t.cfn(t.arg, this, t.id); break;
    case Task::drive: {
        {
            std::lock_guard<std::mutex> lk(c->mu);
            c->drive_queued = false;
        }
        drive(c);
        break;
    }
    default: break;
    }
    unref(c);
}

// Does on the socket what the state calls for: submit the queue's front,
// shut the write side once a graceful close has flushed, cancel on a cut.
void Port::drive(Conn *c) {
    Worker &wk = owner();
    DriveActs a;
    {
        std::lock_guard<std::mutex> lk(c->mu);
        drive_plan(c, wk, a);
    }
    drive_do(c, wk, a);
}

void Port::drive_plan(Conn *c, Worker &wk, DriveActs &a) {
    Life l = c->life.load(std::memory_order_acquire);
    // A connection that never reached open has an empty queue and a cut wire.
    bool connected = l == Life::open || l == Life::closing || l == Life::closed || c->hs; // hs: TLS handshake
    if ((c->wire == Wire::live || c->wire == Wire::flushing) && connected && !(c->ops & kOpSend) && !c->q.empty()) {
        a.n = c->q.gather(wk.iov, 64);
        c->ops |= kOpSend;
        c->refs++;
    }
    if (c->wire == Wire::live && c->shut_wr && l == Life::open && !(c->ops & kOpSend) && c->q.empty()) {
        c->wire = Wire::shut; // half-closed: the FIN goes out, reading goes on
        a.shut = true;
        if (c->peer_shut) close_locked(c, IOCPNET_E_PEER_CLOSED, false); // both directions are done
    }
    if (c->paused.load(std::memory_order_relaxed) && l == Life::open &&
        (c->ops & (kOpRecv | kOpRecvStopping)) == kOpRecv) {
        c->ops |= kOpRecvStopping;
        a.stop_recv = true;
    }
    if (c->wire == Wire::flushing && !(c->ops & kOpSend)) {
        a.shut = connected;
        c->wire = (c->ops & kOpRecv) ? Wire::lingering : Wire::done;
    }
    if (c->wire == Wire::lingering && !(c->ops & kOpRecv)) c->wire = Wire::done;
    if (c->wire == Wire::cutting) {
        a.cancel = c->ops != 0;
        c->wire = Wire::done;
    }
    if (c->wire == Wire::flushing || c->wire == Wire::lingering) {
        if (!c->deadline) c->deadline = wk.now + kCloseDeadlineMs;
        a.close_at = c->deadline;
    }
}

void Port::drive_do(Conn *c, Worker &wk, const DriveActs &a) {
    if (a.n) be->send(c->sock, wk.iov, a.n);
    if (a.shut) net_shutdown_write(c->sock->fd); // keep reading until the peer's EOF, so our close is not a reset
    if (a.stop_recv) be->recv_stop(c->sock);
    if (a.cancel) be->cancel(c->sock);
    if (a.close_at) arm_timer(c, a.close_at);
}

void Port::unref(Conn *c) {
    uint64_t id;
    int reason;
    {
        std::lock_guard<std::mutex> lk(c->mu);
        if (--c->refs != 0 || c->life.load(std::memory_order_acquire) != Life::closed) return;
        // Nothing refers to this incarnation any more: free the socket and the slot.
        id = c->id.load(std::memory_order_relaxed);
        reason = c->reason;
        be->release(c->sock);
        c->sock = nullptr;
        drop_queue(c);
        TlsSession *ts = c->tls();
        c->pipe.reset(IOCPNET_FRAMING_RAW, 0); // frees the TLS / WebSocket state; never fails for RAW
        delete ts;
        c->hs = false;
        c->id.store(0, std::memory_order_release);
        c->life.store(Life::free, std::memory_order_release);
        c->wire = Wire::live;
        c->ops = 0;
        c->drive_queued = c->want_drain = c->shut_wr = c->peer_shut = false;
        c->send_err = IOCPNET_OK;
        c->paused.store(false, std::memory_order_relaxed);
        c->recv_end = RecvEnd::none;
        c->end_err = IOCPNET_OK;
        c->reason = IOCPNET_OK;
        c->user = nullptr;
        c->listener = 0;
        c->last_rx_ms = c->deadline = c->timer_at = 0;
        c->peer = c->local = NetAddr{};
    }
    conns.release(c); // from here the slot may be another connection's
    uncount_conn();
    if (log_enabled(IOCPNET_LOG_DEBUG))
        log(IOCPNET_LOG_DEBUG, "connection %llu closed: %s", (unsigned long long)id, iocpnet_err_name(reason));
}

} // namespace iocpnet
