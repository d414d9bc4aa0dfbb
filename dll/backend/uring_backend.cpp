// io_uring backend, part 1: feature probe, ring and buffer-ring set-up,
// sockets, wake() and wait(). The operations are in uring_ops.cpp.
#include "uring_backend.hpp"

#include <algorithm>
#include "net_posix.hpp"
#include "../errors.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace iocpnet {

UringWorker::~UringWorker() {
    while (UringSendMem *m = free_send) {
        free_send = m->next;
        delete m;
    }
    delete[] fixed_free;
    delete[] dead;
}

// ---------------------------------------------------------------- UringBufRing

int UringBufRing::setup(io_uring *ring, unsigned n, unsigned sz, uint16_t bgid) {
    long page = sysconf(_SC_PAGESIZE);
    ring_bytes = (size_t(n) * sizeof(io_uring_buf) + page - 1) / page * page;
    void *r = mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (r == MAP_FAILED) return -errno;
    // The buffers themselves: untouched pages cost nothing until a recv lands there.
    void *m = mmap(nullptr, size_t(n) * sz, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (m == MAP_FAILED) {
        int e = errno;
        munmap(r, ring_bytes);
        return -e;
    }
    br = static_cast<io_uring_buf_ring *>(r);
    mem = static_cast<uint8_t *>(m);
    entries = n;
    size = sz;
    io_uring_buf_ring_init(br);
    io_uring_buf_reg reg{};
    reg.ring_addr = uintptr_t(br);
    reg.ring_entries = n;
    reg.bgid = bgid;
    int rc = io_uring_register_buf_ring(ring, &reg, 0);
    if (rc < 0) {
        munmap(mem, size_t(n) * sz);
        munmap(br, ring_bytes);
        br = nullptr;
        mem = nullptr;
        return rc;
    }
    grow();
    return 0;
}

// The kernel hands out provided buffers in ring order, so every buffer in
// the ring gets its first page touched sooner or later: provide them in
// steps, when the ring ran dry, so the memory follows the receives in
// flight, not the number of connections.
bool UringBufRing::grow() {
    if (provided == entries) return false;
    unsigned add = std::min(kGrowStep, entries - provided);
    for (unsigned i = 0; i < add; i++)
        io_uring_buf_ring_add(br, addr(provided + i), size, uint16_t(provided + i), io_uring_buf_ring_mask(entries), int(i));
    io_uring_buf_ring_advance(br, int(add));
    provided += add;
    return true;
}

// After io_uring_queue_exit: the kernel dropped the registration with the ring.
void UringBufRing::destroy(io_uring *, uint16_t) {
    if (mem) munmap(mem, size_t(entries) * size);
    if (br) munmap(br, ring_bytes);
    mem = nullptr;
    br = nullptr;
}

void UringBufRing::give_back(unsigned bid) {
    io_uring_buf_ring_add(br, addr(bid), size, uint16_t(bid), io_uring_buf_ring_mask(entries), 0);
    io_uring_buf_ring_advance(br, 1);
}

// ------------------------------------------------------------------ probe

// A throwaway ring on the caller's thread: the real rings are created
// disabled and cannot run a test request. Checks the features we rely on
// (extended wait argument, provided buffer rings, multishot recv — which
// implies multishot accept) with a real request on a socketpair.
int uring_probe() {
    io_uring ring;
    io_uring_params p{};
    int rc = io_uring_queue_init_params(8, &ring, &p);
    if (rc < 0) return fail(IOCPNET_E_UNSUPPORTED, "io_uring_setup: %s", strerror(-rc));
    int result = IOCPNET_OK;
    UringBufRing bufs;
    int sv[2] = {-1, -1};
    if (!(p.features & IORING_FEAT_EXT_ARG) || !(p.features & IORING_FEAT_NODROP)) {
        result = fail(IOCPNET_E_UNSUPPORTED, "io_uring lacks EXT_ARG/NODROP (kernel older than 5.11)");
    } else if ((rc = bufs.setup(&ring, 8, 64, 0)) < 0) {
        result = fail(IOCPNET_E_UNSUPPORTED, "io_uring provided buffer rings: %s", strerror(-rc));
    } else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        result = fail(IOCPNET_E_SYSTEM, "socketpair: %s", strerror(errno));
    } else {
        io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        io_uring_prep_recv_multishot(sqe, sv[0], nullptr, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = 0;
        io_uring_sqe_set_data64(sqe, 1);
        io_uring_submit(&ring);
        if (write(sv[1], "x", 1) != 1) result = fail(IOCPNET_E_SYSTEM, "probe write: %s", strerror(errno));
        io_uring_cqe *cqe = nullptr;
        __kernel_timespec ts{1, 0};
        if (result == IOCPNET_OK) {
            rc = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
            if (rc < 0)
                result = fail(IOCPNET_E_UNSUPPORTED, "io_uring multishot recv probe: %s", strerror(-rc));
            else if (cqe->res != 1 || !(cqe->flags & IORING_CQE_F_MORE) || !(cqe->flags & IORING_CQE_F_BUFFER))
                result = fail(IOCPNET_E_UNSUPPORTED, "io_uring multishot recv unsupported (res %d flags %#x)",
                              cqe->res, cqe->flags);
        }
        // End the recv here rather than in the ring's asynchronous teardown,
        // which would interrupt this thread later with task work (EINTR).
        bool more = cqe && (cqe->flags & IORING_CQE_F_MORE);
        if (cqe) io_uring_cqe_seen(&ring, cqe);
        if (more && (sqe = io_uring_get_sqe(&ring))) {
            io_uring_prep_cancel64(sqe, 1, 0);
            io_uring_sqe_set_data64(sqe, 2);
            io_uring_submit(&ring);
            while (more && io_uring_wait_cqe_timeout(&ring, &cqe, &ts) == 0) {
                if (cqe->user_data == 1 && !(cqe->flags & IORING_CQE_F_MORE)) more = false;
                io_uring_cqe_seen(&ring, cqe);
            }
        }
    }
    io_uring_queue_exit(&ring);
    bufs.destroy(nullptr, 0);
    if (sv[0] >= 0) close(sv[0]);
    if (sv[1] >= 0) close(sv[1]);
    return result;
}

// ------------------------------------------------------------- the rings

UringBackend::UringBackend(unsigned workers) : nworkers_(workers) {}

// IOCPNET_URING_DISABLE: a comma list of features to leave off even where the
// kernel has them — "defer_taskrun", "coop_taskrun", "fixed_files",
// "inline_send" — so the fallback paths of older kernels run (and are tested)
// here too.
static unsigned disabled_features() {
    const char *e = getenv("IOCPNET_URING_DISABLE");
    if (!e) return 0;
    unsigned d = 0;
    if (strstr(e, "defer_taskrun")) d |= kFeatDeferTaskrun;
    if (strstr(e, "coop_taskrun")) d |= kFeatCoopTaskrun;
    if (strstr(e, "fixed_files")) d |= kFeatFixedFiles;
    if (strstr(e, "inline_send")) d |= kFeatInlineSend;
    return d;
}

// The best ring this kernel makes, best first:
//  - one issuer with deferred task work (6.1+): completions' task work runs
//    only inside our io_uring_enter, never as an interrupt of the worker.
//    The ring starts disabled because SINGLE_ISSUER binds it to the thread
//    that enables it: the worker (ensure_enabled), not this one.
//  - cooperative task work with TASKRUN_FLAG (5.19+): no IPI per completion;
//    liburing enters the kernel when the flag says work is pending.
//  - a plain ring.
int UringBackend::setup_ring(UringWorker &w, unsigned disable) {
    io_uring_params p{};
    int rc;
    if (!(disable & kFeatDeferTaskrun)) {
        p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED |
                  IORING_SETUP_CQSIZE;
        p.cq_entries = kCqEntries;
        rc = io_uring_queue_init_params(kSqEntries, &w.ring, &p);
        if (rc == 0) {
            w.disabled_flag = true;
            w.features |= kFeatDeferTaskrun;
            return 0;
        }
        log(IOCPNET_LOG_DEBUG, "io_uring: no SINGLE_ISSUER|DEFER_TASKRUN (%s)", strerror(-rc));
    }
    if (!(disable & kFeatCoopTaskrun)) {
        p = io_uring_params{};
        p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_CQSIZE;
        p.cq_entries = kCqEntries;
        rc = io_uring_queue_init_params(kSqEntries, &w.ring, &p);
        if (rc == 0) {
            w.features |= kFeatCoopTaskrun;
            return 0;
        }
        log(IOCPNET_LOG_DEBUG, "io_uring: no COOP_TASKRUN|TASKRUN_FLAG (%s)", strerror(-rc));
    }
    p = io_uring_params{};
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = kCqEntries;
    return io_uring_queue_init_params(kSqEntries, &w.ring, &p);
}

// A sparse registered file table: a socket's operations then name its slot
// (IOSQE_FIXED_FILE) and the kernel skips fget/fput per request. The normal
// descriptor stays for ordinary syscalls (options, shutdown, addresses).
// Registered before the ring is enabled (no issuer yet), capped by
// RLIMIT_NOFILE so liburing never raises the process's limit for it.
void UringBackend::setup_fixed(UringWorker &w, unsigned disable) {
    if (disable & kFeatFixedFiles) return;
    rlimit rl{};
    unsigned cap = kFixedMax;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < cap) cap = unsigned(rl.rlim_cur);
    if (cap == 0) return;
    w.fixed_free = new (std::nothrow) uint32_t[cap];
    w.dead = new (std::nothrow) uint32_t[cap];
    int rc = (w.fixed_free && w.dead) ? io_uring_register_files_sparse(&w.ring, cap) : -ENOMEM;
    if (rc < 0) {
        log(IOCPNET_LOG_DEBUG, "io_uring: no registered file table (%s): plain descriptors", strerror(-rc));
        delete[] w.fixed_free;
        delete[] w.dead;
        w.fixed_free = w.dead = nullptr;
        return;
    }
    w.fixed_cap = cap;
    for (unsigned i = 0; i < cap; i++) w.fixed_free[i] = cap - 1 - i; // slot 0 on top
    w.fixed_nfree = cap;
    w.features |= kFeatFixedFiles;
}

