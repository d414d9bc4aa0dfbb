// Backend choice on Windows: the I/O completion port, the only one there is.
#include "backend.hpp"
#include "../errors.hpp"

namespace iocpnet {

int iocp_create(unsigned workers, std::unique_ptr<Backend> *out); // iocp_backend.cpp

int backend_create(uint32_t kind, unsigned workers, std::unique_ptr<Backend> *out) {
    switch (kind) {
    case IOCPNET_BACKEND_AUTO:
    case IOCPNET_BACKEND_IOCP: return iocp_create(workers, out);
    case IOCPNET_BACKEND_IO_URING: return fail(IOCPNET_E_UNSUPPORTED, "io_uring exists only on Linux");
    case IOCPNET_BACKEND_EPOLL: return fail(IOCPNET_E_UNSUPPORTED, "epoll exists only on Linux");
    default: return fail(IOCPNET_E_INVALID_ARG, "unknown backend %u", kind);
    }
}

} // namespace iocpnet
