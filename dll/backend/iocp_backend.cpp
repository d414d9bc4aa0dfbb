// The IOCP backend: sockets, the completion port, wait/wake and cancel.
// The operations themselves (AcceptEx, ConnectEx, WSARecv, WSASend) are in
// iocp_ops.cpp. See iocp_backend.hpp for the op/lifetime model.
#include "iocp_backend.hpp"
#include "../errors.hpp"

#include <cstring>
#include <new>

namespace iocpnet {

int iocp_create(unsigned workers, std::unique_ptr<Backend> *out) {
    if (int rc = net_startup()) return rc;
    // Concurrency = workers: every worker may run at once (they block in
    // callbacks, so Windows' default of one per CPU would starve them).
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, workers ? workers : 0);
    if (!port) return fail(IOCPNET_E_SYSTEM, "CreateIoCompletionPort: error %lu", GetLastError());
    IocpBackend *be = nullptr;
    try {
        be = new IocpBackend(port, workers);
    } catch (...) {
    }
    if (!be) {
        CloseHandle(port);
        return fail(IOCPNET_E_NO_MEMORY, "out of memory");
    }
    out->reset(be);
    return IOCPNET_OK;
}

IocpBackend::IocpBackend(HANDLE port, unsigned workers)
    : port_(port), workers_(workers) {}

IocpBackend::~IocpBackend() { CloseHandle(port_); }

uint32_t IocpBackend::kind() const { return IOCPNET_BACKEND_IOCP; }

bool IocpBackend::associate(SOCKET s) {
    return CreateIoCompletionPort(reinterpret_cast<HANDLE>(s), port_, kKeyIo, 0) == port_;
}

SOCKET IocpBackend::new_socket(int family, bool assoc, int *err) {
    SOCKET s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) // before Windows 7 SP1
        s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED);
    if (s == INVALID_SOCKET) {
        int e = WSAGetLastError();
        *err = fail(net_error(e) == IOCPNET_E_LIMIT || net_error(e) == IOCPNET_E_NO_MEMORY ? net_error(e)
                                                                                            : IOCPNET_E_SYSTEM,
                    "WSASocket: WSA error %d", e);
        return INVALID_SOCKET;
    }
    if (assoc && !associate(s)) {
        *err = fail(IOCPNET_E_SYSTEM, "CreateIoCompletionPort(socket): error %lu", GetLastError());
        closesocket(s);
        return INVALID_SOCKET;
    }
    return s;
}

static void *extension_fn(SOCKET s, GUID guid) {
    void *fn = nullptr;
    DWORD got = 0;
    if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, &fn, sizeof fn, &got, nullptr,
                 nullptr) != 0)
        return nullptr;
    return fn;
}

LPFN_CONNECTEX IocpBackend::connectex(SOCKET s) {
    // The TCP provider's ConnectEx is the same for IPv4 and IPv6: load once.
    std::lock_guard<std::mutex> lk(fn_mu_);
    if (!connectex_) connectex_ = reinterpret_cast<LPFN_CONNECTEX>(extension_fn(s, WSAID_CONNECTEX));
    return connectex_;
}

int IocpBackend::listen(const Addr &a, int backlog, BSock **out) {
    int err = 0;
    SOCKET s = new_socket(a.family(), false, &err);
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
    auto acceptex = reinterpret_cast<LPFN_ACCEPTEX>(extension_fn(s, WSAID_ACCEPTEX));
    if (!acceptex || !associate(s)) {
        int e = WSAGetLastError();
        closesocket(s);
        return fail(IOCPNET_E_SYSTEM, "AcceptEx set-up: error %d", e);
    }
    auto *l = new (std::nothrow) IocpSock;
    if (!l) {
        closesocket(s);
        return fail(IOCPNET_E_NO_MEMORY, "out of memory");
    }
    l->fd = sock_t(s);
    l->be = this;
    l->family = a.family();
    l->acceptex = acceptex;
    try {
        for (unsigned i = 0; i < kAcceptsPosted; i++) {
            l->acc.emplace_back(new AcceptOp);
            l->acc.back()->kind = Op::accept;
            l->acc.back()->sock = l;
        }
    } catch (...) {
        closesocket(s);
        delete l;
        return fail(IOCPNET_E_NO_MEMORY, "out of memory");
    }
    *out = l;
    return IOCPNET_OK;
}

