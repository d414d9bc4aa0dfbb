// The IOCP backend: the per-worker ports, sockets, wake/wait and cancel. The
// operations themselves (AcceptEx, ConnectEx, WSARecv, WSASend) are in
// iocp_ops.cpp. See iocp_backend.hpp for the ownership and lifetime model.
#include "iocp_backend.hpp"
#include "../errors.hpp"

#include <cstring>
#include <new>

namespace iocpnet {

namespace {
void *extension_fn(SOCKET s, GUID guid) {
    void *fn = nullptr;
    DWORD got = 0;
    if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, &fn, sizeof fn, &got, nullptr,
                 nullptr) != 0)
        return nullptr;
    return fn;
}
} // namespace

int iocp_create(unsigned workers, std::unique_ptr<Backend> *out) {
    if (int rc = net_startup()) return rc;
    std::unique_ptr<IocpBackend> be(new (std::nothrow) IocpBackend(workers ? workers : 1));
    if (!be) return fail(IOCPNET_E_NO_MEMORY, "out of memory");
    if (int rc = be->init()) return rc;
    *out = std::move(be);
    return IOCPNET_OK;
}

IocpBackend::IocpBackend(unsigned workers) : nworkers_(workers) {}

int IocpBackend::init() {
    workers_.reset(new (std::nothrow) IocpWorker[nworkers_]);
    if (!workers_) return fail(IOCPNET_E_NO_MEMORY, "out of memory");
    for (unsigned i = 0; i < nworkers_; i++) {
        // Concurrency 1: one thread, the worker, waits on each port.
        workers_[i].port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
        if (!workers_[i].port) return fail(IOCPNET_E_SYSTEM, "CreateIoCompletionPort: error %lu", GetLastError());
    }
    int err = 0;
    SOCKET s = iocp_socket(AF_INET, &err);
    if (s == INVALID_SOCKET) return err;
    acceptex_ = reinterpret_cast<LPFN_ACCEPTEX>(extension_fn(s, WSAID_ACCEPTEX));
    acceptex_addrs_ = reinterpret_cast<LPFN_GETACCEPTEXSOCKADDRS>(extension_fn(s, WSAID_GETACCEPTEXSOCKADDRS));
    connectex_ = reinterpret_cast<LPFN_CONNECTEX>(extension_fn(s, WSAID_CONNECTEX));
    closesocket(s);
    if (!acceptex_ || !acceptex_addrs_ || !connectex_)
        return fail(IOCPNET_E_UNSUPPORTED, "AcceptEx/GetAcceptExSockaddrs/ConnectEx unavailable");
    return IOCPNET_OK;
}

IocpBackend::~IocpBackend() {
    if (!workers_) return;
    for (unsigned i = 0; i < nworkers_; i++)
        if (workers_[i].port) CloseHandle(workers_[i].port);
}

uint32_t IocpBackend::kind() const { return IOCPNET_BACKEND_IOCP; }

SOCKET iocp_socket(int family, int *err) {
    SOCKET s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) // before Windows 7 SP1
        s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED);
    if (s == INVALID_SOCKET) {
        int e = WSAGetLastError();
        int code = net_error(e);
        *err = fail(code == IOCPNET_E_LIMIT || code == IOCPNET_E_NO_MEMORY ? code : IOCPNET_E_SYSTEM,
                    "WSASocket: WSA error %d", e);
    }
    return s;
}

int IocpBackend::attach(IocpSock *s) {
    if (s->bound) return IOCPNET_OK;
    // The read after a zero-byte WSARecv must not block (overlapped
    // operations are not affected by this mode).
    u_long on = 1;
    if (!s->listener && ioctlsocket(SOCKET(s->fd), FIONBIO, &on) != 0)
        return fail(IOCPNET_E_SYSTEM, "FIONBIO: WSA error %d", WSAGetLastError());
    HANDLE port = wk(s).port;
    if (CreateIoCompletionPort(reinterpret_cast<HANDLE>(s->fd), port, ULONG_PTR(s), 0) != port)
        return fail(IOCPNET_E_SYSTEM, "CreateIoCompletionPort(socket): error %lu", GetLastError());
    s->bound = true;
    return IOCPNET_OK;
}

void IocpBackend::post_synthetic(IocpSock *s, IoOp *op, int err) {
    memset(&op->ov, 0, sizeof op->ov);
    op->err = err ? err : IOCPNET_E_SYSTEM;
    if (!PostQueuedCompletionStatus(wk(s).port, 0, ULONG_PTR(s), &op->ov))
        log(IOCPNET_LOG_ERROR, "iocp: PostQueuedCompletionStatus failed (%lu): an operation is lost", GetLastError());
}

int IocpBackend::listen(const Addr &a, int backlog, BSock **out) {
    int err = 0;
    SOCKET s = iocp_socket(a.family(), &err);
    if (s == INVALID_SOCKET) return err;
    if (a.family() == AF_INET6) { // "::" takes IPv4 too
        DWORD off = 0;
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, reinterpret_cast<const char *>(&off), sizeof off);
    }
    // Windows' SO_REUSEADDR would let another socket steal a bound port; the
    // exclusive mode refuses that and still binds over TIME_WAIT leftovers.
    BOOL excl = TRUE;
    setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<const char *>(&excl), sizeof excl);
    if (bind(s, reinterpret_cast<const sockaddr *>(a.bytes), int(a.len)) != 0) {
        int e = WSAGetLastError();
        closesocket(s);
        // WSAEACCES: the port is held exclusively by another socket.
        int code = e == WSAEACCES ? IOCPNET_E_ADDR_IN_USE : net_error(e);
        if (code != IOCPNET_E_ADDR_IN_USE && code != IOCPNET_E_ADDR_INVALID) code = IOCPNET_E_SYSTEM;
        return fail(code, "bind: WSA error %d", e);
    }
    if (::listen(s, backlog > 0 ? backlog : SOMAXCONN) != 0) {
        int e = WSAGetLastError();
        closesocket(s);
        return fail(e == WSAEADDRINUSE ? IOCPNET_E_ADDR_IN_USE : IOCPNET_E_SYSTEM, "listen: WSA error %d", e);
    }
    auto *l = new (std::nothrow) IocpListener;
    if (!l) {
        closesocket(s);
        return fail(IOCPNET_E_NO_MEMORY, "out of memory");
    }
    l->fd = sock_t(s);
    l->listener = true;
    l->family = a.family();
    *out = l;
    return IOCPNET_OK;
}

