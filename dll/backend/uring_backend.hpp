// The io_uring backend: one ring per worker, multishot accept and recv into
// a per-worker provided-buffer ring, send/sendmsg, connect, cancel by fd, and
// an eventfd read for wake(). Every request on a socket is submitted by its
// owner worker's ring, so all its CQEs come back there. Internal to uring_*.cpp.
#pragma once
#include "backend.hpp"

#include <liburing.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace iocpnet {

// user_data = UringSock pointer | tag (the state is 8-byte aligned). Tags
// without a socket (wake, cancel) carry a null pointer, so a late CQE never
// dereferences a released socket.
enum UringTag : uint64_t {
    kTagCancel = 0,  // ASYNC_CANCEL's own CQE: ignored
    kTagAccept = 1,
    kTagRecv = 2,
    kTagSend = 3,
    kTagConnect = 4,
    kTagConnPoll = 5, // POLLOUT after a connect that said EINPROGRESS (old kernels)
    kTagWake = 6,
    kTagFixedClose = 7, // close_direct of a released socket's fixed slot: user_data = slot << 3 | tag
};
constexpr uint64_t kTagMask = 7;

struct UringSock;

// An intrusive doubly linked list hook: parking and synthetic completions
// must not allocate (nothing may throw across the contract).
struct UringLink {
    UringLink *prev = nullptr, *next = nullptr;
    UringSock *owner = nullptr;
    bool linked() const { return next != nullptr; }
};
struct UringList {
    UringLink head;
    UringList() { head.prev = head.next = &head; }
    bool empty() const { return head.next == &head; }
    UringSock *front() const { return head.next->owner; }
    void push_back(UringLink *l) {
        l->prev = head.prev;
        l->next = &head;
        head.prev->next = l;
        head.prev = l;
    }
    static void unlink(UringLink *l) {
        if (!l->linked()) return;
        l->prev->next = l->next;
        l->next->prev = l->prev;
        l->prev = l->next = nullptr;
    }
};

enum class UringOpState : uint8_t { idle, armed, parked };

// A sendmsg's header and iovecs: the kernel may read them until the CQE
// (submission is batched until the next wait), while the core's iov[] is
// valid only during send(). Taken from the worker's free list for one send,
// so an idle socket holds none.
struct UringSendMem {
    static constexpr unsigned kIov = 64; // more is a partial send; the core sends the rest
    UringSendMem *next = nullptr;        // in UringWorker::free_send
    msghdr msg{};
    iovec iov[kIov];
};

// One accept in flight with the address buffer the kernel fills: a
// multishot accept has a single buffer for every connection, so the peer's
// address would have to be asked of the socket, which no longer knows it
// once the peer reset. A listener keeps kAccepts of these armed.
struct UringSock;
struct alignas(8) UringAcceptMem {
    UringSock *listener = nullptr;
    bool armed = false;
    socklen_t len = 0;
    sockaddr_storage addr{};
};

// Per-socket state, kept small (the engine aims at <= 512 B per idle
// connection in all): what only an operation in flight needs lives outside.
struct alignas(8) UringSock : BSock {
    UringOpState accept_st = UringOpState::idle;
    UringOpState recv_st = UringOpState::idle;
    bool send_busy = false, connect_busy = false;
    bool cancelling = false; // cancel() was called: nothing is re-armed any more
    bool recv_stopping = false; // recv_stop(): the recv ends with kRecvStopped
    uint8_t synth = 0;       // bit per Op: a completion made up in user space
    int32_t synth_res[4] = {}; // IOCPNET_E_* (or 0), or the bytes of an inline send
    int32_t fixed = kFixedUnset; // slot in the worker's registered file table (uring_files.cpp), or:
    static constexpr int32_t kFixedUnset = -1; // not tried yet
    static constexpr int32_t kFixedNone = -2;  // plain descriptor (table full, refused or switched off)
    UringLink park;          // in UringWorker::starved (recv) or UringWorker::backoff (accept)
    UringLink synth_link;    // in UringWorker::synth
    int64_t park_until_ms = 0;          // listener: accept paused until then (mono_ms)
    Addr *connect_to = nullptr;         // connect in flight: the kernel may read the address until its CQE
    UringSendMem *send_mem = nullptr;   // sendmsg in flight
    UringAcceptMem *accepts = nullptr;  // listener: kAccepts slots, from the first accept()
    uint8_t accepts_armed = 0;
    UringSock() { park.owner = synth_link.owner = this; }
};

// A provided-buffer ring (liburing 2.3 has no io_uring_setup_buf_ring).
struct UringBufRing {
    io_uring_buf_ring *br = nullptr;
    uint8_t *mem = nullptr;
    unsigned entries = 0, size = 0;
    size_t ring_bytes = 0;
    static constexpr unsigned kGrowStep = 64;
    unsigned provided = 0;    // buffers given to the kernel so far (grow)
    unsigned outstanding = 0; // buffers handed to the core, not yet recv_done
    int setup(io_uring *ring, unsigned entries, unsigned size, uint16_t bgid); // -errno
    void destroy(io_uring *ring, uint16_t bgid);
    void give_back(unsigned bid);
    bool grow(); // provides kGrowStep more buffers; false when all are provided
    uint8_t *addr(unsigned bid) const { return mem + size_t(bid) * size; }
    unsigned available() const { return provided - outstanding; }
};

