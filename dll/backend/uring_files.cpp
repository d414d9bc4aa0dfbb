// io_uring backend, part 3: the registered file table. Each worker's ring has
// a sparse table (uring_backend.cpp, setup_fixed); a socket gets a slot when
// its first send goes through the ring (send(): inline sends need none, and
// a multishot recv takes its file once per arming, so registering every
// socket would cost a syscall per connection for little), and from then on
// its requests name the slot (IOSQE_FIXED_FILE), which spares the kernel an
// fget/fput per request: sockets that keep filling up — bulk senders, slow
// peers — are the ones that gain. The
// normal descriptor stays open beside it for the ordinary syscalls
// (options, shutdown, addresses) and for cancel by fd, which matches the same
// file. A released socket's slot is closed by the owner's next submit
// (close_direct) and reused only when that completes, so a new socket never
// gets a slot whose close is still queued.
#include "uring_backend.hpp"
#include "../errors.hpp"

#include <cstring>

namespace iocpnet {

void UringBackend::attach_fixed(UringWorker &w, UringSock *s) {
    if (s->fixed != UringSock::kFixedUnset) return;
    if (!w.fixed_nfree) { // no table, or every slot in use: a plain descriptor
        s->fixed = UringSock::kFixedNone;
        return;
    }
    uint32_t slot = w.fixed_free[--w.fixed_nfree];
    int fd = int(s->fd);
    int rc = io_uring_register_files_update(&w.ring, slot, &fd, 1);
    if (rc != 1) {
        w.fixed_free[w.fixed_nfree++] = slot;
        s->fixed = UringSock::kFixedNone;
        log(IOCPNET_LOG_DEBUG, "io_uring: fd %d stays a plain descriptor (%s)", fd, strerror(rc < 0 ? -rc : EINVAL));
        return;
    }
    s->fixed = int32_t(slot);
}

void UringBackend::target(io_uring_sqe *sqe, UringSock *s) {
    if (s->fixed < 0) return;
    sqe->fd = s->fixed;
    sqe->flags |= IOSQE_FIXED_FILE;
}

void UringBackend::close_dead(UringWorker &w) {
    if (!w.has_dead.load(std::memory_order_acquire)) return;
    std::lock_guard<std::mutex> lk(w.dead_mu);
    while (w.ndead > 0) {
        io_uring_sqe *sqe = io_uring_get_sqe(&w.ring);
        if (!sqe) break; // SQ full: the rest at the next wait()
        uint32_t slot = w.dead[--w.ndead];
        io_uring_prep_close_direct(sqe, slot);
        io_uring_sqe_set_data64(sqe, (uint64_t(slot) << 3) | kTagFixedClose);
    }
    w.has_dead.store(w.ndead > 0, std::memory_order_relaxed);
}

} // namespace iocpnet
