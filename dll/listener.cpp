// Listeners: listen, unlisten and accept. A listener's socket belongs to one
// worker; its tasks (arm, cancel) run there in the order they were made, so
// an unlisten can never overtake the listen it undoes. It is freed by its
// owner once it is closing, its accept stream has ended and no task names it.
#include "errors.hpp"
#include "port.hpp"
#include "tls/tls.hpp"

namespace iocpnet {

int Port::listen(const char *host, uint16_t tcp_port, const ConnOpts &o, uint64_t *out) {
    if (stopping.load()) return fail(IOCPNET_E_SHUTTING_DOWN, "the port is being destroyed");
    Addr a;
    int rc = net_resolve(host, tcp_port, true, &a);
    if (rc != IOCPNET_OK) return rc;
    BSock *s = nullptr;
    rc = be->listen(a, 4096, &s);
    if (rc != IOCPNET_OK) return rc;
    auto *l = new Listener;
    l->sock = s;
    l->opts = o;
    net_local_port(s->fd, &l->port);
    s->ctx = l;
    s->worker = pick_worker();
    {
        // Registered under the lock destroy takes to set `stopping` and list
        // the listeners: destroy either sees this one or this call fails.
        std::lock_guard<std::mutex> lk(lst_mu);
        if (stopping.load()) {
            be->release(s);
            delete l;
            return fail(IOCPNET_E_SHUTTING_DOWN, "the port is being destroyed");
        }
        l->id = next_listener++;
        listeners[l->id] = l;
        l->tasks++;
    }
    l->opts.server_name = nullptr;
    if (l->opts.tls) l->opts.tls->ref(); // released with the listener
    live_listeners.fetch_add(1);
    *out = l->id;
    Task t{};
    t.kind = Task::listen;
    t.lst = l;
    push_task(s->worker, t); // cannot fail: workers stop only after every listener is gone
    return IOCPNET_OK;
}

int Port::listener_port(uint64_t id, uint16_t *out) {
    std::lock_guard<std::mutex> lk(lst_mu);
    auto it = listeners.find(id);
    if (it == listeners.end()) return fail(IOCPNET_E_NOT_FOUND, "no listener %llu", (unsigned long long)id);
    *out = it->second->port;
    return IOCPNET_OK;
}

int Port::unlisten(uint64_t id) {
    Listener *l;
    {
        std::lock_guard<std::mutex> lk(lst_mu);
        auto it = listeners.find(id);
        if (it == listeners.end()) return fail(IOCPNET_E_NOT_FOUND, "no listener %llu", (unsigned long long)id);
        l = it->second;
        listeners.erase(it);
        l->tasks++; // before `closing`: the owner frees a closing listener once no task names it
        l->closing.store(true);
    }
    Task t{};
    t.kind = Task::unlisten;
    t.lst = l;
    push_task(l->sock->worker, t);
    return IOCPNET_OK;
}

void Port::listener_task(const Task &t) {
    Listener *l = t.lst;
    if (t.kind == Task::listen) {
        if (l->closing.load()) {
            l->st = Listener::St::done; // unlisten came first: never armed
        } else {
            l->st = Listener::St::accepting;
            be->accept(l->sock);
        }
    } else if (l->st == Listener::St::accepting) {
        l->st = Listener::St::cancelling; // the accept stream's final completion frees it
        be->cancel(l->sock);
    }
    l->tasks--;
    listener_maybe_free(l);
}

void Port::listener_maybe_free(Listener *l) {
    if (!l->closing.load() || l->st != Listener::St::done || l->tasks.load() != 0) return;
    be->release(l->sock);
    if (l->opts.tls) l->opts.tls->unref();
    delete l;
    live_listeners.fetch_sub(1);
    std::lock_guard<std::mutex> lk(lst_mu);
    drained.notify_all();
}

void Port::on_accept_completion(const Completion &cp) {
    auto *l = static_cast<Listener *>(cp.ctx);
    if (cp.done) {
        l->st = Listener::St::done;
        listener_maybe_free(l);
        return;
    }
    if (cp.res < 0) {
        log(IOCPNET_LOG_WARN, "accept failed: %s", iocpnet_strerror(cp.res));
        return;
    }
    BSock *s = cp.accepted;
    // Counted before the `stopping` check: destroy either sweeps this
    // connection or it is refused here.
    uint32_t live = live_conns.fetch_add(1) + 1;
    const char *refuse = nullptr;
    if (l->closing.load() || stopping.load()) refuse = "";
    else if (max_conns && live > max_conns) refuse = "max_connections reached: closing a new connection";
    TlsSession *ts = nullptr;
    if (!refuse && l->opts.tls && TlsSession::create(l->opts.tls, nullptr, &ts) != IOCPNET_OK)
        refuse = "no memory for a TLS session: closing a new connection";
    std::unique_lock<std::mutex> lk;
    Conn *c = refuse ? nullptr : new_slot(l->opts.framing, l->opts.max_message, ts, false, &lk);
    if (!c) { // a refusal made no TLS session
        if (!refuse) refuse = "no memory for a new connection: closing it";
        be->release(s);
        uncount_conn();
        if (*refuse) log(IOCPNET_LOG_WARN, "%s", refuse);
        return;
    }
    WorkerStats::add(owner().stats.accepted, 1);
    c->id.store(id_layout::make(c->slot, ++c->gen), std::memory_order_release);
    c->life.store(Life::accepted, std::memory_order_release);
    c->sock = s;
    c->worker = uint16_t(pick_worker());
    s->worker = c->worker;
    s->ctx = c;
    c->listener = l->id;
    c->opts = l->opts;
    // The peer as accept saw it: after a reset the socket no longer knows.
    c->peer = cp.peer;
    if (!c->peer.family) net_sock_addr(s->fd, true, &c->peer);
    net_sock_addr(s->fd, false, &c->local);
    net_set_nodelay(s->fd, l->opts.nodelay);
    if (l->opts.keepalive_s) net_set_keepalive(s->fd, l->opts.keepalive_s);
    queue_task(c, Task::start);
}

} // namespace iocpnet
