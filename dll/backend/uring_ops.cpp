// io_uring backend, part 2: the operations (accept, connect, recv, send,
// cancel) and the translation of their CQEs into Completions.
#include "uring_backend.hpp"
#include "net_posix.hpp"
#include "../errors.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <new>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace iocpnet {
namespace {

UringSock *as_uring(BSock *b) { return static_cast<UringSock *>(b); }

void set_data(io_uring_sqe *sqe, UringSock *s, UringTag tag) { io_uring_sqe_set_data64(sqe, uint64_t(uintptr_t(s)) | tag); }

Completion make(Op op, bool done, int res, UringSock *s) {
    Completion c{};
    c.op = op;
    c.done = done;
    c.res = res;
    c.ctx = s->ctx;
    c.sock = s;
    return c;
}

// Re-arm starved receivers only once a few buffers are back, so a ring that
// hovers at empty does not churn through -ENOBUFS completions.
constexpr unsigned kMinFreeToRearm = 8;

} // namespace

// ------------------------------------------------------------- synthetic

// A final (done) completion made in user space: cancel of a parked op, or no
// SQE to submit with. Reported by the next wait() on the socket's worker.
void UringBackend::post_synth(UringSock *s, Op op, int res) {
    s->synth |= uint8_t(1u << unsigned(op));
    s->synth_res[unsigned(op)] = int32_t(res);
    if (!s->synth_link.linked()) wk(s).synth.push_back(&s->synth_link);
}

bool UringBackend::take_synth(UringWorker &w, Completion *c) {
    if (w.synth.empty()) return false;
    UringSock *s = w.synth.front();
    unsigned op = 0;
    while (!(s->synth & (1u << op))) op++;
    s->synth &= uint8_t(~(1u << op));
    if (!s->synth) UringList::unlink(&s->synth_link);
    *c = make(Op(op), true, s->synth_res[op], s);
    return true;
}

// ---------------------------------------------------------------- accept

void UringBackend::accept(BSock *b) {
    UringSock *s = as_uring(b);
    if (s->accept_st == UringOpState::idle) arm_accept(s);
}

