// The IOCP backend's operations: AcceptEx, ConnectEx, the zero-byte WSARecv
// and the read after it, WSASend, and what each does when its completion is
// dequeued. All of it runs on the socket's owner worker.
#include "iocp_backend.hpp"
#include "../errors.hpp"

#include <cstring>
#include <new>

namespace iocpnet {

namespace {
// Bytes per WSASend. An overlapped send completes only when the stack has
// taken all of it, with its pages locked until then: a cap reports progress
// to the core (stats, on_drain) while a slow peer reads, and bounds the
// memory a connection locks.
constexpr size_t kSendCap = 256 * 1024;
constexpr unsigned kMaxSendBufs = 64; // WSABUFs per WSASend; more = a partial send

void start(IoOp *op) {
    memset(&op->ov, 0, sizeof op->ov);
    op->err = 0;
}
} // namespace

// ------------------------------------------------------------------ accept

int IocpBackend::post_accept(IocpListener *l, AcceptOp *op) {
    int err = 0;
    op->child = iocp_socket(l->family, &err);
    if (op->child == INVALID_SOCKET) return err;
    start(op);
    DWORD got = 0;
    if (!acceptex_(SOCKET(l->fd), op->child, op->addrs, 0, kAcceptAddrLen, kAcceptAddrLen, &got, &op->ov)) {
        int e = WSAGetLastError();
        if (e != ERROR_IO_PENDING) {
            closesocket(op->child);
            op->child = INVALID_SOCKET;
            return fail(net_error(e), "AcceptEx: WSA error %d", e);
        }
    }
    op->active = true;
    l->acc_pending++;
    return IOCPNET_OK;
}

void IocpBackend::accept(BSock *b) {
    auto *l = static_cast<IocpListener *>(b);
    int last = l->cancelled ? IOCPNET_E_SHUTTING_DOWN : attach(l);
    if (last == IOCPNET_OK)
        for (AcceptOp &op : l->acc)
            if (int rc = post_accept(l, &op)) last = rc;
    if (l->acc_pending == 0) {
        // Nothing could be posted: end at once, through the port like any
        // other completion.
        l->acc_ending = true;
        l->acc[0].active = true;
        l->acc_pending++;
        post_synthetic(l, &l->acc[0], last);
    }
}

bool IocpBackend::accept_complete(IocpListener *l, AcceptOp *op, int err, Completion *out) {
    op->active = false;
    l->acc_pending--;
    SOCKET child = op->child;
    op->child = INVALID_SOCKET;
    bool produced = false;
    bool open = !l->cancelled && !l->acc_ending;
    if (err == IOCPNET_OK && open) {
        // The accepted socket inherits the listener's properties only now;
        // without this getpeername and shutdown fail on it. It joins a port
        // at its first operation, once the core has given it an owner.
        SOCKET ls = SOCKET(l->fd);
        if (setsockopt(child, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, reinterpret_cast<const char *>(&ls),
                       sizeof ls) != 0) {
            err = fail(IOCPNET_E_SYSTEM, "SO_UPDATE_ACCEPT_CONTEXT: WSA error %d", WSAGetLastError());
        } else if (auto *ns = new (std::nothrow) IocpSock) {
            ns->fd = sock_t(child);
            child = INVALID_SOCKET;
            out->accepted = ns;
            sockaddr *local = nullptr, *remote = nullptr;
            int llen = 0, rlen = 0;
            acceptex_addrs_(op->addrs, 0, kAcceptAddrLen, kAcceptAddrLen, &local, &llen, &remote, &rlen);
            Addr peer;
            if (remote && rlen > 0 && size_t(rlen) <= sizeof peer.bytes) {
                memcpy(peer.bytes, remote, size_t(rlen));
                peer.len = uint32_t(rlen);
                net_addr_from(peer, &out->peer);
            }
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
        for (AcceptOp &o : l->acc)
            if (!o.active)
                if (int rc = post_accept(l, &o)) l->acc_err = rc;
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
            post_synthetic(l, op, end);
        }
    }
    return produced;
}

// ----------------------------------------------------------------- connect

void IocpBackend::connect(BSock *b, const Addr &peer) {
    auto *s = static_cast<IocpSock *>(b);
    if (s->cancelled) return post_synthetic(s, &s->cop, IOCPNET_E_SHUTTING_DOWN);
    if (int rc = attach(s)) return post_synthetic(s, &s->cop, rc);
    // ConnectEx insists on a bound socket.
    sockaddr_storage any{};
    any.ss_family = ADDRESS_FAMILY(peer.family());
    int alen = peer.family() == AF_INET6 ? int(sizeof(sockaddr_in6)) : int(sizeof(sockaddr_in));
    if (bind(SOCKET(s->fd), reinterpret_cast<const sockaddr *>(&any), alen) != 0) {
        int e = WSAGetLastError();
        return post_synthetic(s, &s->cop, fail(net_error(e), "bind before ConnectEx: WSA error %d", e));
    }
    start(&s->cop);
    if (!connectex_(SOCKET(s->fd), reinterpret_cast<const sockaddr *>(peer.bytes), int(peer.len), nullptr, 0, nullptr,
                    &s->cop.ov)) {
        int e = WSAGetLastError();
        if (e != ERROR_IO_PENDING) post_synthetic(s, &s->cop, fail(net_error(e), "ConnectEx: WSA error %d", e));
    }
}

void IocpBackend::connect_complete(IocpSock *s, int err, Completion *out) {
    out->done = true;
    if (err == IOCPNET_OK &&
        setsockopt(SOCKET(s->fd), SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, nullptr, 0) != 0) // for getpeername, shutdown
        err = fail(IOCPNET_E_SYSTEM, "SO_UPDATE_CONNECT_CONTEXT: WSA error %d", WSAGetLastError());
    if (err != IOCPNET_OK && s->cancelled) err = IOCPNET_E_SHUTTING_DOWN;
    out->res = err;
}

// -------------------------------------------------------------------- recv

void IocpBackend::recv(BSock *b) {
    auto *s = static_cast<IocpSock *>(b);
    if (s->cancelled) return post_synthetic(s, &s->rop, IOCPNET_E_SHUTTING_DOWN);
    if (int rc = attach(s)) return post_synthetic(s, &s->rop, rc);
    post_zero_recv(s);
}

// Completes when data or the FIN arrives, without a buffer to lock meanwhile.
void IocpBackend::post_zero_recv(IocpSock *s) {
    s->recv_st = IocpRecv::polling;
    start(&s->rop);
    WSABUF wb{0, nullptr};
    DWORD flags = 0;
    if (WSARecv(SOCKET(s->fd), &wb, 1, nullptr, &flags, &s->rop.ov, nullptr) != 0) {
        int e = WSAGetLastError();
        if (e != WSA_IO_PENDING) post_synthetic(s, &s->rop, net_error(e));
    }
}

bool IocpBackend::read_some(IocpWorker &w, IocpSock *s, Completion *out) {
    int idx = w.pool.get();
    if (idx < 0) { // every buffer is with the core: wait for a recv_done
        push_readable(w, s);
        return false;
    }
    uint8_t *buf = w.pool.data(uint32_t(idx));
    int r = ::recv(SOCKET(s->fd), reinterpret_cast<char *>(buf), int(RecvPool::kSize), 0);
    int e = r < 0 ? WSAGetLastError() : 0;
    if (r > 0) {
        *out = Completion{};
        out->op = Op::recv;
        out->res = r;
        out->ctx = s->ctx;
        out->sock = s;
        out->data = buf;
        out->buf = uint32_t(idx);
        // A full buffer means more is probably waiting: read again in the
        // next round instead of asking the kernel to tell us.
        if (size_t(r) == RecvPool::kSize) push_readable(w, s);
        else post_zero_recv(s);
        return true;
    }
    w.pool.put(uint32_t(idx));
    if (r < 0 && e == WSAEWOULDBLOCK) { // nothing after all
        post_zero_recv(s);
        return false;
    }
    *out = Completion{};
    out->op = Op::recv;
    out->done = true;
    out->res = r == 0 ? 0 : net_error(e); // 0: the peer's FIN
    out->ctx = s->ctx;
    out->sock = s;
    return true;
}

void IocpBackend::recv_stop(BSock *b) {
    auto *s = static_cast<IocpSock *>(b);
    if (s->cancelled || s->recv_stopping) return;
    if (s->recv_st == IocpRecv::readable) { // no WSARecv to abort: end the recv here
        unlink_readable(wk(s), s);
        s->recv_st = IocpRecv::idle;
        post_synthetic(s, &s->rop, kRecvStopped);
    } else if (s->recv_st == IocpRecv::polling) {
        s->recv_stopping = true; // the zero-byte WSARecv ends aborted, or with data we leave in the socket
        CancelIoEx(reinterpret_cast<HANDLE>(s->fd), &s->rop.ov);
    }
}

void IocpBackend::recv_done(const Completion &c) {
    if (c.op != Op::recv || c.res <= 0 || !c.sock) return;
    wk(static_cast<IocpSock *>(c.sock)).pool.put(c.buf);
}

void IocpBackend::push_readable(IocpWorker &w, IocpSock *s) {
    s->recv_st = IocpRecv::readable;
    s->rnext = nullptr;
    s->rprev = w.rtail;
    if (w.rtail) w.rtail->rnext = s;
    else w.rhead = s;
    w.rtail = s;
    w.readable++;
}

void IocpBackend::unlink_readable(IocpWorker &w, IocpSock *s) {
    if (s->rprev) s->rprev->rnext = s->rnext;
    else w.rhead = s->rnext;
    if (s->rnext) s->rnext->rprev = s->rprev;
    else w.rtail = s->rprev;
    s->rprev = s->rnext = nullptr;
    w.readable--;
}

// -------------------------------------------------------------------- send

void IocpBackend::send(BSock *b, const IoVec *iov, unsigned n) {
    auto *s = static_cast<IocpSock *>(b);
    if (s->cancelled) return post_synthetic(s, &s->sop, IOCPNET_E_SHUTTING_DOWN);
    if (int rc = attach(s)) return post_synthetic(s, &s->sop, rc);
    // WSASend captures the WSABUF array before it returns (the bytes stay
    // the core's until the completion), so it lives on the stack.
    // Beyond kMaxSendBufs buffers or kSendCap bytes this is a partial send;
    // the core submits the rest after the completion.
    WSABUF bufs[kMaxSendBufs];
    DWORD k = 0;
    size_t total = 0;
    for (unsigned i = 0; i < n && k < kMaxSendBufs && total < kSendCap; i++) {
        size_t len = iov[i].len < kSendCap - total ? iov[i].len : kSendCap - total;
        if (len == 0) continue;
        bufs[k].buf = static_cast<char *>(const_cast<void *>(iov[i].base));
        bufs[k].len = ULONG(len);
        total += len;
        k++;
    }
    if (k == 0) { // nothing to write still completes, with 0 bytes
        bufs[0].buf = nullptr;
        bufs[0].len = 0;
        k = 1;
    }
    start(&s->sop);
    if (WSASend(SOCKET(s->fd), bufs, k, nullptr, 0, &s->sop.ov, nullptr) != 0) {
        int e = WSAGetLastError();
        if (e != WSA_IO_PENDING) post_synthetic(s, &s->sop, net_error(e));
    }
}

} // namespace iocpnet