int UringBackend::init() {
    workers_.reset(new (std::nothrow) UringWorker[nworkers_]);
    if (!workers_) return fail(IOCPNET_E_NO_MEMORY, "io_uring workers");
    unsigned disable = disabled_features();
    now_ = !(disable & kFeatInlineSend);
    // IOCPNET_URING_INLINE_AFTER=N: SQEs queued before a send goes inline
    // (0: every send tries inline first). For tests and measurements.
    unsigned inline_after = kInlineAfter;
    if (const char *e = getenv("IOCPNET_URING_INLINE_AFTER")) inline_after = unsigned(strtoul(e, nullptr, 10));
    for (unsigned i = 0; i < nworkers_; i++) {
        UringWorker &w = workers_[i];
        int rc = setup_ring(w, disable);
        if (rc < 0) return fail(IOCPNET_E_UNSUPPORTED, "io_uring_queue_init: %s", strerror(-rc));
        w.ring_ok = true;
        // Blocking on purpose: io_uring answers a READ on an O_NONBLOCK file
        // with -EAGAIN instead of waiting.
        w.efd = eventfd(0, EFD_CLOEXEC);
        if (w.efd < 0) return fail(IOCPNET_E_SYSTEM, "eventfd: %s", strerror(errno));
        rc = w.bufs.setup(&w.ring, kBufCount, kBufSize, kBgid);
        if (rc < 0) return fail(IOCPNET_E_UNSUPPORTED, "io_uring buffer ring: %s", strerror(-rc));
        setup_fixed(w, disable);
        // A send tried at once needs POLL_FIRST for the ring's retry (5.19+,
        // as the task-run flags): the socket was just found full.
        if (!(disable & kFeatInlineSend) && (w.features & (kFeatDeferTaskrun | kFeatCoopTaskrun)))
            w.features |= kFeatInlineSend;
        w.inline_after = inline_after;
        if (i == 0)
            log(IOCPNET_LOG_DEBUG, "io_uring: %s, fixed files %s (%u slots), inline send %s (after %u SQEs)",
                (w.features & kFeatDeferTaskrun)  ? "single issuer + deferred task work"
                : (w.features & kFeatCoopTaskrun) ? "cooperative task work"
                                                  : "plain ring",
                (w.features & kFeatFixedFiles) ? "on" : "off", w.fixed_cap,
                (w.features & kFeatInlineSend) ? "on" : "off", w.inline_after);
    }
    return IOCPNET_OK;
}

