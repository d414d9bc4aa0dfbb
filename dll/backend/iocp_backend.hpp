// The IOCP backend: one completion port per worker. Internal to iocp_*.cpp.
//
// Ownership. A socket is associated with its owner worker's port at its
// first operation (the core sets BSock::worker only after listen(),
// open_stream() or the accept completion, and a handle joins one port for
// good; an AcceptEx child is associated once it has an owner). So the owner
// both issues every operation of a socket and dequeues all its completions:
// nothing per socket needs a lock.
//
// Ops. Every operation is an IoOp whose OVERLAPPED is its first member, so
// the OVERLAPPED* of a completion is the op; the completion key is the
// socket. Ops live inside the socket (a listener owns its AcceptOps), and the
// core releases a socket only after each submitted op has completed with
// done, so no completion ever touches freed memory.
//
// No FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: every success, immediate or not,
// arrives through the port, so there is one completion path. An immediate
// failure (no packet queued) becomes a "synthetic" packet (IoOp::err set)
// posted to the owner's port.
//
// Receiving. An idle connection has a zero-byte WSARecv pending and holds no
// buffer (a pending buffer's pages stay locked). When it completes, data or
// the FIN is there: the owner reads without blocking into a buffer of its
// RecvPool, which the core gives back with recv_done().
#pragma once
#ifndef NOMINMAX
#define NOMINMAX // std::min/max, not the windows.h macros
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>

#include "backend.hpp"
#include "recv_pool.hpp"

#include <atomic>
#include <memory>

namespace iocpnet {

constexpr unsigned kAcceptsPosted = 16;                   // AcceptEx kept pending per listener
constexpr DWORD kAcceptAddrLen = sizeof(sockaddr_in6) + 16; // what AcceptEx requires per address

struct IoOp {
    OVERLAPPED ov{}; // first: the OVERLAPPED* of a completion is the op
    Op kind;
    int err = 0;     // a synthetic packet's IOCPNET_E_* (0: a real completion)
    explicit IoOp(Op k) : kind(k) {}
};

enum class IocpRecv : uint8_t {
    idle,     // no recv, or it ended
    polling,  // the zero-byte WSARecv is pending
    readable, // it completed; in the worker's readable list, waiting for a buffer or a turn
};

struct IocpSock : BSock {
    IocpRecv recv_st = IocpRecv::idle;
    bool bound = false;     // associated with the owner's port
    bool cancelled = false; // cancel() was called: later ops end at once
    bool recv_stopping = false; // recv_stop(): the recv ends with kRecvStopped
    bool listener = false;  // an IocpListener
    IoOp rop{Op::recv}, sop{Op::send}, cop{Op::connect};
    IocpSock *rprev = nullptr, *rnext = nullptr; // in IocpWorker's readable list
};

struct AcceptOp : IoOp {
    AcceptOp() : IoOp(Op::accept) {}
    SOCKET child = INVALID_SOCKET; // the pre-created socket AcceptEx fills
    bool active = false;           // posted, completion not yet dequeued
    char addrs[2 * kAcceptAddrLen]; // local and remote address, as AcceptEx writes them
};

struct IocpListener : IocpSock {
    int family = AF_INET;
    AcceptOp acc[kAcceptsPosted];
    unsigned acc_pending = 0; // AcceptOps whose completion is still to come
    bool acc_done = false;    // the final (done) accept completion was produced
    bool acc_ending = false;  // no more AcceptEx: the packet that brings pending to 0 ends it
    int acc_err = 0;          // IOCPNET_E_* that ends accepting
};

struct IocpWorker {
    HANDLE port = nullptr;
    std::atomic<bool> wake_pending{false}; // coalesces wakes: one packet per wait round
    RecvPool pool;
    IocpSock *rhead = nullptr, *rtail = nullptr; // readable sockets, oldest first
    size_t readable = 0;
};

class IocpBackend final : public Backend {
  public:
    explicit IocpBackend(unsigned workers);
    ~IocpBackend() override;
    int init(); // ports and extension functions; IOCPNET_OK or an error

    uint32_t kind() const override;

    int listen(const Addr &a, int backlog, BSock **out) override;
    int open_stream(const Addr &a, BSock **out) override;
    void wake(unsigned w) override;
    void release(BSock *s) override;

    void accept(BSock *listener) override;
    void connect(BSock *s, const Addr &peer) override;
    void recv(BSock *s) override;
    void recv_done(const Completion &c) override;
    void recv_stop(BSock *s) override;
    void send(BSock *s, const IoVec *iov, unsigned n) override;
    void cancel(BSock *s) override;

    int wait(unsigned w, Completion *out, unsigned max, int timeout_ms) override;

  private:
    IocpWorker &wk(const IocpSock *s) { return workers_[s->worker]; }
    int attach(IocpSock *s); // joins the owner's port once; IOCPNET_OK or an error
    void post_synthetic(IocpSock *s, IoOp *op, int err);
    // Handles one dequeued packet; true when *out was filled.
    bool complete(IocpWorker &w, const OVERLAPPED_ENTRY &e, Completion *out);

    // iocp_ops.cpp
    int post_accept(IocpListener *l, AcceptOp *op);
    bool accept_complete(IocpListener *l, AcceptOp *op, int err, Completion *out);
    void connect_complete(IocpSock *s, int err, Completion *out);
    void post_zero_recv(IocpSock *s);
    bool read_some(IocpWorker &w, IocpSock *s, Completion *out); // true when *out was filled
    void push_readable(IocpWorker &w, IocpSock *s);
    void unlink_readable(IocpWorker &w, IocpSock *s);

    std::unique_ptr<IocpWorker[]> workers_; // IocpWorker holds an atomic: not movable
    unsigned nworkers_;
    // The TCP provider's extension functions, the same for IPv4 and IPv6.
    LPFN_ACCEPTEX acceptex_ = nullptr;
    LPFN_GETACCEPTEXSOCKADDRS acceptex_addrs_ = nullptr;
    LPFN_CONNECTEX connectex_ = nullptr;
};

// A new overlapped stream socket of `family` (iocp_backend.cpp).
SOCKET iocp_socket(int family, int *err);
// The error of a failed overlapped op as an IOCPNET_E_* code (net_win.cpp).
int iocp_op_error(SOCKET s, OVERLAPPED *ov);
// WSAStartup, once per process (net_win.cpp). IOCPNET_OK or SYSTEM.
int net_startup();

} // namespace iocpnet
