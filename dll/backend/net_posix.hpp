// Socket creation shared by the POSIX backends (io_uring and epoll), which
// both want the same non-blocking, close-on-exec stream sockets.
#pragma once
#include "backend.hpp"

namespace iocpnet {

// A non-blocking stream socket of `family`. Errors: ADDR_INVALID, LIMIT, SYSTEM.
int net_stream_socket(int family, int *fd);
// A listening socket bound to a (SO_REUSEADDR; dual-stack for "::").
// Errors: ADDR_IN_USE, ADDR_INVALID, LIMIT, SYSTEM.
int net_listen_socket(const Addr &a, int backlog, int *fd);

} // namespace iocpnet