UringBackend::~UringBackend() {
    if (!workers_) return;
    for (unsigned i = 0; i < nworkers_; i++) {
        UringWorker &w = workers_[i];
        if (w.ring_ok) io_uring_queue_exit(&w.ring);
        w.bufs.destroy(nullptr, kBgid);
        if (w.efd >= 0) close(w.efd);
    }
}

uint32_t UringBackend::kind() const { return IOCPNET_BACKEND_IO_URING; }

// On the worker's thread only: with SINGLE_ISSUER that thread becomes the
// ring's submitter. Every ring arms its wake-up read here, the first time.
void UringBackend::ensure_enabled(UringWorker &w) {
    if (w.enabled) return;
    w.enabled = true;
    if (w.disabled_flag) {
        // liburing 2.3 declares io_uring_enable_rings but does not export it.
        long rc = syscall(__NR_io_uring_register, w.ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
        if (rc < 0) log(IOCPNET_LOG_ERROR, "io_uring enable rings: %s", strerror(errno));
    }
    arm_wake(w);
}

io_uring_sqe *UringBackend::get_sqe(UringWorker &w) {
    ensure_enabled(w);
    for (int attempt = 0; attempt < 8; attempt++) {
        if (io_uring_sqe *sqe = io_uring_get_sqe(&w.ring)) return sqe;
        // SQ full: hand it to the kernel; if the kernel pushes back (CQ
        // overflow on old kernels), flush completions first.
        int rc = io_uring_submit(&w.ring);
        if (rc <= 0) io_uring_get_events(&w.ring);
    }
    log(IOCPNET_LOG_ERROR, "io_uring: no submission queue entry available");
    return nullptr;
}

void UringBackend::arm_wake(UringWorker &w) {
    io_uring_sqe *sqe = io_uring_get_sqe(&w.ring);
    if (!sqe) {
        io_uring_submit(&w.ring);
        sqe = io_uring_get_sqe(&w.ring);
    }
    if (!sqe) return; // re-armed by the next wake CQE never comes: logged by get_sqe's callers
    io_uring_prep_read(sqe, w.efd, &w.efd_val, sizeof w.efd_val, 0);
    io_uring_sqe_set_data64(sqe, kTagWake);
}

void UringBackend::wake(unsigned wi) {
    if (wi >= nworkers_) return;
    UringWorker &w = workers_[wi];
    // Coalesced: one write until the worker has consumed it. A wake that
    // finds the flag set happened before the worker's wait() returns.
    if (w.wake_pending.exchange(true)) return;
    uint64_t one = 1;
    ssize_t r = write(w.efd, &one, sizeof one);
    (void)r;
}

// --------------------------------------------------------------- sockets

int UringBackend::listen(const Addr &a, int backlog, BSock **out) {
    int fd = -1;
    if (int rc = net_listen_socket(a, backlog, &fd)) return rc;
    auto *s = new (std::nothrow) UringSock;
    if (!s) {
        close(fd);
        return fail(IOCPNET_E_NO_MEMORY, "listener state");
    }
    s->fd = fd;
    *out = s;
    return IOCPNET_OK;
}

int UringBackend::open_stream(const Addr &a, BSock **out) {
    int fd = -1;
    if (int rc = net_stream_socket(a.family(), &fd)) return rc;
    auto *s = new (std::nothrow) UringSock;
    if (!s) {
        close(fd);
        return fail(IOCPNET_E_NO_MEMORY, "socket state");
    }
    s->fd = fd;
    *out = s;
    return IOCPNET_OK;
}

// The worker whose wait() runs on this thread: the owner of its sockets.
static thread_local const UringWorker *t_owner = nullptr;

void UringBackend::release(BSock *b) {
    if (!b) return;
    auto *s = static_cast<UringSock *>(b);
    if (s->fixed >= 0) {
        // The slot still holds the socket open after close(fd) below; the
        // owner closes the slot at its next submit (close_dead), woken when
        // this is another thread.
        UringWorker &w = wk(s);
        {
            std::lock_guard<std::mutex> lk(w.dead_mu);
            w.dead[w.ndead++] = uint32_t(s->fixed);
        }
        w.has_dead.store(true, std::memory_order_release);
        if (t_owner != &w) wake(s->worker);
    }
    if (b->fd >= 0) close(int(b->fd));
    delete[] static_cast<UringSock *>(b)->accepts;
    delete static_cast<UringSock *>(b);
}

// ------------------------------------------------------------------ wait

int UringBackend::wait(unsigned wi, Completion *out, unsigned max, int timeout_ms) {
    if (wi >= nworkers_ || !out || max == 0) return 0;
    UringWorker &w = workers_[wi];
    t_owner = &w;
    ensure_enabled(w);
    close_dead(w);
    unsigned n = 0;
    while (n < max && take_synth(w, &out[n])) n++;
    timeout_ms = unpark_accept(w, timeout_ms);
    io_uring_cqe *cqe = nullptr;
    int rc;
    if (n > 0 || timeout_ms == 0 || io_uring_cq_ready(&w.ring) > 0) {
        rc = io_uring_submit_and_get_events(&w.ring); // submits, runs deferred work, never blocks
    } else if (timeout_ms < 0) {
        rc = io_uring_submit_and_wait_timeout(&w.ring, &cqe, 1, nullptr, nullptr);
    } else {
        __kernel_timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1000000LL};
        rc = io_uring_submit_and_wait_timeout(&w.ring, &cqe, 1, &ts, nullptr);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
        log(IOCPNET_LOG_WARN, "io_uring wait: %s", strerror(-rc));
    // Harvest at most what fits; the rest stays in the CQ for the next call.
    while (n < max && io_uring_peek_cqe(&w.ring, &cqe) == 0 && cqe) {
        bool has = on_cqe(w, cqe, &out[n]);
        io_uring_cqe_seen(&w.ring, cqe);
        if (has) n++;
    }
    while (n < max && take_synth(w, &out[n])) n++;
    return int(n);
}

int uring_create(unsigned workers, std::unique_ptr<Backend> *out) {
    if (!out) return fail(IOCPNET_E_INVALID_ARG, "uring_create: out is NULL");
    try {
        if (int rc = uring_probe()) return rc;
        std::unique_ptr<UringBackend> b(new (std::nothrow) UringBackend(workers ? workers : 1));
        if (!b) return fail(IOCPNET_E_NO_MEMORY, "io_uring backend");
        if (int rc = b->init()) return rc;
        *out = std::move(b);
        return IOCPNET_OK;
    } catch (...) {
        return fail(IOCPNET_E_NO_MEMORY, "io_uring backend set-up");
    }
}

} // namespace iocpnet
