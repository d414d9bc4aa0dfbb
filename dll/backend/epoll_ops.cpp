// The epoll backend's operations: socket creation and release, the submit
// calls, and the readiness handlers that perform the I/O and make the
// completions. Submit calls never deliver inline: what they finish at once
// goes onto the owner's ready list for the next wait().
#include "epoll_backend.hpp"
#include "net_posix.hpp"
#include "../errors.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <netinet/in.h>
#include <new>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace iocpnet {

namespace {
constexpr int kAcceptBatch = 32; // accepts per listener per wait round

int wrap(int fd, BSock **out) {
    auto *s = new (std::nothrow) EpollSock;
    if (!s) {
        close(fd);
        return fail(IOCPNET_E_NO_MEMORY, "out of memory for a socket");
    }
    s->fd = fd;
    *out = s;
    return IOCPNET_OK;
}

} // namespace

// ---------------------------------------------------------------- any thread

int EpollBackend::listen(const Addr &a, int backlog, BSock **out) {
    int fd;
    int rc = net_listen_socket(a, backlog, &fd);
    if (rc != IOCPNET_OK) return rc;
    return wrap(fd, out);
}

int EpollBackend::open_stream(const Addr &a, BSock **out) {
    int fd;
    int rc = net_stream_socket(a.family(), &fd);
    if (rc != IOCPNET_OK) return rc;
    return wrap(fd, out);
}

void EpollBackend::release(BSock *bs) {
    auto *s = static_cast<EpollSock *>(bs);
    if (!s) return;
    // Nothing is pending, so the socket is normally out of the set already.
    if (s->interest && s->worker < nworkers_)
        epoll_ctl(workers_[s->worker]->epfd, EPOLL_CTL_DEL, int(s->fd), nullptr);
    if (s->fd != kNoSock) close(int(s->fd));
    delete s;
}

// ---------------------------------------------------------------- owner

void EpollBackend::accept(BSock *bs) {
    auto *s = static_cast<EpollSock *>(bs);
    s->accept_armed = true;
    update_interest(s);
}

void EpollBackend::connect(BSock *bs, const Addr &peer) {
    auto *s = static_cast<EpollSock *>(bs);
    int rc = ::connect(int(s->fd), reinterpret_cast<const sockaddr *>(peer.bytes), peer.len);
    // EINTR: the connection is still being set up asynchronously (POSIX).
    if (rc != 0 && (errno == EINPROGRESS || errno == EINTR)) {
        s->connecting = true;
        update_interest(s);
        return;
    }
    int e = rc == 0 ? 0 : errno;
    if (e) log(IOCPNET_LOG_DEBUG, "epoll: connect (fd %d): %s", int(s->fd), strerror(e));
    queue(s, make(Op::connect, true, e ? net_error(e) : 0, s));
}

void EpollBackend::recv(BSock *bs) {
    auto *s = static_cast<EpollSock *>(bs);
    s->recv_armed = true;
    update_interest(s);
}

void EpollBackend::recv_done(const Completion &c) {
    if (c.op != Op::recv || c.buf == UINT32_MAX) return;
    owner(static_cast<EpollSock *>(c.sock)).pool.put(c.buf);
}

void EpollBackend::recv_stop(BSock *bs) {
    auto *s = static_cast<EpollSock *>(bs);
    if (!s->recv_armed) return;
    s->recv_armed = false;
    update_interest(s);
    queue(s, make(Op::recv, true, kRecvStopped, s));
}

void EpollBackend::send(BSock *bs, const IoVec *iov, unsigned n) {
    auto *s = static_cast<EpollSock *>(bs);
    EpollWorker &w = owner(s);
    unsigned used = net_iovecs(iov, n, w.iov, IOV_MAX);
    Completion c;
    if (try_send(s, w.iov, used, &c)) {
        queue(s, c);
        return;
    }
    // The socket is full: keep a copy of the iovecs (the core's array is
    // gone after this call) until it is writable again.
    EpollSendMem *m = w.free_send;
    if (m) w.free_send = m->next;
    else if (!(m = new (std::nothrow) EpollSendMem)) return queue(s, make(Op::send, true, IOCPNET_E_NO_MEMORY, s));
    m->n = used < EpollSendMem::kIov ? used : EpollSendMem::kIov; // fewer is a partial send
    memcpy(m->iov, w.iov, m->n * sizeof(iovec));
    s->send_wait = m;
    update_interest(s);
}

// The core's inline send: the common case of a connection with nothing
// queued costs one sendmsg and no completion, no epoll round and no copy.
long EpollBackend::send_now(BSock *bs, const IoVec *iov, unsigned n) {
    auto *s = static_cast<EpollSock *>(bs);
    if (s->send_wait) return kSendLater; // not by the contract; kept safe anyway
    EpollWorker &w = owner(s);
    n = net_iovecs(iov, n, w.iov, IOV_MAX); // fewer is a partial write: the core queues the rest
    // No log on failure: the caller holds a connection's lock and the log hook
    // is user code. The send the core submits next fails too, and logs.
    return net_write_now(int(s->fd), w.iov, n);
}