int IocpBackend::open_stream(const Addr &a, BSock **out) {
    int err = 0;
    SOCKET s = new_socket(a.family(), true, &err);
    if (s == INVALID_SOCKET) return err;
    auto *c = new (std::nothrow) IocpSock;
    if (!c) {
        closesocket(s);
        return fail(IOCPNET_E_NO_MEMORY, "out of memory");
    }
    c->fd = sock_t(s);
    c->be = this;
    c->family = a.family();
    *out = c;
    return IOCPNET_OK;
}

// Any worker may take the packet: with any_thread_submit() the core serves
// one shared mailbox and timer heap, so whichever worker wakes does the work.
void IocpBackend::wake(unsigned w) { PostQueuedCompletionStatus(port_, DWORD(w), kKeyWake, nullptr); }

void IocpBackend::release(BSock *b) {
    auto *s = static_cast<IocpSock *>(b);
    for (auto &op : s->acc) // AcceptEx sockets that never got a completion to hand over
        if (op->child != INVALID_SOCKET) closesocket(op->child);
    if (s->addrs_kept) net_forget_addresses(SOCKET(s->fd)); // before the handle value can be reused
    if (s->fd != kNoSock) closesocket(SOCKET(s->fd));
    delete s;
}

void IocpBackend::cancel(BSock *b) {
    auto *s = static_cast<IocpSock *>(b);
    // Under the socket's lock: an op issued concurrently (a listener's
    // AcceptEx re-posted by a worker, a WSARecv re-posted by recv_done) is
    // either issued before CancelIoEx, and cancelled by it, or sees
    // `cancelled` and is not issued. Each pending op then completes with
    // ERROR_OPERATION_ABORTED (ERROR_NOT_FOUND here: nothing was pending).
    std::lock_guard<std::mutex> lk(s->mu);
    s->cancelled = true;
    CancelIoEx(reinterpret_cast<HANDLE>(s->fd), nullptr);
}

int IocpBackend::wait(unsigned w, Completion *out, unsigned max, int timeout_ms) {
    OVERLAPPED_ENTRY ents[64];
    ULONG cap = max < 64 ? ULONG(max) : 64, n = 0;
    if (cap == 0) return 0;
    DWORD ms = timeout_ms < 0 ? INFINITE : DWORD(timeout_ms);
    (void)w; // all workers wait on the one port
    if (!GetQueuedCompletionStatusEx(port_, ents, cap, &n, ms, FALSE)) return 0; // WAIT_TIMEOUT

    int got = 0;
    unsigned wakes = 0;
    for (ULONG i = 0; i < n; i++) {
        const OVERLAPPED_ENTRY &e = ents[i];
        if (e.lpCompletionKey == kKeyWake || !e.lpOverlapped) {
            wakes++;
            continue;
        }
        auto *op = reinterpret_cast<IoOp *>(e.lpOverlapped);
        IocpSock *s = op->sock;
        int err = IOCPNET_OK;
        if (e.lpCompletionKey == kKeySynthetic) err = op->synthetic_err;
        else if (op->ov.Internal != 0) err = iocp_op_error(SOCKET(s->fd), &op->ov);
        Completion &c = out[got];
        c = Completion{};
        c.op = op->kind;
        c.sock = s;
        c.ctx = s->ctx;
        switch (op->kind) {
        case Op::accept:
            if (accept_complete(static_cast<AcceptOp *>(op), err, &c)) got++;
            continue;
        case Op::connect:
            complete_connect(s, err, &c);
            break;
        case Op::recv:
            if (err) {
                c.done = true;
                c.res = s->cancelled ? IOCPNET_E_SHUTTING_DOWN : err;
            } else if (e.dwNumberOfBytesTransferred == 0) {
                c.done = true; // a 0-byte completion of a real read: the peer's FIN
            } else {
                c.res = int(e.dwNumberOfBytesTransferred);
                c.data = s->rbuf.get();
                if (e.dwNumberOfBytesTransferred == s->rcap && s->rcap < kRecvMax) s->rgrow = true;
            }
            break;
        case Op::send:
            c.done = true;
            c.res = err ? (s->cancelled ? IOCPNET_E_SHUTTING_DOWN : err) : int(e.dwNumberOfBytesTransferred);
            break;
        }
        got++;
    }
    // One batch may hold several wake packets (destroy sends one per worker
    // to stop them all): keep one, pass on the rest.
    for (unsigned i = 1; i < wakes; i++) PostQueuedCompletionStatus(port_, 0, kKeyWake, nullptr);
    return got;
}

} // namespace iocpnet
