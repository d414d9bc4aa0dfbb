// Socket helpers for the POSIX backends (io_uring, epoll).
#include "net_posix.hpp"
#include "../errors.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace iocpnet {

int Addr::family() const { return reinterpret_cast<const sockaddr *>(bytes)->sa_family; }

int net_resolve(const char *host, uint16_t port, bool passive, Addr *out) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = (passive ? AI_PASSIVE : 0) | AI_NUMERICSERV;
    if (!passive) hints.ai_flags |= AI_ADDRCONFIG;
    if (host && !*host) host = nullptr;
    if (!host && passive) hints.ai_family = AF_INET; // NULL = all IPv4 addresses
    char service[8];
    snprintf(service, sizeof service, "%u", unsigned(port));
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc == EAI_BADFLAGS || (rc != 0 && !passive)) { // AI_ADDRCONFIG hides loopback without a network
        hints.ai_flags &= ~AI_ADDRCONFIG;
        rc = getaddrinfo(host, service, &hints, &res);
    }
    if (rc != 0 || !res)
        return fail(IOCPNET_E_ADDR_INVALID, "cannot resolve '%s': %s", host ? host : "(any)", gai_strerror(rc));
    // Prefer IPv4 for a name that has both: loopback servers usually listen there.
    addrinfo *pick = res;
    for (addrinfo *ai = res; ai; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) { pick = ai; break; }
    memcpy(out->bytes, pick->ai_addr, pick->ai_addrlen);
    out->len = uint32_t(pick->ai_addrlen);
    freeaddrinfo(res);
    return IOCPNET_OK;
}

int net_address_text(sock_t s, bool peer, char *buf, size_t len) {
    sockaddr_storage ss{};
    socklen_t sl = sizeof ss;
    int rc = peer ? getpeername(int(s), reinterpret_cast<sockaddr *>(&ss), &sl)
                  : getsockname(int(s), reinterpret_cast<sockaddr *>(&ss), &sl);
    if (rc != 0) return fail(net_error(errno), "%s: %s", peer ? "getpeername" : "getsockname", strerror(errno));
    char ip[INET6_ADDRSTRLEN], text[IOCPNET_ADDRSTRLEN];
    if (ss.ss_family == AF_INET6) {
        auto *a6 = reinterpret_cast<sockaddr_in6 *>(&ss);
        inet_ntop(AF_INET6, &a6->sin6_addr, ip, sizeof ip);
        snprintf(text, sizeof text, "[%s]:%u", ip, unsigned(ntohs(a6->sin6_port)));
    } else {
        auto *a4 = reinterpret_cast<sockaddr_in *>(&ss);
        inet_ntop(AF_INET, &a4->sin_addr, ip, sizeof ip);
        snprintf(text, sizeof text, "%s:%u", ip, unsigned(ntohs(a4->sin_port)));
    }
    if (strlen(text) + 1 > len) return fail(IOCPNET_E_LIMIT, "address needs %zu bytes", strlen(text) + 1);
    memcpy(buf, text, strlen(text) + 1);
    return IOCPNET_OK;
}

int net_local_port(sock_t s, uint16_t *out) {
    sockaddr_storage ss{};
    socklen_t sl = sizeof ss;
    if (getsockname(int(s), reinterpret_cast<sockaddr *>(&ss), &sl) != 0)
        return fail(net_error(errno), "getsockname: %s", strerror(errno));
    *out = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port)
                                    : ntohs(reinterpret_cast<sockaddr_in *>(&ss)->sin_port);
    return IOCPNET_OK;
}

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
