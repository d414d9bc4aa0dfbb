#include "port.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "errors.hpp"

namespace iocpnet {

thread_local WorkerTls t_worker;

int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

static bool heap_cmp(const std::pair<int64_t, Conn *> &a, const std::pair<int64_t, Conn *> &b) {
    return a.first > b.first; // min-heap
}

int Port::init(const iocpnet_config &cfg, const iocpnet_callbacks *cbs, void *user) {
    unsigned hw = std::thread::hardware_concurrency();
    nworkers = cfg.worker_threads ? cfg.worker_threads : (hw ? hw : 1);
    if (nworkers > 256) return fail(IOCPNET_E_INVALID_ARG, "worker_threads %u is above 256", nworkers);
    if (cfg.max_send_queue_bytes) max_queue = cfg.max_send_queue_bytes;
    max_conns = cfg.max_connections;
    defaults.idle_ms = cfg.idle_timeout_ms;
    defaults.connect_ms = cfg.connect_timeout_ms;
    defaults.nodelay = cfg.tcp_nodelay != 0;
    defaults.keepalive_s = cfg.keepalive_s;
    uint32_t kind = cfg.backend;
    if (kind == IOCPNET_BACKEND_AUTO) { // the environment may name one: one test command per backend
        if (const char *env = getenv("IOCPNET_BACKEND")) {
            if (!strcmp(env, "epoll")) kind = IOCPNET_BACKEND_EPOLL;
            else if (!strcmp(env, "io_uring")) kind = IOCPNET_BACKEND_IO_URING;
            else if (!strcmp(env, "iocp")) kind = IOCPNET_BACKEND_IOCP;
        }
    }
    int rc = backend_create(kind, nworkers, &be);
    if (rc != IOCPNET_OK) return rc;
    any_thread = false;
    set_callbacks(cbs, user);
    static const char *const names[] = {"auto", "iocp", "io_uring", "epoll"};
    log(IOCPNET_LOG_INFO, "port created: %s backend, %u worker threads", names[be->kind() & 3], nworkers);
    for (unsigned w = 0; w < nworkers; ++w) workers.emplace_back(new Worker);
    for (unsigned w = 0; w < nworkers; ++w) {
        try {
            workers[w]->thread = std::thread(&Port::worker_main, this, w);
        } catch (const std::exception &e) {
            return fail(IOCPNET_E_SYSTEM, "cannot start worker thread: %s", e.what());
        }
    }
    return IOCPNET_OK;
}

Port::~Port() {
    stop_workers.store(true);
    for (unsigned w = 0; w < workers.size(); ++w) {
        if (be) be->wake(w);
    }
    for (auto &w : workers)
        if (w->thread.joinable()) w->thread.join();
}

void Port::set_callbacks(const iocpnet_callbacks *cbs, void *user) {
    auto set = std::make_unique<CallbackSet>();
    memset(&set->cb, 0, sizeof set->cb);
    if (cbs) memcpy(&set->cb, cbs, std::min<size_t>(cbs->struct_size, sizeof set->cb));
    set->cb.struct_size = sizeof set->cb;
    set->user = user;
    std::lock_guard<std::mutex> lk(cbs_mu);
    cbs_.store(set.get(), std::memory_order_release);
    cb_history.push_back(std::move(set));
}

// ------------------------------------------------------------------ workers

bool Port::on_worker() const { return t_worker.port == this; }

bool Port::can_submit(const Conn *c) const {
    return any_thread || (t_worker.port == this && t_worker.index == c->worker);
}

void Port::push_task(unsigned w, const Task &t) {
    Worker &wk = *workers[mailbox_of(w)];
    bool was_empty;
    {
        std::lock_guard<std::mutex> lk(wk.mu);
        was_empty = wk.tasks.empty();
        wk.tasks.push_back(t);
    }
    // A non-empty mailbox always has a wake outstanding: the worker drains
    // it after every wait, so only the first task needs to wake it.
    if (was_empty) be->wake(w);
}

void Port::run_tasks(unsigned w) {
    Worker &wk = *workers[mailbox_of(w)];
    std::vector<Task> batch;
    {
        std::lock_guard<std::mutex> lk(wk.mu);
        batch.swap(wk.tasks);
    }
    for (Task &t : batch) {
        try {
            switch (t.kind) {
            case Task::start: start_conn(t.conn, t.id); break;
            case Task::connect: start_connect(t.conn, t.id, t.addr); break;
            case Task::close_cb: deliver_close(t.conn, t.id); break;
            case Task::pump: {
                std::unique_lock<std::mutex> lk(t.conn->mu);
                t.conn->pump_queued = false;
                pump(t.conn, lk);
                unref(t.conn, lk);
                break;
            }
            case Task::post: t.fn(t.arg); break;
            case Task::listen: be->accept(t.lst->sock); break;
            case Task::unlisten: be->cancel(t.lst->sock); break;
            }
        } catch (const std::exception &e) {
            log(IOCPNET_LOG_ERROR, "worker task failed: %s", e.what());
        } catch (...) {
            log(IOCPNET_LOG_ERROR, "worker task failed");
        }
    }
}

void Port::arm_timer(Conn *c, int64_t at) {
    if (!at || (c->timer_at && c->timer_at <= at)) return;
    c->timer_at = at;
    Worker &wk = *workers[mailbox_of(c->worker)];
    std::lock_guard<std::mutex> lk(wk.mu);
    wk.timers.emplace_back(at, c);
    std::push_heap(wk.timers.begin(), wk.timers.end(), heap_cmp);
    // A worker that serves this heap may sleep with a longer timeout: wake one
    // to recompute, unless this thread is one (it recomputes before waiting).
    bool serves = t_worker.port == this && (any_thread || t_worker.index == c->worker);
    if (!serves) be->wake(c->worker);
}

// Timers live beside the mailboxes: per worker, or (IOCP, where any worker
// may be the one woken) one heap that every worker serves.
int Port::next_timeout(unsigned w) {
    Worker &wk = *workers[mailbox_of(w)];
    std::lock_guard<std::mutex> lk(wk.mu);
    if (wk.timers.empty()) return -1;
    int64_t d = wk.timers.front().first - now_ms();
    return d <= 0 ? 0 : int(std::min<int64_t>(d, INT_MAX));
}

void Port::run_timers(unsigned w) {
    Worker &wk = *workers[mailbox_of(w)];
    std::vector<std::pair<int64_t, Conn *>> due;
    int64_t now = now_ms();
    {
        std::lock_guard<std::mutex> lk(wk.mu);
        while (!wk.timers.empty() && wk.timers.front().first <= now) {
            std::pop_heap(wk.timers.begin(), wk.timers.end(), heap_cmp);
            due.push_back(wk.timers.back());
            wk.timers.pop_back();
        }
    }
    for (auto &e : due) {
        std::unique_lock<std::mutex> lk(e.second->mu);
        if (e.second->timer_at == e.first) e.second->timer_at = 0;
        lk.unlock();
        on_conn_timer(e.second);
    }
}

void Port::worker_main(unsigned w) {
    t_worker = WorkerTls{this, w};
    Completion batch[128];
    for (;;) {
        int n = be->wait(w, batch, 128, next_timeout(w));
        if (n < 0) {
            log(IOCPNET_LOG_ERROR, "worker %u: wait failed: %s", w, last_error());
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            n = 0;
        }
        for (int i = 0; i < n; ++i) {
            try {
                if (batch[i].op == Op::accept) on_accept_completion(batch[i]);
                else on_completion(batch[i]);
            } catch (const std::exception &e) {
                log(IOCPNET_LOG_ERROR, "completion failed: %s", e.what());
            } catch (...) {
                log(IOCPNET_LOG_ERROR, "completion failed");
            }
        }
        run_tasks(w);
        run_timers(w);
        if (stop_workers.load(std::memory_order_acquire)) {
            run_tasks(w); // posts accepted before destroy still run
            break;
        }
    }
    t_worker = WorkerTls{};
}

// ---------------------------------------------------------------- listeners

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
        std::lock_guard<std::mutex> lk(lst_mu);
        l->id = next_listener++;
        listeners[l->id] = l;
    }
    live_listeners.fetch_add(1);
    *out = l->id;
    Task t{};
    t.kind = Task::listen;
    t.lst = l;
    if (any_thread || (on_worker() && t_worker.index == s->worker)) be->accept(s);
    else push_task(s->worker, t);
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
        l->closing = true;
        listeners.erase(it);
    }
    // The listener is freed when its accept stream ends (on_accept_completion).
    if (any_thread || (on_worker() && t_worker.index == l->sock->worker)) be->cancel(l->sock);
    else {
        Task t{};
        t.kind = Task::unlisten;
        t.lst = l;
        push_task(l->sock->worker, t);
    }
    return IOCPNET_OK;
}

