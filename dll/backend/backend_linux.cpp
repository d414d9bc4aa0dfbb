// Backend choice on Linux: io_uring when the kernel lets us have it, else epoll.
#include "backend.hpp"
#include "../errors.hpp"

namespace iocpnet {

int uring_create(unsigned workers, std::unique_ptr<Backend> *out); // uring_backend.cpp
int epoll_create(unsigned workers, std::unique_ptr<Backend> *out); // epoll_backend.cpp

int backend_create(uint32_t kind, unsigned workers, std::unique_ptr<Backend> *out) {
    switch (kind) {
    case IOCPNET_BACKEND_AUTO: {
        // The probe is the real set-up: a ring refused by seccomp, a sysctl
        // or an old kernel (ENOSYS, EPERM) falls back to epoll.
        int rc = uring_create(workers, out);
        if (rc == IOCPNET_OK) return rc;
        log(IOCPNET_LOG_INFO, "io_uring unavailable (%s), using epoll", last_error());
        return epoll_create(workers, out);
    }
    case IOCPNET_BACKEND_IO_URING: return uring_create(workers, out);
    case IOCPNET_BACKEND_EPOLL: return epoll_create(workers, out);
    case IOCPNET_BACKEND_IOCP: return fail(IOCPNET_E_UNSUPPORTED, "the IOCP backend exists only on Windows");
    default: return fail(IOCPNET_E_INVALID_ARG, "unknown backend %u", kind);
    }
}

} // namespace iocpnet
