// The backend contract: the few completion-based operations every platform
// provides (IOCP, io_uring, epoll). Nothing here knows about callbacks,
// framing or ids; nothing above this header includes a platform header.
//
// Model. The core *submits* an operation on a socket and later *reaps* its
// completion from Backend::wait() on a worker thread. Each socket (BSock)
// belongs to one worker (BSock::worker, set by the core before the first
// operation), and every completion of that socket is returned by that
// worker's wait(): a socket's operations and completions are serialized on
// one thread on every platform (IOCP: one completion port per worker).
// Threads:
//   - "any thread":   may be called from any thread, concurrently.
//   - "owner":        only on the socket's owner worker thread.
//   - "worker w":     only on worker w's own thread.
//
// Lifetime. Every submitted operation yields completions until one with
// done == true; after cancel() that comes soon, with res < 0. The core
// calls release() only once no operation on the socket is pending, so a
// backend never sees a completion for a freed BSock.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace iocpnet {

using sock_t = intptr_t; // POSIX fd or Windows SOCKET
constexpr sock_t kNoSock = -1;

// A resolved address: a sockaddr_in / sockaddr_in6 copied as bytes.
struct Addr {
    alignas(8) unsigned char bytes[128];
    uint32_t len = 0;
    int family() const; // AF_INET / AF_INET6 (net_*.cpp)
};

struct IoVec {
    const void *base;
    size_t len;
};

// An IPv4 or IPv6 endpoint, compact (20 bytes): what a connection keeps of
// its addresses; formatted to text only when asked (net_format).
struct NetAddr {
    uint8_t family = 0; // 0 = unknown, 4 or 6
    uint8_t pad = 0;
    uint16_t port = 0;  // host order
    uint8_t ip[16] = {};
};

// Per-socket state. Backends derive from it (struct UringSock : BSock ...).
struct BSock {
    sock_t fd = kNoSock;
    void *ctx = nullptr;  // the core's object; echoed in every completion
    unsigned worker = 0;  // owner worker; the core sets it before the first op
};

enum class Op : uint8_t { accept, connect, recv, send };

struct Completion {
    Op op;
    bool done;             // no further completion comes for this submission
    int res;               // see below
    void *ctx;             // the socket's ctx at completion time
    BSock *sock;           // the socket the operation was submitted on
    BSock *accepted;       // accept, res == 0: the new socket (worker/ctx unset)
    NetAddr peer;          // accept, res == 0: the peer's address as accept returned it
    const uint8_t *data;   // recv, res > 0: the bytes, valid until recv_done
    uint32_t buf;          // recv: the backend's buffer token for recv_done
};
// res per op:
//   accept:  0 with `accepted` set (done == false); < 0 a transient error
//            (done == false, the backend keeps accepting) or the end (done).
//   connect: 0 connected, or < 0 an IOCPNET_E_* code. Always done.
//   recv:    > 0 bytes at `data` (done == false); 0 the peer's orderly
//            shutdown (done); < 0 an IOCPNET_E_* code (done).
//            kRecvStopped: the end that recv_stop asked for (done).
//   send:    >= 0 bytes written, possibly fewer than submitted (the core
//            submits the rest); < 0 an IOCPNET_E_* code. Always done.

constexpr int kRecvStopped = -1000; // not an IOCPNET_E_* code: never reaches the user
constexpr long kSendLater = -1001;  // send_now: not now, nothing written; never reaches the user

class Backend {
  public:
    virtual ~Backend() = default;
    virtual uint32_t kind() const = 0;           // IOCPNET_BACKEND_*

    // --- any thread
    // A non-blocking listening socket bound to `a` (SO_REUSEADDR; IPV6_V6ONLY
    // off for "::"). Errors: ADDR_IN_USE, ADDR_INVALID, SYSTEM.
    virtual int listen(const Addr &a, int backlog, BSock **out) = 0;
    // A non-blocking stream socket of a's family, ready for connect().
    virtual int open_stream(const Addr &a, BSock **out) = 0;
    // Makes wait(w) return soon (at least once after this call).
    virtual void wake(unsigned w) = 0;
    // Closes the socket and frees s. Only once nothing is pending on s.
    virtual void release(BSock *s) = 0;

    // --- owner
    virtual void accept(BSock *listener) = 0;       // continuous: one completion per socket
    virtual void connect(BSock *s, const Addr &peer) = 0;
    virtual void recv(BSock *s) = 0;                // continuous until EOF, error or cancel
    virtual void recv_done(const Completion &c) = 0; // gives a recv buffer back
    // Ends the continuous recv and nothing else (the receiver paused): bytes
    // already read may still complete, then one completion with done == true
    // and res == kRecvStopped (or the EOF or error that came first). Only
    // while a recv runs; recv() may start a new one after that completion.
    virtual void recv_stop(BSock *s) = 0;
    // At most one send in flight per socket. The bytes stay valid until its
    // completion; iov[] itself only during the call (the core gathers into a
    // per-worker scratch array): a backend that needs it later copies it, and
    // an idle socket holds no iovec array.
    virtual void send(BSock *s, const IoVec *iov, unsigned n) = 0;
    // Every pending operation on s completes soon with done == true.
    virtual void cancel(BSock *s) = 0;
    // Writes what the socket takes at once, without blocking and without a
    // completion, straight from iov (valid during the call only). Only while
    // no send is in flight on s, on the owner. Returns the bytes written
    // (>= 0, possibly fewer than offered), kSendLater when nothing can go now
    // (full socket, or a backend that does not write synchronously: submit
    // with send()), or an IOCPNET_E_* code (the socket failed). The core's
    // connection lock is held: it must not log (the log hook is user code).
    virtual long send_now(BSock *, const IoVec *, unsigned) { return kSendLater; }
    virtual bool sends_now() const { return false; } // send_now can write (else it always says kSendLater)

    // --- worker w
    // Waits up to timeout_ms (-1 = forever) and returns up to max completions
    // (0 after a wake or the timeout).
    virtual int wait(unsigned w, Completion *out, unsigned max, int timeout_ms) = 0;
};

// Creates the backend `kind` (IOCPNET_BACKEND_*; AUTO = the best that works
// here; the IOCPNET_BACKEND environment override is applied by the caller) for
// `workers` worker threads. Errors: UNSUPPORTED, NO_MEMORY, SYSTEM.
// One per platform: backend_linux.cpp, backend_win.cpp.
int backend_create(uint32_t kind, unsigned workers, std::unique_ptr<Backend> *out);

// Socket helpers shared by the backends and the core (net_addr.cpp on every
// platform; net_posix.cpp / net_win.cpp).
int net_resolve(const char *host, uint16_t port, bool passive, Addr *out); // ADDR_INVALID
// A socket's peer (peer = true) or local address. SYSTEM when the system
// does not know it (not connected, reset).
int net_sock_addr(sock_t s, bool peer, NetAddr *out);
void net_addr_from(const Addr &a, NetAddr *out);
// "127.0.0.1:80" / "[::1]:80" with its NUL into buf. LIMIT when len is too small.
int net_format(const NetAddr &a, char *buf, size_t len);
int net_local_port(sock_t s, uint16_t *out);
void net_set_nodelay(sock_t s, bool on);
void net_set_keepalive(sock_t s, unsigned idle_s); // 0 = off
void net_shutdown_write(sock_t s);
void net_set_abortive(sock_t s); // SO_LINGER {1, 0}: close() sends RST
int net_error(int sys_err);      // errno / WSA error -> IOCPNET_E_*

// Milliseconds of a monotonic clock: the one clock of the engine.
int64_t mono_ms();

} // namespace iocpnet
