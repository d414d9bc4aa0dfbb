// Workers, their mailboxes and timers, callbacks, stats and destroy.
#include "port.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "errors.hpp"

namespace iocpnet {

thread_local WorkerTls t_worker;

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
    send_now_ok = be->sends_now();
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

Port::~Port() { // also the path of a failed init
    stop_workers.store(true);
    for (unsigned w = 0; w < workers.size(); ++w) be->wake(w);
    for (auto &w : workers)
        if (w->thread.joinable()) w->thread.join();
}

// ---------------------------------------------------------------- callbacks

void Port::set_callbacks(const iocpnet_callbacks *cbs, void *user) {
    CallbackSet set;
    memset(&set.cb, 0, sizeof set.cb);
    if (cbs) memcpy(&set.cb, cbs, std::min<size_t>(cbs->struct_size, sizeof set.cb));
    set.cb.struct_size = sizeof set.cb;
    set.user = user;
    std::lock_guard<std::mutex> lk(cbs_mu);
    cbs_ = set;
    cbs_version_.fetch_add(1, std::memory_order_release);
}

// Each worker keeps its own copy, refreshed when the version moved: a
// callback starting after set_callbacks returned sees the new set, and an
// old set needs no memory once every worker has moved on.
const CallbackSet &Port::callbacks() {
    Worker &wk = owner();
    uint64_t v = cbs_version_.load(std::memory_order_acquire);
    if (v != wk.cbs_version) {
        std::lock_guard<std::mutex> lk(cbs_mu);
        wk.cbs = cbs_;
        wk.cbs_version = cbs_version_.load(std::memory_order_relaxed);
    }
    return wk.cbs;
}

// ------------------------------------------------------------------ workers

bool Port::push_task(unsigned w, const Task &t) {
    Worker &wk = *workers[w];
    bool was_empty;
    {
        std::lock_guard<std::mutex> lk(wk.mu);
        if (wk.closed) return false;
        was_empty = wk.tasks.empty();
        wk.tasks.push_back(t);
    }
    // A non-empty mailbox always has a wake outstanding: the worker drains
    // it after every wait, so only the first task needs to wake it.
    if (was_empty) be->wake(w);
    return true;
}

int Port::post(void(IOCPNET_CALL *fn)(void *), void *arg) {
    if (stopping.load()) return fail(IOCPNET_E_SHUTTING_DOWN, "the port is being destroyed");
    Task t{};
    t.kind = Task::post;
    t.fn = fn;
    t.arg = arg;
    // A worker that already ran its final drain refuses the task: the post
    // fails instead of being lost.
    if (!push_task(pick_worker(), t)) return fail(IOCPNET_E_SHUTTING_DOWN, "the port is being destroyed");
    return IOCPNET_OK;
}

void Port::run_tasks(std::vector<Task> &batch) {
    for (Task &t : batch) {
        try {
            switch (t.kind) {
            case Task::post: t.fn(t.arg); break;
            case Task::timer: timer_push(owner(), t.id, t.at); break;
            case Task::listen:
            case Task::unlisten: listener_task(t); break;
            default: conn_task(t); break;
            }
        } catch (const std::exception &e) {
            log(IOCPNET_LOG_ERROR, "worker task failed: %s", e.what());
        } catch (...) {
            log(IOCPNET_LOG_ERROR, "worker task failed");
        }
    }
    batch.clear();
}

void Port::arm_timer(Conn *c, int64_t at) {
    if (!at || (c->timer_at && c->timer_at <= at)) return; // an earlier entry re-arms when it fires
    c->timer_at = at;
    Worker &wk = owner();
    wk.timers.push_back(TimerEntry{at, c, c->id.load(std::memory_order_relaxed)});
    std::push_heap(wk.timers.begin(), wk.timers.end());
}

int Port::next_timeout(Worker &wk) const {
    int64_t d = wk.trim_in; // spare send blocks to give back (BlockCache::trim); -1: none
    if (!wk.timers.empty()) {
        int64_t t = std::max<int64_t>(wk.timers.front().at - mono_ms(), 0); // overdue: at once
        d = d < 0 ? t : std::min(d, t);
    }
    return d < 0 ? -1 : int(std::min<int64_t>(d, INT_MAX));
}

void Port::run_timers(Worker &wk) {
    while (!wk.timers.empty() && wk.timers.front().at <= wk.now) {
        std::pop_heap(wk.timers.begin(), wk.timers.end());
        TimerEntry e = wk.timers.back();
        wk.timers.pop_back();
        if (!e.conn) {
            timer_fire(e.id, e.at);
            continue;
        }
        // A timer of an earlier incarnation of the slot is dropped: the slot
        // may now be another connection, possibly on another worker.
        if (e.conn->id.load(std::memory_order_acquire) != e.id) continue;
        if (e.conn->timer_at == e.at) e.conn->timer_at = 0;
        on_timer(e.conn);
    }
}

void Port::worker_main(unsigned w) {
    t_worker = WorkerTls{this, w};
    Worker &wk = *workers[w];
    Completion batch[128];
    std::vector<Task> tasks;
    for (;;) {
        int n = be->wait(w, batch, 128, next_timeout(wk));
        wk.now = mono_ms();
        wk.round++;
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
            SharedPayload::run_frees(); // buffers lent by iocpnet_send_owned, outside every lock
        }
        bool stop = stop_workers.load(std::memory_order_acquire);
        {
            std::lock_guard<std::mutex> lk(wk.mu);
            tasks.swap(wk.tasks);
            if (stop) wk.closed = true; // the final drain: later pushes fail
        }
        run_tasks(tasks);
        run_timers(wk);
        SharedPayload::run_frees();
        wk.trim_in = wk.blocks.trim(wk.now);
        if (stop) break;
    }
    t_worker = WorkerTls{};
}

