// The epoll backend's machinery: per-worker epoll sets and eventfds, wake,
// the ready list, interest bookkeeping and wait(). The operations themselves
// are in epoll_ops.cpp.
#include "epoll_backend.hpp"
#include "../errors.hpp"

#include <cerrno>
#include <cstring>
#include <new>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace iocpnet {

// ---------------------------------------------------------------- workers

EpollWorker::~EpollWorker() {
    while (EpollSendMem *m = free_send) {
        free_send = m->next;
        delete m;
    }
    if (epfd >= 0) close(epfd);
    if (efd >= 0) close(efd);
}

EpollBackend::EpollBackend(unsigned workers) : nworkers_(workers) {}

EpollBackend::~EpollBackend() = default;

int EpollBackend::init() {
    workers_.reserve(nworkers_);
    for (unsigned i = 0; i < nworkers_; i++) {
        auto w = std::make_unique<EpollWorker>();
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (w->epfd < 0) return fail(net_error(errno), "epoll_create1: %s", strerror(errno));
        w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w->efd < 0) return fail(net_error(errno), "eventfd: %s", strerror(errno));
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = nullptr; // the eventfd; sockets are never null
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->efd, &ev) != 0)
            return fail(net_error(errno), "epoll_ctl(eventfd): %s", strerror(errno));
        w->ready.reserve(256);
        workers_.push_back(std::move(w));
    }
    return IOCPNET_OK;
}

int epoll_create(unsigned workers, std::unique_ptr<Backend> *out) {
    if (workers == 0) return fail(IOCPNET_E_INVALID_ARG, "epoll backend: 0 workers");
    try {
        auto b = std::make_unique<EpollBackend>(workers);
        int rc = b->init();
        if (rc != IOCPNET_OK) return rc;
        *out = std::move(b);
        log(IOCPNET_LOG_DEBUG, "epoll backend: %u worker(s)", workers);
        return IOCPNET_OK;
    } catch (const std::bad_alloc &) {
        return fail(IOCPNET_E_NO_MEMORY, "epoll backend: out of memory");
    }
}

uint32_t EpollBackend::kind() const { return IOCPNET_BACKEND_EPOLL; }

void EpollBackend::wake(unsigned w) {
    if (w >= nworkers_) return;
    EpollWorker &wk = *workers_[w];
    // Only the first wake since the worker last drained the eventfd writes it.
    if (wk.wake_pending.exchange(true, std::memory_order_acq_rel)) return;
    uint64_t one = 1;
    ssize_t r;
    do r = write(wk.efd, &one, sizeof one);
    while (r < 0 && errno == EINTR);
    // EAGAIN means the counter is saturated: the eventfd is readable anyway.
}

// ---------------------------------------------------------------- helpers

Completion EpollBackend::make(Op op, bool done, int res, EpollSock *s) {
    Completion c{};
    c.op = op;
    c.done = done;
    c.res = res;
    c.ctx = s->ctx;
    c.sock = s;
    c.accepted = nullptr;
    c.data = nullptr;
    c.buf = UINT32_MAX;
    return c;
}

void EpollBackend::queue(EpollSock *s, const Completion &c) {
    // A push_back of a few dozen bytes; if even that fails there is no way to
    // report the completion, and losing it would hang the connection forever.
    owner(s).ready.push_back(c);
}

void EpollBackend::put_send_mem(EpollWorker &w, EpollSendMem *m) {
    m->next = w.free_send;
    w.free_send = m;
}

void EpollBackend::fail_pending(EpollSock *s, int res) {
    if (s->recv_armed) queue(s, make(Op::recv, true, res, s));
    if (s->send_wait) {
        put_send_mem(owner(s), s->send_wait);
        s->send_wait = nullptr;
        queue(s, make(Op::send, true, res, s));
    }
    if (s->connecting) queue(s, make(Op::connect, true, res, s));
    if (s->accept_armed) queue(s, make(Op::accept, true, res, s));
    if (s->accept_paused) {
        auto &p = owner(s).paused;
        for (size_t i = 0; i < p.size(); i++)
            if (p[i] == s) { p[i] = p.back(); p.pop_back(); break; }
    }
    s->recv_armed = s->connecting = s->accept_armed = s->accept_paused = false;
}