void UringBackend::arm_accept(UringSock *s) {
    if (!s->accepts) {
        s->accepts = new (std::nothrow) UringAcceptMem[kAccepts];
        if (!s->accepts) return post_synth(s, Op::accept, IOCPNET_E_NO_MEMORY);
        for (unsigned i = 0; i < kAccepts; i++) s->accepts[i].listener = s;
    }
    for (unsigned i = 0; i < kAccepts; i++) {
        UringAcceptMem &m = s->accepts[i];
        if (m.armed) continue;
        io_uring_sqe *sqe = get_sqe(wk(s));
        if (!sqe) break;
        m.len = sizeof m.addr;
        io_uring_prep_accept(sqe, int(s->fd), reinterpret_cast<sockaddr *>(&m.addr), &m.len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
        io_uring_sqe_set_data64(sqe, uint64_t(uintptr_t(&m)) | kTagAccept);
        m.armed = true;
        s->accepts_armed++;
    }
    if (!s->accepts_armed) return post_synth(s, Op::accept, IOCPNET_E_SYSTEM);
    s->accept_st = UringOpState::armed;
}

// Re-arms listeners whose EMFILE back-off expired; returns the wait timeout
// shortened to the next expiry.
int UringBackend::unpark_accept(UringWorker &w, int timeout_ms) {
    if (w.backoff.empty()) return timeout_ms;
    int64_t now = mono_ms(), next = INT64_MAX;
    for (UringLink *l = w.backoff.head.next; l != &w.backoff.head;) {
        UringLink *following = l->next;
        UringSock *s = l->owner;
        if (s->park_until_ms <= now) {
            UringList::unlink(l);
            s->accept_st = UringOpState::idle;
            arm_accept(s);
        } else {
            next = std::min(next, s->park_until_ms);
        }
        l = following;
    }
    if (next == INT64_MAX) return timeout_ms;
    int cap = int(next - now);
    return (timeout_ms < 0 || timeout_ms > cap) ? cap : timeout_ms;
}

bool UringBackend::on_accept_cqe(UringAcceptMem *m, const io_uring_cqe *cqe, Completion *c) {
    UringSock *s = m->listener;
    int res = cqe->res;
    m->armed = false;
    s->accepts_armed--;
    AcceptFault fault = res >= 0 ? AcceptFault::retry
                        : (res == -ECANCELED || s->cancelling) ? AcceptFault::fatal
                                                                : net_accept_fault(-res);
    bool has = true;
    if (res >= 0) {
        auto *ns = new (std::nothrow) UringSock;
        if (ns) {
            ns->fd = res;
            *c = make(Op::accept, false, 0, s);
            c->accepted = ns;
            Addr a;
            memcpy(a.bytes, &m->addr, std::min(sizeof a.bytes, sizeof m->addr));
            a.len = m->len;
            net_addr_from(a, &c->peer);
        } else {
            close(res);
            *c = make(Op::accept, false, IOCPNET_E_NO_MEMORY, s);
        }
    } else if (fault == AcceptFault::retry) {
        has = false; // the new connection's own trouble: nobody's business
    } else if (fault == AcceptFault::pause) {
        *c = make(Op::accept, false, net_error(res), s);
    } else {
        has = false; // the end is reported once, when the last accept is back
    }
    if (fault == AcceptFault::retry && !s->cancelling) {
        if (s->accept_st == UringOpState::armed) arm_accept(s); // this slot again; a parked stream re-arms later
        return has;
    }
    if (fault == AcceptFault::pause && !s->cancelling) {
        // Out of descriptors: the connection waits in the backlog. Re-arm
        // after a back-off (the slots still armed wait for new connections).
        if (s->accept_st != UringOpState::parked) {
            s->accept_st = UringOpState::parked;
            s->park_until_ms = mono_ms() + kAcceptPauseMs;
            wk(s).backoff.push_back(&s->park);
        }
        return has;
    }
    if (!s->cancelling) cancel(s); // a fatal error: bring the other slots back too
    if (s->accepts_armed) return has; // the last one back ends the stream
    UringList::unlink(&s->park);
    s->accept_st = UringOpState::idle;
    if (has) {
        post_synth(s, Op::accept, IOCPNET_E_SHUTTING_DOWN);
        return true;
    }
    *c = make(Op::accept, true, s->cancelling || res >= 0 ? IOCPNET_E_SHUTTING_DOWN : net_error(res), s);
    return true;
}

// --------------------------------------------------------------- connect

void UringBackend::connect(BSock *b, const Addr &peer) {
    UringSock *s = as_uring(b);
    // The kernel may read the address until the CQE; the caller's copy may
    // be gone by then. Held only while the connect is in flight.
    s->connect_to = new (std::nothrow) Addr(peer);
    if (!s->connect_to) return post_synth(s, Op::connect, IOCPNET_E_NO_MEMORY);
    io_uring_sqe *sqe = get_sqe(wk(s));
    if (!sqe) {
        end_connect(s);
        return post_synth(s, Op::connect, IOCPNET_E_SYSTEM);
    }
    io_uring_prep_connect(sqe, int(s->fd), reinterpret_cast<const sockaddr *>(s->connect_to->bytes),
                          s->connect_to->len);
    target(sqe, s);
    set_data(sqe, s, kTagConnect);
    s->connect_busy = true;
}

void UringBackend::end_connect(UringSock *s) {
    delete s->connect_to;
    s->connect_to = nullptr;
    s->connect_busy = false;
}

// ------------------------------------------------------------------ recv

void UringBackend::recv(BSock *b) {
    UringSock *s = as_uring(b);
    if (s->recv_st == UringOpState::idle) arm_recv(s);
}

void UringBackend::arm_recv(UringSock *s) {
    io_uring_sqe *sqe = get_sqe(wk(s));
    if (!sqe) return post_synth(s, Op::recv, IOCPNET_E_SYSTEM);
    io_uring_prep_recv_multishot(sqe, int(s->fd), nullptr, 0, 0);
    target(sqe, s);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBgid;
    set_data(sqe, s, kTagRecv);
    s->recv_st = UringOpState::armed;
}

void UringBackend::recv_done(const Completion &c) {
    if (c.op != Op::recv || c.res <= 0 || !c.sock) return;
    UringWorker &w = wk(as_uring(c.sock));
    w.bufs.give_back(c.buf);
    w.bufs.outstanding--;
    if (!w.starved.empty()) unpark_recv(w);
}

void UringBackend::recv_stop(BSock *b) {
    UringSock *s = as_uring(b);
    if (s->cancelling || s->recv_stopping) return;
    if (s->recv_st == UringOpState::parked) { // nothing in the kernel to cancel
        UringList::unlink(&s->park);
        s->recv_st = UringOpState::idle;
        post_synth(s, Op::recv, kRecvStopped);
        return;
    }
    if (s->recv_st != UringOpState::armed) return;
    io_uring_sqe *sqe = get_sqe(wk(s));
    if (!sqe) return; // the recv goes on; the core holds what it reads
    s->recv_stopping = true;
    io_uring_prep_cancel64(sqe, uint64_t(uintptr_t(s)) | kTagRecv, 0);
    io_uring_sqe_set_data64(sqe, kTagCancel);
}

// The end of a multishot recv the kernel finished by itself: the end a
// cancel or recv_stop asked for, or a fresh one.
void UringBackend::recv_ended(UringSock *s) {
    s->recv_st = UringOpState::idle;
    if (s->cancelling) post_synth(s, Op::recv, IOCPNET_E_SHUTTING_DOWN);
    else if (s->recv_stopping) s->recv_stopping = false, post_synth(s, Op::recv, kRecvStopped);
    else arm_recv(s);
}

void UringBackend::unpark_recv(UringWorker &w) {
    unsigned avail = w.bufs.available();
    if (avail < std::min(kMinFreeToRearm, w.bufs.entries)) return;
    // Oldest first; each re-armed socket has data waiting and takes >= 1 buffer.
    for (unsigned i = 0; i < avail && !w.starved.empty(); i++) {
        UringSock *s = w.starved.front();
        UringList::unlink(&s->park);
        s->recv_st = UringOpState::idle;
        arm_recv(s);
    }
}

bool UringBackend::on_recv_cqe(UringWorker &w, UringSock *s, const io_uring_cqe *cqe, Completion *c) {
    int res = cqe->res;
    bool more = cqe->flags & IORING_CQE_F_MORE;
    bool has_buf = cqe->flags & IORING_CQE_F_BUFFER;
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    if (res > 0 && has_buf) {
        w.bufs.outstanding++;
        *c = make(Op::recv, false, res, s);
        c->data = w.bufs.addr(bid);
        c->buf = bid;
        if (!more) recv_ended(s); // the kernel ended the multishot (e.g. CQ overflow)
        return true;
    }
    if (has_buf) w.bufs.give_back(bid); // a buffer with no bytes in it
    if (more) return false;             // nothing to report, still armed
    s->recv_st = UringOpState::idle;
    if (s->recv_stopping && !s->cancelling && (res == -ECANCELED || res == -ENOBUFS)) {
        s->recv_stopping = false;
        *c = make(Op::recv, true, kRecvStopped, s);
        return true;
    }
    s->recv_stopping = false; // an EOF or error came first: that is the end
    if (res == -ENOBUFS && !s->cancelling) {
        // The buffer ring ran dry; the bytes wait in the socket. Re-armed
        // when buffers come back (recv_done), not now: that would spin.
        s->recv_st = UringOpState::parked;
        w.starved.push_back(&s->park);
        w.bufs.grow();  // up to the ring's size
        unpark_recv(w); // buffers may have come back before this CQE was seen
        return false;
    }
    int code = res == 0 ? 0 : (res == -ENOBUFS ? IOCPNET_E_SHUTTING_DOWN : net_error(res));
    if (res > 0) code = IOCPNET_E_SYSTEM; // bytes without a buffer: cannot happen with BUFFER_SELECT
    *c = make(Op::recv, true, code, s);
    return true;
}

// ------------------------------------------------------------------ send

// Whether a send is large enough that a syscall of its own costs less than
// the ring's path (see send_now).
static bool big_send(const IoVec *iov, unsigned n) {
    size_t len = 0;
    for (unsigned i = 0; i < n && len < UringBackend::kNowMin; i++) len += iov[i].len;
    return len >= UringBackend::kNowMin;
}

void UringBackend::send(BSock *b, const IoVec *iov, unsigned n) {
    UringSock *s = as_uring(b);
    UringWorker &w = wk(s);
    if (n == 0) return post_synth(s, Op::send, 0);
    bool full = false; // the socket was just found full
    // A send rides along with the next wait's io_uring_enter for free, where
    // an inline one costs a syscall of its own: measured side by side, echo
    // (a send per completion) used ~20 % more CPU per message inline, while a
    // fan-out burst (one send_many to 999 sockets) used ~20 % less, its
    // queued payloads freed at once. So a send goes inline once this
    // submission batch is already big, or when it is large itself (TLS
    // records: see send_now).
    if ((w.features & kFeatInlineSend) && (io_uring_sq_ready(&w.ring) >= w.inline_after || big_send(iov, n))) {
        if (send_inline(s, iov, n)) return; // done (or failed) at once
        full = true;
    }
    UringSendMem *m = nullptr;
    if (n > 1) {
        // iov[] is the core's until this call returns: copy it.
        m = w.free_send;
        if (m) w.free_send = m->next;
        else if (!(m = new (std::nothrow) UringSendMem)) return post_synth(s, Op::send, IOCPNET_E_NO_MEMORY);
        n = net_iovecs(iov, n, m->iov, UringSendMem::kIov); // fewer is a partial write
        m->msg = msghdr{};
        m->msg.msg_iov = m->iov;
        m->msg.msg_iovlen = n;
    }
    io_uring_sqe *sqe = get_sqe(w);
    if (!sqe) {
        if (m) put_send_mem(w, m);
        return post_synth(s, Op::send, IOCPNET_E_SYSTEM);
    }
    attach_fixed(w, s);
    if (m) {
        io_uring_prep_sendmsg(sqe, int(s->fd), &m->msg, MSG_NOSIGNAL);
    } else {
        // IORING_OP_SEND takes a 32-bit length; a shorter write is a partial one.
        size_t len = std::min<size_t>(iov[0].len, size_t(1) << 30);
        io_uring_prep_send(sqe, int(s->fd), iov[0].base, len, MSG_NOSIGNAL);
    }
    target(sqe, s);
    // The socket was just found full: wait for room before the first try.
    if (full) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
    set_data(sqe, s, kTagSend);
    s->send_mem = m;
    s->send_busy = true;
}

// One non-blocking write from iov (see net_write_now); at most kIov parts:
// more is a partial write. Never logs (send_now's caller holds a
// connection's lock).
long UringBackend::write_now(UringSock *s, const IoVec *iov, unsigned n) {
    iovec v[UringSendMem::kIov];
    return net_write_now(int(s->fd), v, net_iovecs(iov, n, v, UringSendMem::kIov));
}

// A queued send written at once on the owner's thread, as the epoll backend
// does: when the socket has room — nearly always — the bytes are in the
// kernel at once and the completion is made here (no SQE, no CQE). For
// bursts and large sends: see send(). False (nothing posted) when the socket
// is full: the ring takes the send and waits for room. True: posted.
bool UringBackend::send_inline(UringSock *s, const IoVec *iov, unsigned n) {
    long r = write_now(s, iov, n);
    if (r == kSendLater) return false;
    post_synth(s, Op::send, int(r));
    return true;
}

// The core's inline send (nothing queued, nothing in flight): the bytes go
// straight from the caller's buffer, with no copy into the queue and no
// completion to reap, for a syscall of its own. Measured side by side
// (bench/run.py, 3 runs): 16 KiB echo 9.65 -> 8.05 us/msg, but 64 B echo
// 4.74 -> 5.15: a small send costs less as an SQE riding along with the
// next io_uring_enter than as a syscall. So only sends of kNowMin or more.
long UringBackend::send_now(BSock *b, const IoVec *iov, unsigned n) {
    if (!now_) return kSendLater;
    return big_send(iov, n) ? write_now(as_uring(b), iov, n) : kSendLater;
}

void UringBackend::put_send_mem(UringWorker &w, UringSendMem *m) {
    m->next = w.free_send;
    w.free_send = m;
}

// ---------------------------------------------------------------- cancel

void UringBackend::cancel(BSock *b) {
    UringSock *s = as_uring(b);
    UringWorker &w = wk(s);
    s->cancelling = true;
    if (s->recv_st == UringOpState::parked) {
        UringList::unlink(&s->park);
        s->recv_st = UringOpState::idle;
        post_synth(s, Op::recv, IOCPNET_E_SHUTTING_DOWN);
    }
    if (s->accept_st == UringOpState::parked) {
        UringList::unlink(&s->park);
        // Slots still armed end with the cancel below; the last one reports the end.
        s->accept_st = s->accepts_armed ? UringOpState::armed : UringOpState::idle;
        if (!s->accepts_armed) post_synth(s, Op::accept, IOCPNET_E_SHUTTING_DOWN);
    }
    if (s->accept_st == UringOpState::armed) {
        // A listener: shutting it down wakes every armed accept at once (they
        // fail with EINVAL), where a cancel by fd scans every request in
        // flight — quadratic when many listeners close together.
        shutdown(int(s->fd), SHUT_RDWR);
        return;
    }
    if (s->recv_st == UringOpState::idle && s->accept_st == UringOpState::idle && !s->send_busy && !s->connect_busy) return;
    io_uring_sqe *sqe = get_sqe(w);
    if (!sqe) {
        // Last resort: a shut-down socket ends recv/send/accept by itself.
        shutdown(int(s->fd), SHUT_RDWR);
        return;
    }
    // Every request on this fd (kernel >= 5.19). The cancel's own CQE carries
    // no socket pointer: s may be released before it arrives.
    io_uring_prep_cancel_fd(sqe, int(s->fd), IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, kTagCancel);
}

// ------------------------------------------------------------------- CQE

bool UringBackend::on_cqe(UringWorker &w, const io_uring_cqe *cqe, Completion *c) {
    uint64_t ud = cqe->user_data;
    auto *s = reinterpret_cast<UringSock *>(uintptr_t(ud & ~kTagMask));
    switch (ud & kTagMask) {
    case kTagWake:
        w.wake_pending.store(false);
        arm_wake(w);
        return false;
    case kTagFixedClose: // the slot is empty now: free for a new socket
        if (cqe->res < 0) log(IOCPNET_LOG_DEBUG, "io_uring: close of fixed slot: %s", strerror(-cqe->res));
        w.fixed_free[w.fixed_nfree++] = uint32_t(ud >> 3);
        return false;
    case kTagAccept:
        return on_accept_cqe(reinterpret_cast<UringAcceptMem *>(s), cqe, c);
    case kTagRecv:
        return on_recv_cqe(w, s, cqe, c);
    case kTagSend:
        if (s->send_mem) put_send_mem(w, s->send_mem);
        s->send_mem = nullptr;
        s->send_busy = false;
        *c = make(Op::send, true, cqe->res >= 0 ? cqe->res : net_error(cqe->res), s);
        return true;
    case kTagConnect:
        if ((cqe->res == -EINPROGRESS || cqe->res == -EALREADY) && !s->cancelling) {
            // Older kernels report a non-blocking connect as in progress:
            // wait for writability, then read SO_ERROR.
            if (io_uring_sqe *sqe = get_sqe(w)) {
                io_uring_prep_poll_add(sqe, int(s->fd), POLLOUT);
                target(sqe, s);
                set_data(sqe, s, kTagConnPoll);
                return false;
            }
        }
        end_connect(s);
        *c = make(Op::connect, true, cqe->res == 0 ? 0 : net_error(cqe->res), s);
        return true;
    case kTagConnPoll: {
        int res = cqe->res;
        if (res >= 0) {
            int err = 0;
            socklen_t len = sizeof err;
            if (getsockopt(int(s->fd), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
            res = -err;
        }
        end_connect(s);
        *c = make(Op::connect, true, res == 0 ? 0 : net_error(res), s);
        return true;
    }
    default: // kTagCancel
        return false;
    }
}

} // namespace iocpnet
