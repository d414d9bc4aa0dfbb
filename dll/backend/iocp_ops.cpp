// The IOCP backend's operations: AcceptEx, ConnectEx, WSARecv, WSASend, and
// what each does when its completion is dequeued.
#include "iocp_backend.hpp"
#include "../errors.hpp"

#include <cstring>
#include <new>

namespace iocpnet {

namespace {
constexpr DWORD kAddrLen = sizeof(sockaddr_in6) + 16; // what AcceptEx requires per address
// Bytes per WSASend. An overlapped send completes only when the stack has
// taken all of it, with its pages locked until then: a cap reports progress
// to the core (stats, on_drain) while a slow peer reads, and bounds the
// memory a connection locks.
constexpr size_t kSendCap = 256 * 1024;

void reset(IoOp *op) { memset(&op->ov, 0, sizeof op->ov); }
} // namespace

void IocpBackend::post_synthetic(IoOp *op, int err) {
    op->synthetic_err = err;
    reset(op);
    if (!PostQueuedCompletionStatus(port_, 0, kKeySynthetic, &op->ov))
        log(IOCPNET_LOG_ERROR, "iocp: PostQueuedCompletionStatus failed (%lu): an operation is lost", GetLastError());
}

// ------------------------------------------------------------------ accept

int IocpBackend::post_accept(IocpSock *l, AcceptOp *op) {
    int err = 0;
    op->child = new_socket(l->family, false, &err);
    if (op->child == INVALID_SOCKET) return err;
    reset(op);
    DWORD got = 0;
    if (!l->acceptex(SOCKET(l->fd), op->child, op->addrs, 0, kAddrLen, kAddrLen, &got, &op->ov)) {
        int e = WSAGetLastError();
        if (e != ERROR_IO_PENDING) {
            closesocket(op->child);
            op->child = INVALID_SOCKET;
            return fail(net_error(e), "AcceptEx: WSA error %d", e);
        }
    }
    // Safe after issuing: its completion handler waits for l->mu, held here.
    op->active = true;
    l->acc_pending++;
    return IOCPNET_OK;
}

void IocpBackend::accept(BSock *b) {
    auto *l = static_cast<IocpSock *>(b);
    std::lock_guard<std::mutex> lk(l->mu);
    l->accepting = true;
    int last = IOCPNET_E_SHUTTING_DOWN;
    if (!l->cancelled)
        for (auto &op : l->acc)
            if (int rc = post_accept(l, op.get())) last = rc;
    if (l->acc_pending == 0) {
        // Nothing could be posted: end at once, through the port like any
        // other completion.
        l->acc_ending = true;
        l->acc[0]->active = true;
        l->acc_pending++;
        post_synthetic(l->acc[0].get(), last);
    }
}

bool IocpBackend::accept_complete(AcceptOp *op, int err, Completion *out) {
    IocpSock *l = op->sock;
    std::lock_guard<std::mutex> lk(l->mu);
    op->active = false;
    l->acc_pending--;
    SOCKET child = op->child;
    op->child = INVALID_SOCKET;
    bool produced = false;
    bool open = !l->cancelled && !l->acc_ending;
    if (err == IOCPNET_OK && open) {
        // The accepted socket inherits the listener's properties only now;
        // without this getpeername and shutdown fail on it.
        SOCKET ls = SOCKET(l->fd);
        if (setsockopt(child, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, reinterpret_cast<const char *>(&ls),
                       sizeof ls) != 0 ||
            !associate(child)) {
            err = fail(IOCPNET_E_SYSTEM, "accepted socket set-up: error %d", WSAGetLastError());
        } else if (auto *ns = new (std::nothrow) IocpSock) {
            ns->fd = sock_t(child);
            ns->be = this;
            ns->family = l->family;
            net_remember_addresses(child);
            ns->addrs_kept = true;
            child = INVALID_SOCKET;
            out->accepted = ns;
            produced = true;
        } else {
            err = IOCPNET_E_NO_MEMORY;
        }
    }
    if (child != INVALID_SOCKET) closesocket(child); // failed, or accepted while closing
    // A client that reset before we took it is nobody's business; other
    // failures are reported and accepting goes on.
    if (err != IOCPNET_OK && open && err != IOCPNET_E_CONN_RESET) {
        out->res = err;
        produced = true;
    }
    if (open) {
        for (auto &o : l->acc)
            if (!o->active)
                if (int rc = post_accept(l, o.get())) l->acc_err = rc;
    }
    if (l->acc_pending == 0 && !l->acc_done) {
        // The last AcceptEx is back: this is the end of the accept stream.
        int end = l->cancelled ? IOCPNET_E_SHUTTING_DOWN : (l->acc_err ? l->acc_err : err ? err : IOCPNET_E_SYSTEM);
        if (!produced) {
            out->done = true;
            out->res = end;
            l->acc_done = true;
            produced = true;
        } else { // this packet already carries something: the end follows in its own
            l->acc_ending = true;
            op->active = true;
            l->acc_pending++;
            post_synthetic(op, end);
        }
    }
    return produced;
}

// ----------------------------------------------------------------- connect

void IocpBackend::connect(BSock *b, const Addr &peer) {
    auto *s = static_cast<IocpSock *>(b);
    std::lock_guard<std::mutex> lk(s->mu);
    s->cop.kind = Op::connect;
    s->cop.sock = s;
    if (s->cancelled) return post_synthetic(&s->cop, IOCPNET_E_SHUTTING_DOWN);
    // ConnectEx insists on a bound socket.
    sockaddr_storage any{};
    any.ss_family = ADDRESS_FAMILY(peer.family());
    int alen = peer.family() == AF_INET6 ? int(sizeof(sockaddr_in6)) : int(sizeof(sockaddr_in));
    if (bind(SOCKET(s->fd), reinterpret_cast<const sockaddr *>(&any), alen) != 0) {
        int e = WSAGetLastError();
        return post_synthetic(&s->cop, fail(net_error(e), "bind before ConnectEx: WSA error %d", e));
    }
    LPFN_CONNECTEX fn = connectex(SOCKET(s->fd));
    if (!fn) return post_synthetic(&s->cop, fail(IOCPNET_E_SYSTEM, "ConnectEx unavailable"));
    reset(&s->cop);
    if (!fn(SOCKET(s->fd), reinterpret_cast<const sockaddr *>(peer.bytes), int(peer.len), nullptr, 0, nullptr,
            &s->cop.ov)) {
        int e = WSAGetLastError();
        if (e != ERROR_IO_PENDING) post_synthetic(&s->cop, fail(net_error(e), "ConnectEx: WSA error %d", e));
    }
}

void IocpBackend::complete_connect(IocpSock *s, int err, Completion *out) {
    out->done = true;
    if (err == IOCPNET_OK &&
        setsockopt(SOCKET(s->fd), SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, nullptr, 0) != 0) // for getpeername, shutdown
        err = fail(IOCPNET_E_SYSTEM, "SO_UPDATE_CONNECT_CONTEXT: WSA error %d", WSAGetLastError());
    if (err == IOCPNET_OK) {
        net_remember_addresses(SOCKET(s->fd));
        s->addrs_kept = true;
    }
    if (err != IOCPNET_OK && s->cancelled) err = IOCPNET_E_SHUTTING_DOWN;
    out->res = err;
}

// -------------------------------------------------------------------- recv

void IocpBackend::post_recv(IocpSock *s) {
    // recv_done comes outside the core's connection lock, so a cancel() may
    // race with it: the lock makes "check cancelled, issue WSARecv" one step
    // against "set cancelled, CancelIoEx", or the read would outlive the cancel.
    std::lock_guard<std::mutex> lk(s->mu);
    s->rop.kind = Op::recv;
    s->rop.sock = s;
    if (s->cancelled) return post_synthetic(&s->rop, IOCPNET_E_SHUTTING_DOWN);
    if (!s->rbuf || s->rgrow) {
        // Start small (idle connections are the common case) and double while
        // reads fill the buffer, so bulk transfers get few large reads.
        uint32_t cap = s->rbuf ? (s->rcap * 2 < kRecvMax ? s->rcap * 2 : kRecvMax) : kRecvMin;
        uint8_t *nb = new (std::nothrow) uint8_t[cap];
        if (nb) {
            s->rbuf.reset(nb);
            s->rcap = cap;
        } else if (!s->rbuf) {
            return post_synthetic(&s->rop, IOCPNET_E_NO_MEMORY);
        }
        s->rgrow = false;
    }
    WSABUF wb{s->rcap, reinterpret_cast<char *>(s->rbuf.get())};
    DWORD flags = 0;
    reset(&s->rop);
    if (WSARecv(SOCKET(s->fd), &wb, 1, nullptr, &flags, &s->rop.ov, nullptr) != 0) {
        int e = WSAGetLastError();
        if (e != WSA_IO_PENDING) post_synthetic(&s->rop, net_error(e));
    }
}

void IocpBackend::recv(BSock *b) { post_recv(static_cast<IocpSock *>(b)); }

void IocpBackend::recv_done(const Completion &c) {
    // The buffer is the socket's own: giving it back means reading into it
    // again. After a cancel, post_recv ends the stream with a done completion.
    if (c.op != Op::recv || c.done || c.res <= 0) return;
    post_recv(static_cast<IocpSock *>(c.sock));
}

// -------------------------------------------------------------------- send

void IocpBackend::send(BSock *b, const IoVec *iov, unsigned n) {
    auto *s = static_cast<IocpSock *>(b);
    std::lock_guard<std::mutex> lk(s->mu);
    s->sop.kind = Op::send;
    s->sop.sock = s;
    if (s->cancelled) return post_synthetic(&s->sop, IOCPNET_E_SHUTTING_DOWN);
    // Beyond kMaxSendBufs buffers or kSendCap bytes this is a partial send;
    // the core submits the rest after the completion.
    DWORD k = 0;
    size_t total = 0;
    for (unsigned i = 0; i < n && k < kMaxSendBufs && total < kSendCap; i++) {
        size_t len = iov[i].len < kSendCap - total ? iov[i].len : kSendCap - total;
        if (len == 0) continue;
        s->sbufs[k].buf = static_cast<char *>(const_cast<void *>(iov[i].base));
        s->sbufs[k].len = ULONG(len);
        total += len;
        k++;
    }
    if (k == 0) { // nothing to write still completes, with 0 bytes
        s->sbufs[0].buf = nullptr;
        s->sbufs[0].len = 0;
        k = 1;
    }
    reset(&s->sop);
    if (WSASend(SOCKET(s->fd), s->sbufs, k, nullptr, 0, &s->sop.ov, nullptr) != 0) {
        int e = WSAGetLastError();
        if (e != WSA_IO_PENDING) post_synthetic(&s->sop, net_error(e));
    }
}

} // namespace iocpnet