void EpollBackend::update_interest(EpollSock *s) {
    uint32_t want = 0;
    // RDHUP only with IN: level-triggered, it would otherwise fire forever on
    // a half-closed socket nobody reads.
    if (s->recv_armed) want |= EPOLLIN | EPOLLRDHUP;
    if (s->accept_armed && !s->accept_paused) want |= EPOLLIN;
    if (s->send_wait || s->connecting) want |= EPOLLOUT;
    if (want == s->interest) return;
    EpollWorker &w = owner(s);
    int rc;
    if (want == 0) {
        // Leave the set entirely: even an empty mask reports EPOLLHUP/EPOLLERR,
        // and an unregistered socket can be released from any thread safely.
        rc = epoll_ctl(w.epfd, EPOLL_CTL_DEL, int(s->fd), nullptr);
        s->interest = 0;
        if (rc != 0) log(IOCPNET_LOG_WARN, "epoll_ctl(DEL, fd %d): %s", int(s->fd), strerror(errno));
        return;
    }
    epoll_event ev{};
    ev.events = want;
    ev.data.ptr = s;
    rc = epoll_ctl(w.epfd, s->interest ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, int(s->fd), &ev);
    if (rc == 0) {
        s->interest = want;
        return;
    }
    int err = errno;
    log(IOCPNET_LOG_ERROR, "epoll_ctl(fd %d): %s", int(s->fd), strerror(err));
    if (s->interest) epoll_ctl(w.epfd, EPOLL_CTL_DEL, int(s->fd), nullptr);
    s->interest = 0;
    fail_pending(s, net_error(err));
}

void EpollBackend::resume_paused(EpollWorker &w, int *timeout_ms) {
    if (w.paused.empty()) return;
    int64_t now = mono_ms();
    for (size_t i = 0; i < w.paused.size();) {
        EpollSock *s = w.paused[i];
        if (s->resume_at_ms <= now) {
            w.paused[i] = w.paused.back();
            w.paused.pop_back();
            s->accept_paused = false;
            update_interest(s);
            continue;
        }
        // Wake up in time to resume it, whatever the caller's timeout.
        int64_t left = s->resume_at_ms - now + 1;
        if (*timeout_ms < 0 || left < *timeout_ms) *timeout_ms = int(left);
        i++;
    }
}

// ---------------------------------------------------------------- wait

int EpollBackend::wait(unsigned wi, Completion *out, unsigned max, int timeout_ms) {
    if (wi >= nworkers_ || max == 0) return 0;
    EpollWorker &w = *workers_[wi];
    Out o{out, 0, max};

    // Completions made since the last wait go first, in the order they were made.
    while (o.room() && w.ready_head < w.ready.size()) o.put(w.ready[w.ready_head++]);
    if (w.ready_head == w.ready.size()) {
        w.ready.clear();
        w.ready_head = 0;
    }
    if (!o.room()) return int(o.n);

    resume_paused(w, &timeout_ms);
    // Something to return (or resumed listeners' cancels queued): don't block.
    if (o.n > 0 || w.ready_head < w.ready.size()) timeout_ms = 0;

    constexpr unsigned kMaxEvents = 128;
    epoll_event evs[kMaxEvents];
    unsigned room = o.max - o.n;
    int k = epoll_wait(w.epfd, evs, int(room < kMaxEvents ? room : kMaxEvents), timeout_ms);
    if (k < 0) {
        if (errno != EINTR) log(IOCPNET_LOG_ERROR, "epoll_wait: %s", strerror(errno));
        return int(o.n);
    }
    for (int i = 0; i < k; i++) {
        auto *s = static_cast<EpollSock *>(evs[i].data.ptr);
        if (!s) {
            // Drain, then clear. Clearing first would lose wakes: a wake()
            // between the clear and the read writes again, the read drains
            // it, and the flag stays set with the eventfd empty, so every
            // later wake() is suppressed while the worker sleeps. In this
            // order a wake() that still sees the flag set came before this
            // wait returned, and its task is run by the core right after.
            uint64_t v;
            while (read(w.efd, &v, sizeof v) < 0 && errno == EINTR) {
            }
            w.wake_pending.store(false, std::memory_order_seq_cst);
            continue;
        }
        on_event(w, s, evs[i].events, o);
    }
    // Items put on the ready list during dispatch (none today) wait for the
    // next call, which will not block because the list is non-empty.
    return int(o.n);
}

} // namespace iocpnet