void Port::on_accept_completion(const Completion &cp) {
    auto *l = static_cast<Listener *>(cp.ctx);
    if (cp.done) {
        be->release(l->sock);
        delete l;
        live_listeners.fetch_sub(1);
        std::lock_guard<std::mutex> lk(lst_mu);
        drained.notify_all();
        return;
    }
    if (cp.res < 0) {
        log(IOCPNET_LOG_WARN, "accept failed: %s", iocpnet_strerror(cp.res));
        return;
    }
    BSock *s = cp.accepted;
    bool closing;
    ConnOpts o;
    uint64_t lid;
    {
        std::lock_guard<std::mutex> lk(lst_mu);
        closing = l->closing;
        o = l->opts;
        lid = l->id;
    }
    if (closing || stopping.load()) {
        be->release(s);
        return;
    }
    if (max_conns && live_conns.load() >= max_conns) {
        log(IOCPNET_LOG_WARN, "max_connections (%u) reached: closing a new connection", max_conns);
        be->release(s);
        return;
    }
    uint64_t id;
    Conn *c = conns.alloc(&id);
    if (!c) {
        log(IOCPNET_LOG_ERROR, "no memory for a new connection");
        be->release(s);
        return;
    }
    live_conns.fetch_add(1);
    n_accepted.fetch_add(1, std::memory_order_relaxed);
    std::unique_lock<std::mutex> lk(c->mu);
    c->port = this;
    c->sock = s;
    c->worker = s->worker = pick_worker();
    s->ctx = c;
    c->listener = lid;
    c->opts = o;
    c->dec.reset(o.framing, o.max_message);
    c->connected = true;
    c->notify_close = true;
    { NetAddr na; if (net_sock_addr(s->fd, true, &na) == 0) net_format(na, c->peer_addr, sizeof c->peer_addr);
      if (net_sock_addr(s->fd, false, &na) == 0) net_format(na, c->local_addr, sizeof c->local_addr); }
    net_set_nodelay(s->fd, o.nodelay);
    if (o.keepalive_s) net_set_keepalive(s->fd, o.keepalive_s);
    c->pending++; // the start task's reference
    if (can_submit(c)) {
        lk.unlock();
        start_conn(c, id);
    } else {
        Task t{};
        t.kind = Task::start;
        t.conn = c;
        t.id = id;
        push_task(c->worker, t);
    }
}