// What the kernel accepted (probed per ring, with IOCPNET_URING_DISABLE able
// to switch each off: see uring_backend.cpp). Logged at DEBUG.
enum UringFeature : unsigned {
    kFeatDeferTaskrun = 1u << 0, // SINGLE_ISSUER | DEFER_TASKRUN (6.1+)
    kFeatCoopTaskrun = 1u << 1,  // COOP_TASKRUN | TASKRUN_FLAG (5.19+), when DEFER_TASKRUN is not there
    kFeatFixedFiles = 1u << 2,   // sockets in a registered (sparse) file table: no fget/fput per op
    kFeatInlineSend = 1u << 3,   // in a burst, send() tries the socket at once, the ring only when it is full
};

// Names are Uring-prefixed: the core has its own iocpnet::Worker, and two
// classes of one name in one namespace break the ODR (seen as garbage lists).
struct UringWorker {
    io_uring ring{};
    bool ring_ok = false;
    bool enabled = false; // the ring was created R_DISABLED; enabled on the worker
    bool disabled_flag = false;
    int efd = -1;
    uint64_t efd_val = 0;
    std::atomic<bool> wake_pending{false};
    UringBufRing bufs;
    UringList starved; // recv parked on -ENOBUFS, re-armed as buffers come back
    UringList backoff; // accept parked on EMFILE/ENFILE, re-armed after a delay
    UringList synth;   // sockets with synthetic completions to report
    UringSendMem *free_send = nullptr; // sendmsg memory of finished sends
    unsigned features = 0;             // UringFeature bits this ring runs with
    unsigned inline_after = 0;         // kInlineAfter, or IOCPNET_URING_INLINE_AFTER
    // The registered file table: free slots (a stack), owner thread only.
    uint32_t *fixed_free = nullptr;
    unsigned fixed_nfree = 0, fixed_cap = 0;
    // Slots of released sockets, closed (close_direct) by the owner's next
    // wait(): release() may run on any thread, the table only on the owner.
    std::mutex dead_mu;
    uint32_t *dead = nullptr; // fixed_cap entries: a slot is dead at most once
    unsigned ndead = 0;
    std::atomic<bool> has_dead{false};
    ~UringWorker();
};

class UringBackend final : public Backend {
  public:
    static constexpr unsigned kSqEntries = 1024;
    static constexpr unsigned kCqEntries = 8192;
    static constexpr unsigned kBufCount = 512;      // per worker, power of two
    static constexpr unsigned kBufSize = 16 * 1024; // one recv completion at most
    static constexpr uint16_t kBgid = 0;
    static constexpr unsigned kAccepts = 8;         // single-shot accepts kept armed per listener
    static constexpr unsigned kFixedMax = 16384;    // registered file slots per worker (RLIMIT_NOFILE caps it)
    static constexpr unsigned kInlineAfter = 128;   // SQEs already queued before a send goes inline (send())
    static constexpr size_t kNowMin = 2048;         // the smallest send that send_now writes itself

    explicit UringBackend(unsigned workers);
    ~UringBackend() override;
    int init(); // sets up every ring; IOCPNET_OK or fail(...)

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
    long send_now(BSock *s, const IoVec *iov, unsigned n) override;
    bool sends_now() const override { return now_; }
    void cancel(BSock *s) override;
    int wait(unsigned w, Completion *out, unsigned max, int timeout_ms) override;

    // For the tests (tests/uring_features.cpp): what worker w runs with, and
    // its registered file slots free (owner thread).
    unsigned features(unsigned w) const { return w < nworkers_ ? workers_[w].features : 0; }
    unsigned fixed_slots_free(unsigned w) const { return w < nworkers_ ? workers_[w].fixed_nfree : 0; }

  private:
    UringWorker &wk(const UringSock *s) { return workers_[s->worker]; }
    int setup_ring(UringWorker &w, unsigned disable); // the best ring this kernel makes
    void setup_fixed(UringWorker &w, unsigned disable);
    void attach_fixed(UringWorker &w, UringSock *s); // owner: the socket's slot, at its first send by the ring
    void target(io_uring_sqe *sqe, UringSock *s);    // the slot instead of the fd when there is one
    void close_dead(UringWorker &w);                 // close_direct for slots released meanwhile
    bool send_inline(UringSock *s, const IoVec *iov, unsigned n); // true: done, its completion posted
    long write_now(UringSock *s, const IoVec *iov, unsigned n);   // bytes, kSendLater or IOCPNET_E_*
    void ensure_enabled(UringWorker &w);
    io_uring_sqe *get_sqe(UringWorker &w);
    void post_synth(UringSock *s, Op op, int res);
    bool take_synth(UringWorker &w, Completion *c);
    void end_connect(UringSock *s); // frees the address the kernel no longer reads
    void put_send_mem(UringWorker &w, UringSendMem *m);
    void arm_accept(UringSock *s);
    void arm_recv(UringSock *s);
    void recv_ended(UringSock *s);
    void arm_wake(UringWorker &w);
    void unpark_recv(UringWorker &w);
    int unpark_accept(UringWorker &w, int timeout_ms);
    bool on_cqe(UringWorker &w, const io_uring_cqe *cqe, Completion *c); // true: *c filled
    bool on_accept_cqe(UringAcceptMem *m, const io_uring_cqe *cqe, Completion *c);
    bool on_recv_cqe(UringWorker &w, UringSock *s, const io_uring_cqe *cqe, Completion *c);

    std::unique_ptr<UringWorker[]> workers_; // UringWorker holds an atomic: not movable
    unsigned nworkers_;
    bool now_ = false; // send_now writes (IOCPNET_URING_DISABLE=inline_send turns it off)
};

int uring_probe(); // IOCPNET_OK or fail(IOCPNET_E_UNSUPPORTED, ...): uring_backend.cpp

} // namespace iocpnet
