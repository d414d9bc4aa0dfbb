// The IOCP backend: one completion port per Backend, shared by every worker.
// Internal to iocp_backend.cpp / iocp_ops.cpp.
//
// Every operation is an IoOp whose OVERLAPPED is its first member, so the
// pointer GetQueuedCompletionStatusEx returns is the op. Ops live inside the
// socket (one per kind; a listener owns a vector of AcceptOps), and the core
// releases a socket only after each submitted op has completed with done, so
// no completion ever touches freed memory. The listener's AcceptEx ops are the
// backend's own: their count (acc_pending) keeps the listener's final accept
// completion back until the last of them has been dequeued.
//
// No FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: every success, immediate or not,
// arrives through the port, so there is one completion path. An immediate
// failure (no packet queued) is turned into a "synthetic" packet posted with
// kKeySynthetic, so it too arrives through wait() on a worker.
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

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace iocpnet {

class IocpBackend;
struct IocpSock;

constexpr ULONG_PTR kKeyIo = 0;        // a socket associated with the port
constexpr ULONG_PTR kKeyWake = 1;      // wake() of a worker index we do not know: no OVERLAPPED
constexpr ULONG_PTR kKeySynthetic = 2; // an op failed (or was refused) before reaching the kernel

constexpr unsigned kAcceptsPosted = 16;   // AcceptEx kept pending per listener
constexpr uint32_t kRecvMin = 4096;       // first receive buffer of a connection
constexpr uint32_t kRecvMax = 64 * 1024;  // grown (doubling) while reads fill it
constexpr unsigned kMaxSendBufs = 64;     // WSABUFs per WSASend; more = a partial send

struct IoOp {
    OVERLAPPED ov{};       // first: the OVERLAPPED* of a completion is the op
    Op kind = Op::recv;
    IocpSock *sock = nullptr;
    int synthetic_err = 0; // IOCPNET_E_* of a kKeySynthetic packet
};

struct AcceptOp : IoOp {
    SOCKET child = INVALID_SOCKET; // the pre-created socket AcceptEx fills
    bool active = false;           // posted, completion not yet dequeued
    // AcceptEx writes local and remote address here, each sockaddr + 16.
    char addrs[2 * (sizeof(sockaddr_in6) + 16)];
};

struct IocpSock : BSock {
    IocpBackend *be = nullptr;
    int family = AF_INET;
    // Set by cancel() (under mu); later completions report SHUTTING_DOWN and
    // nothing is issued. Atomic: completions read it on any worker.
    std::atomic<bool> cancelled{false};

    // connection
    IoOp rop, sop, cop;
    std::unique_ptr<uint8_t[]> rbuf;
    uint32_t rcap = 0;
    bool rgrow = false; // the last read filled rbuf: double it before the next
    bool addrs_kept = false; // net_remember_addresses was called
    WSABUF sbufs[kMaxSendBufs];

    // Orders issuing ops against cancel(); for a listener it also guards the
    // accept state below (AcceptEx is re-posted on workers).
    std::mutex mu;
    std::vector<std::unique_ptr<AcceptOp>> acc;
    unsigned acc_pending = 0;  // AcceptOps whose completion is still to come
    bool accepting = false;    // accept() was called
    bool acc_done = false;     // the final (done) accept completion was produced
    bool acc_ending = false;   // no more AcceptEx: the next packet to bring pending to 0 ends it
    int acc_err = 0;           // IOCPNET_E_* that ends accepting
    LPFN_ACCEPTEX acceptex = nullptr;
};

class IocpBackend final : public Backend {
  public:
    IocpBackend(HANDLE port, unsigned workers);
    ~IocpBackend() override;

    uint32_t kind() const override;
    bool any_thread_submit() const override { return true; }

    int listen(const Addr &a, int backlog, BSock **out) override;
    int open_stream(const Addr &a, BSock **out) override;
    void wake(unsigned w) override;
    void release(BSock *s) override;

    void accept(BSock *listener) override;
    void connect(BSock *s, const Addr &peer) override;
    void recv(BSock *s) override;
    void recv_done(const Completion &c) override;
    void send(BSock *s, const IoVec *iov, unsigned n) override;
    void cancel(BSock *s) override;

    int wait(unsigned w, Completion *out, unsigned max, int timeout_ms) override;

    // iocp_ops.cpp
    void post_recv(IocpSock *s);
    void post_synthetic(IoOp *op, int err);
    // Handles one dequeued accept packet; true when *out was filled.
    bool accept_complete(AcceptOp *op, int err, Completion *out);
    void complete_connect(IocpSock *s, int err, Completion *out);

    HANDLE port() const { return port_; }
    // A new overlapped socket of `family`, associated with the port.
    SOCKET new_socket(int family, bool associate, int *err);
    bool associate(SOCKET s);

  private:
    int post_accept(IocpSock *l, AcceptOp *op); // with l->mu held
    LPFN_CONNECTEX connectex(SOCKET s);

    HANDLE port_;
    unsigned workers_;
    std::mutex fn_mu_;
    LPFN_CONNECTEX connectex_ = nullptr;
};

// The error of a failed overlapped op as an IOCPNET_E_* code (net_win.cpp).
int iocp_op_error(SOCKET s, OVERLAPPED *ov);
// WSAStartup, once per process (net_win.cpp). IOCPNET_OK or SYSTEM.
int net_startup();
// Records a connected socket's addresses for net_address_text after the
// connection is gone; forgotten when the socket is released (net_win.cpp).
void net_remember_addresses(SOCKET s);
void net_forget_addresses(SOCKET s);

} // namespace iocpnet