int IocpBackend::open_stream(const Addr &a, BSock **out) {
    int err = 0;
    SOCKET s = iocp_socket(a.family(), &err);
    if (s == INVALID_SOCKET) return err;
    auto *c = new (std::nothrow) IocpSock;
    if (!c) {
        closesocket(s);
        return fail(IOCPNET_E_NO_MEMORY, "out of memory");
    }
    c->fd = sock_t(s);
    *out = c;
    return IOCPNET_OK;
}

void IocpBackend::wake(unsigned w) {
    if (w >= nworkers_) return;
    IocpWorker &wk = workers_[w];
    // Only the first wake since the worker last dequeued one posts a packet.
    if (wk.wake_pending.exchange(true, std::memory_order_acq_rel)) return;
    if (!PostQueuedCompletionStatus(wk.port, 0, 0, nullptr)) {
        wk.wake_pending.store(false);
        log(IOCPNET_LOG_ERROR, "iocp: wake failed (%lu)", GetLastError());
    }
}

void IocpBackend::release(BSock *b) {
    auto *s = static_cast<IocpSock *>(b);
    if (s->fd != kNoSock) closesocket(SOCKET(s->fd));
    if (s->listener) delete static_cast<IocpListener *>(s);
    else delete s;
}

void IocpBackend::cancel(BSock *b) {
    auto *s = static_cast<IocpSock *>(b);
    s->cancelled = true;
    if (s->recv_st == IocpRecv::readable) { // no WSARecv to abort: end the recv here
        unlink_readable(wk(s), s);
        s->recv_st = IocpRecv::idle;
        post_synthetic(s, &s->rop, IOCPNET_E_SHUTTING_DOWN);
    }
    // Each pending op completes with ERROR_OPERATION_ABORTED (ERROR_NOT_FOUND
    // here: nothing was pending).
    if (s->bound) CancelIoEx(reinterpret_cast<HANDLE>(s->fd), nullptr);
}

bool IocpBackend::complete(IocpWorker &w, const OVERLAPPED_ENTRY &e, Completion *c) {
    auto *op = reinterpret_cast<IoOp *>(e.lpOverlapped);
    auto *s = reinterpret_cast<IocpSock *>(e.lpCompletionKey);
    int err = op->err;
    if (!err && op->ov.Internal != 0) err = iocp_op_error(SOCKET(s->fd), &op->ov);
    *c = Completion{};
    c->op = op->kind;
    c->sock = s;
    c->ctx = s->ctx;
    switch (op->kind) {
    case Op::accept:
        return accept_complete(static_cast<IocpListener *>(s), static_cast<AcceptOp *>(op), err, c);
    case Op::connect:
        connect_complete(s, err, c);
        return true;
    case Op::recv:
        s->recv_st = IocpRecv::idle;
        if (s->recv_stopping && !s->cancelled) {
            s->recv_stopping = false;
            c->done = true;
            c->res = kRecvStopped;
            return true;
        }
        if (!err && !s->cancelled) return read_some(w, s, c); // data or the FIN is there
        c->done = true;
        c->res = s->cancelled ? IOCPNET_E_SHUTTING_DOWN : err;
        return true;
    case Op::send:
        c->done = true;
        c->res = err ? (s->cancelled ? IOCPNET_E_SHUTTING_DOWN : err) : int(e.dwNumberOfBytesTransferred);
        return true;
    }
    return false;
}

int IocpBackend::wait(unsigned wi, Completion *out, unsigned max, int timeout_ms) {
    if (wi >= nworkers_ || max == 0) return 0;
    IocpWorker &w = workers_[wi];
    unsigned n = 0;
    // Readable sockets first, each at most once per call (one read may put
    // it back at the tail), while buffers last.
    for (size_t k = w.readable; k > 0 && n < max && w.pool.available(); k--) {
        IocpSock *s = w.rhead;
        unlink_readable(w, s);
        s->recv_st = IocpRecv::idle;
        if (read_some(w, s, &out[n])) n++;
    }
    if (n == max) return int(n);
    if (n > 0 || (w.readable && w.pool.available())) timeout_ms = 0;

    OVERLAPPED_ENTRY ents[64];
    ULONG cap = max - n < 64 ? ULONG(max - n) : 64, got = 0;
    DWORD ms = timeout_ms < 0 ? INFINITE : DWORD(timeout_ms);
    if (!GetQueuedCompletionStatusEx(w.port, ents, cap, &got, ms, FALSE)) return int(n); // WAIT_TIMEOUT
    for (ULONG i = 0; i < got; i++) {
        if (!ents[i].lpOverlapped) {
            // A wake: cleared after it was dequeued, so a wake() that still
            // sees the flag set came before this wait returns.
            w.wake_pending.store(false, std::memory_order_seq_cst);
            continue;
        }
        if (complete(w, ents[i], &out[n])) n++;
    }
    return int(n);
}

} // namespace iocpnet
