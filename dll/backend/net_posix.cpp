// Socket helpers for the POSIX backends (io_uring, epoll).
#include "net_posix.hpp"
#include "../errors.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace iocpnet {

void net_set_nodelay(sock_t s, bool on) {
    int v = on ? 1 : 0;
    setsockopt(int(s), IPPROTO_TCP, TCP_NODELAY, &v, sizeof v);
}

void net_set_keepalive(sock_t s, unsigned idle_s) {
    int on = idle_s ? 1 : 0;
    setsockopt(int(s), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    if (idle_s) {
        int idle = int(idle_s), intvl = int(idle_s < 10 ? idle_s : 10), cnt = 3;
        setsockopt(int(s), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
        setsockopt(int(s), IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
        setsockopt(int(s), IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    }
}

int net_stream_socket(int family, int *fd) {
    if (family != AF_INET && family != AF_INET6)
        return fail(IOCPNET_E_ADDR_INVALID, "address family %d is not IPv4 or IPv6", family);
    *fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (*fd < 0) return fail(net_error(errno), "socket: %s", strerror(errno));
    return IOCPNET_OK;
}

int net_listen_socket(const Addr &a, int backlog, int *out) {
    int fd;
    int rc = net_stream_socket(a.family(), &fd);
    if (rc != IOCPNET_OK) return rc;
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    const char *step = "bind";
    if (bind(fd, reinterpret_cast<const sockaddr *>(a.bytes), a.len) == 0) {
        step = "listen";
        if (::listen(fd, backlog > 0 ? backlog : SOMAXCONN) == 0) {
            *out = fd;
            return IOCPNET_OK;
        }
    }
    int e = errno;
    close(fd);
    return fail(net_error(e), "%s: %s", step, strerror(e));
}

AcceptFault net_accept_fault(int e) {
    switch (e) {
    case EINTR: case EAGAIN: case ECONNABORTED: case EPROTO: case EPERM: case ENETDOWN: case ENOPROTOOPT:
    case EHOSTDOWN: case ENONET: case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH: case ETIMEDOUT:
        return AcceptFault::retry;
    case EMFILE: case ENFILE: case ENOBUFS: case ENOMEM:
        return AcceptFault::pause;
    default:
        return AcceptFault::fatal;
    }
}

long net_write_now(int fd, const iovec *iov, unsigned n) {
    ssize_t r;
    if (n == 1) {
        do r = ::send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (r < 0 && errno == EINTR);
    } else {
        msghdr m{};
        m.msg_iov = const_cast<iovec *>(iov);
        m.msg_iovlen = n;
        do r = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (r < 0 && errno == EINTR);
    }
    if (r >= 0) return long(r);
    if (errno == EAGAIN || errno == EWOULDBLOCK) return kSendLater;
    return net_error(errno);
}

unsigned net_iovecs(const IoVec *iov, unsigned n, iovec *out, unsigned max) {
    if (n > max) n = max;
    size_t total = 0;
    unsigned used = 0;
    for (; used < n && total < size_t(INT_MAX); used++) {
        size_t len = iov[used].len;
        if (len > size_t(INT_MAX) - total) len = size_t(INT_MAX) - total;
        out[used] = iovec{const_cast<void *>(iov[used].base), len};
        total += len;
    }
    return used;
}

void net_shutdown_write(sock_t s) { shutdown(int(s), SHUT_WR); }

void net_set_abortive(sock_t s) {
    linger l{1, 0};
    setsockopt(int(s), SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

int net_error(int e) {
    if (e < 0) e = -e; // io_uring results are -errno
    switch (e) {
    case ECONNREFUSED: return IOCPNET_E_CONN_REFUSED;
    case ECONNRESET: case EPIPE: case ECONNABORTED: return IOCPNET_E_CONN_RESET;
    case ETIMEDOUT: return IOCPNET_E_TIMEOUT;
    case EADDRINUSE: return IOCPNET_E_ADDR_IN_USE;
    case EADDRNOTAVAIL: case EAFNOSUPPORT: case EINVAL: return IOCPNET_E_ADDR_INVALID;
    case ENETUNREACH: case EHOSTUNREACH: case ENETDOWN: case EHOSTDOWN: return IOCPNET_E_UNREACHABLE;
    case ENOMEM: case ENOBUFS: return IOCPNET_E_NO_MEMORY;
    case EMFILE: case ENFILE: return IOCPNET_E_LIMIT;
    case ECANCELED: return IOCPNET_E_SHUTTING_DOWN;
    default: return IOCPNET_E_SYSTEM;
    }
}

} // namespace iocpnet