// ------------------------------------------------------------------ destroy

int Port::destroy() {
    if (on_worker()) return fail(IOCPNET_E_IN_CALLBACK, "iocpnet_port_destroy called on one of the port's own threads");
    stopping.store(true);
    std::vector<uint64_t> lids;
    {
        std::lock_guard<std::mutex> lk(lst_mu);
        for (auto &kv : listeners) lids.push_back(kv.first);
    }
    for (uint64_t id : lids) unlisten(id);
    // A connect racing with destroy may add a connection after a sweep, so
    // sweep again until nothing is left.
    for (;;) {
        for (uint32_t i = 0; i < conns.slots_used(); ++i) {
            Conn *c = conns.at(i);
            if (!c) continue;
            std::unique_lock<std::mutex> lk(c->mu);
            if (!c->id) continue;
            if (c->visible()) begin_close(c, c->connecting ? IOCPNET_E_SHUTTING_DOWN : IOCPNET_OK, true);
            else c->abort = true; // a graceful close still flushing or lingering: cut it short
            kick(c, lk);
        }
        std::unique_lock<std::mutex> lk(lst_mu);
        if (drained.wait_for(lk, std::chrono::milliseconds(100),
                             [&] { return live_conns.load() == 0 && live_listeners.load() == 0; }))
            break;
    }
    stop_workers.store(true);
    for (unsigned w = 0; w < nworkers; ++w) be->wake(w);
    for (auto &w : workers)
        if (w->thread.joinable()) w->thread.join();
    log(IOCPNET_LOG_INFO, "port destroyed: %llu connections served", (unsigned long long)n_closed.load());
    return IOCPNET_OK;
}

} // namespace iocpnet
