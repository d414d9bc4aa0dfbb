// What the POSIX backends (io_uring and epoll) share: socket creation and
// one policy for accept errors.
#pragma once
#include <sys/uio.h>

#include "backend.hpp"

namespace iocpnet {

// A non-blocking stream socket of `family`. Errors: ADDR_INVALID, LIMIT, SYSTEM.
int net_stream_socket(int family, int *fd);
// A listening socket bound to a (SO_REUSEADDR; dual-stack for "::").
// Errors: ADDR_IN_USE, ADDR_INVALID, LIMIT, SYSTEM.
int net_listen_socket(const Addr &a, int backlog, int *fd);

// What an accept(2) error (errno) means for the listener:
//   retry: the new connection's own trouble (Linux passes its pending network
//          errors on to accept); accept again at once, report nothing.
//   pause: out of descriptors or memory; the connection stays in the backlog,
//          so accepting again at once would spin: report it and pause the
//          listener for kAcceptPauseMs (the core may free descriptors meanwhile).
//   fatal: the listener itself is broken; accepting ends.
enum class AcceptFault : uint8_t { retry, pause, fatal };
AcceptFault net_accept_fault(int err);
constexpr int kAcceptPauseMs = 50;

// One non-blocking write of iov[0..n) to a stream socket: the bytes written
// (fewer is a partial write), kSendLater when the socket is full, or an
// IOCPNET_E_* code with errno left as the system set it. Never logs: the
// core's inline send calls it under a connection's lock.
long net_write_now(int fd, const iovec *iov, unsigned n);

// The core's parts iov[0..n) as iovecs in out[]: at most max of them and
// INT_MAX bytes in all (a send's result must fit Completion::res). Fewer is
// a partial write, which the core completes. Returns how many it filled.
unsigned net_iovecs(const IoVec *iov, unsigned n, iovec *out, unsigned max);

} // namespace iocpnet