void Port::stats(iocpnet_stats *s) const {
    int64_t q = 0;
    for (auto &w : workers) {
        const WorkerStats &ws = w->stats;
        s->connections_accepted += ws.accepted.load(std::memory_order_relaxed);
        s->connections_connected += ws.connected.load(std::memory_order_relaxed);
        s->connections_closed += ws.closed.load(std::memory_order_relaxed);
        s->bytes_received += ws.rx.load(std::memory_order_relaxed);
        s->bytes_sent += ws.tx.load(std::memory_order_relaxed);
        s->tls_handshakes_failed += ws.tls_failed.load(std::memory_order_relaxed);
        q += ws.queued.load(std::memory_order_relaxed);
    }
    s->send_queue_bytes = q > 0 ? uint64_t(q) : 0;
    s->connections_open = live_conns.load();
    s->backend = be->kind();
}

// ------------------------------------------------------------------ destroy

int Port::destroy() {
    if (on_worker()) return fail(IOCPNET_E_IN_CALLBACK, "iocpnet_port_destroy called on one of the port's own threads");
    std::vector<uint64_t> lids;
    {
        // Under lst_mu: a listen either registered before (and is in the
        // snapshot) or sees `stopping` and fails.
        std::lock_guard<std::mutex> lk(lst_mu);
        stopping.store(true);
        for (auto &kv : listeners) lids.push_back(kv.first);
    }
    timers_clear(); // timer_start checks `stopping` under the timers' lock: none starts after this
    for (uint64_t id : lids) unlisten(id);
    // A connect that passed its `stopping` check may still add a connection
    // after a sweep: sweep until nothing is left.
    for (;;) {
        for (uint32_t i = 0; i < conns.slots_used(); ++i) {
            Conn *c = conns.at(i);
            std::unique_lock<std::mutex> lk(c->mu);
            if (c->life.load(std::memory_order_acquire) == Life::free) continue;
            Life l = c->life.load(std::memory_order_acquire);
            int reason = l == Life::connecting ? IOCPNET_E_SHUTTING_DOWN : IOCPNET_OK;
            if (close_locked(c, reason, true)) request_drive(c, lk);
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
    iocpnet_stats s{};
    stats(&s);
    log(IOCPNET_LOG_INFO, "port destroyed: %llu connections served", (unsigned long long)s.connections_closed);
    return IOCPNET_OK;
}

} // namespace iocpnet