void EpollBackend::cancel(BSock *bs) {
    auto *s = static_cast<EpollSock *>(bs);
    fail_pending(s, IOCPNET_E_SHUTTING_DOWN);
    update_interest(s); // nothing pending: leaves the set
}

// ---------------------------------------------------------------- readiness

bool EpollBackend::try_send(EpollSock *s, const iovec *iov, unsigned n, Completion *c) {
    long r = 0; // nothing to write completes with 0 bytes
    size_t total = 0;
    for (unsigned i = 0; i < n; i++) total += iov[i].iov_len;
    if (total > 0 && (r = net_write_now(int(s->fd), iov, n)) == kSendLater) return false;
    if (r < 0) log(IOCPNET_LOG_DEBUG, "epoll: send (fd %d): %s", int(s->fd), strerror(errno));
    *c = make(Op::send, true, int(r), s);
    return true;
}

void EpollBackend::finish_connect(EpollSock *s, uint32_t ev, Out &o) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(int(s->fd), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    // A hang-up without writability and without a recorded error: the
    // connection did not come up.
    if (err == 0 && !(ev & EPOLLOUT)) err = ECONNRESET;
    s->connecting = false;
    if (err) log(IOCPNET_LOG_DEBUG, "epoll: connect (fd %d): %s", int(s->fd), strerror(err));
    o.put(make(Op::connect, true, err ? net_error(err) : 0, s));
}

void EpollBackend::do_recv(EpollWorker &w, EpollSock *s, Out &o) {
    int idx = w.pool.get();
    if (idx < 0) return; // no buffer free: level-triggered, it comes back next round
    uint8_t *b = w.pool.data(uint32_t(idx));
    ssize_t r;
    do r = ::recv(int(s->fd), b, RecvPool::kSize, 0);
    while (r < 0 && errno == EINTR);
    int e = errno;
    if (r > 0) {
        Completion c = make(Op::recv, false, int(r), s);
        c.data = b;
        c.buf = uint32_t(idx);
        o.put(c);
        return;
    }
    w.pool.put(uint32_t(idx));
    if (r < 0 && (e == EAGAIN || e == EWOULDBLOCK)) return; // spurious readiness
    s->recv_armed = false;
    if (r < 0) log(IOCPNET_LOG_DEBUG, "epoll: recv (fd %d): %s", int(s->fd), strerror(e));
    o.put(make(Op::recv, true, r == 0 ? 0 : net_error(e), s));
}

void EpollBackend::do_accept(EpollWorker &w, EpollSock *s, Out &o) {
    for (int i = 0; i < kAcceptBatch && o.room(); i++) {
        Addr peer;
        socklen_t plen = sizeof peer.bytes;
        int fd = accept4(int(s->fd), reinterpret_cast<sockaddr *>(peer.bytes), &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            auto *ns = new (std::nothrow) EpollSock;
            if (!ns) {
                close(fd);
                o.put(make(Op::accept, false, IOCPNET_E_NO_MEMORY, s));
                return;
            }
            ns->fd = fd;
            Completion c = make(Op::accept, false, 0, s);
            c.accepted = ns;
            net_addr_from(peer, &c.peer);
            o.put(c);
            continue;
        }
        int e = errno;
        if (e == EAGAIN || e == EWOULDBLOCK) return;
        switch (net_accept_fault(e)) {
        case AcceptFault::retry:
            continue;
        case AcceptFault::pause:
            // The listener stays readable: stop polling it for a while
            // instead of spinning.
            log(IOCPNET_LOG_WARN, "epoll: accept (fd %d): %s; pausing the listener for %d ms", int(s->fd),
                strerror(e), kAcceptPauseMs);
            o.put(make(Op::accept, false, net_error(e), s));
            s->accept_paused = true;
            s->resume_at_ms = mono_ms() + kAcceptPauseMs;
            w.paused.push_back(s);
            return; // on_event drops EPOLLIN from the interest
        case AcceptFault::fatal:
            s->accept_armed = false;
            log(IOCPNET_LOG_ERROR, "epoll: accept (fd %d): %s; the listener stops", int(s->fd), strerror(e));
            o.put(make(Op::accept, true, net_error(e), s));
            return;
        }
    }
}

void EpollBackend::on_event(EpollWorker &w, EpollSock *s, uint32_t ev, Out &o) {
    const uint32_t bad = EPOLLERR | EPOLLHUP;
    if (s->connecting && (ev & (EPOLLOUT | bad)) && o.room()) finish_connect(s, ev, o);
    // HUP/ERR/RDHUP go through a read too: it returns the remaining bytes,
    // then 0 or the error, which ends the recv. The read goes before the
    // send so that a reset is reported by it, not consumed by the send.
    if (s->recv_armed && (ev & (EPOLLIN | EPOLLRDHUP | bad)) && o.room()) do_recv(w, s, o);
    if (s->send_wait && (ev & (EPOLLOUT | bad)) && o.room()) {
        Completion c;
        if (try_send(s, s->send_wait->iov, s->send_wait->n, &c)) {
            put_send_mem(w, s->send_wait);
            s->send_wait = nullptr;
            o.put(c);
        }
    }
    if (s->accept_armed && !s->accept_paused && (ev & (EPOLLIN | bad))) do_accept(w, s, o);
    update_interest(s);
}

} // namespace iocpnet
