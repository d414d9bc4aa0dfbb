// Address helpers and the engine's clock, one copy for every platform:
// name resolution, compact endpoints (NetAddr) and their text form.
#if defined(_WIN32)
#include "iocp_backend.hpp" // winsock2 / ws2tcpip, net_startup
#else
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cerrno>
#endif
#include "backend.hpp"
#include "../errors.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>

namespace iocpnet {

#if defined(_WIN32)
static int last_sock_error() { return WSAGetLastError(); }
using socklen_type = int;
// mingw's gai_strerror is gai_strerrorW under UNICODE and fills a static
// buffer: the code says enough.
static const char *resolve_error(int rc, char *buf, size_t len) {
    snprintf(buf, len, "WSA error %d", rc);
    return buf;
}
#else
static int last_sock_error() { return errno; }
static int net_startup() { return IOCPNET_OK; }
using socklen_type = socklen_t;
static const char *resolve_error(int rc, char *, size_t) { return gai_strerror(rc); }
#endif

int64_t mono_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

int Addr::family() const { return reinterpret_cast<const sockaddr *>(bytes)->sa_family; }

int net_resolve(const char *host, uint16_t port, bool passive, Addr *out) {
    if (net_startup() != IOCPNET_OK) return IOCPNET_E_SYSTEM; // the core may resolve before any port exists
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
    if (rc != 0 && (hints.ai_flags & AI_ADDRCONFIG)) { // AI_ADDRCONFIG hides loopback without a network
        hints.ai_flags &= ~AI_ADDRCONFIG;
        rc = getaddrinfo(host, service, &hints, &res);
    }
    if (rc != 0 || !res) {
        char why[32];
        return fail(IOCPNET_E_ADDR_INVALID, "cannot resolve '%s': %s", host ? host : "(any)",
                    resolve_error(rc, why, sizeof why));
    }
    // Prefer IPv4 for a name that has both: loopback servers usually listen there.
    addrinfo *pick = res;
    for (addrinfo *ai = res; ai; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) { pick = ai; break; }
    if (size_t(pick->ai_addrlen) > sizeof out->bytes) {
        freeaddrinfo(res);
        return fail(IOCPNET_E_ADDR_INVALID, "address too long");
    }
    memcpy(out->bytes, pick->ai_addr, pick->ai_addrlen);
    out->len = uint32_t(pick->ai_addrlen);
    freeaddrinfo(res);
    return IOCPNET_OK;
}

static void from_sockaddr(const sockaddr *sa, NetAddr *out) {
    *out = NetAddr{};
    if (sa->sa_family == AF_INET6) {
        auto *a6 = reinterpret_cast<const sockaddr_in6 *>(sa);
        out->family = 6;
        out->port = ntohs(a6->sin6_port);
        memcpy(out->ip, &a6->sin6_addr, 16);
    } else if (sa->sa_family == AF_INET) {
        auto *a4 = reinterpret_cast<const sockaddr_in *>(sa);
        out->family = 4;
        out->port = ntohs(a4->sin_port);
        memcpy(out->ip, &a4->sin_addr, 4);
    }
}

void net_addr_from(const Addr &a, NetAddr *out) { from_sockaddr(reinterpret_cast<const sockaddr *>(a.bytes), out); }

int net_sock_addr(sock_t s, bool peer, NetAddr *out) {
    sockaddr_storage ss{};
    socklen_type sl = sizeof ss;
    int rc = peer ? getpeername(s, reinterpret_cast<sockaddr *>(&ss), &sl)
                  : getsockname(s, reinterpret_cast<sockaddr *>(&ss), &sl);
    if (rc != 0) {
        *out = NetAddr{};
        return fail(IOCPNET_E_SYSTEM, "%s failed: error %d", peer ? "getpeername" : "getsockname", last_sock_error());
    }
    from_sockaddr(reinterpret_cast<const sockaddr *>(&ss), out);
    if (!out->family) return fail(IOCPNET_E_SYSTEM, "not an IP socket");
    return IOCPNET_OK;
}

int net_format(const NetAddr &a, char *buf, size_t len) {
    char ip[64], text[80];
    if (a.family == 6) {
        inet_ntop(AF_INET6, a.ip, ip, sizeof ip);
        snprintf(text, sizeof text, "[%s]:%u", ip, unsigned(a.port));
    } else if (a.family == 4) {
        inet_ntop(AF_INET, a.ip, ip, sizeof ip);
        snprintf(text, sizeof text, "%s:%u", ip, unsigned(a.port));
    } else {
        return fail(IOCPNET_E_SYSTEM, "address unknown");
    }
    size_t n = strlen(text) + 1;
    if (n > len) return fail(IOCPNET_E_LIMIT, "address needs %zu bytes", n);
    memcpy(buf, text, n);
    return IOCPNET_OK;
}

int net_local_port(sock_t s, uint16_t *out) {
    NetAddr a;
    int rc = net_sock_addr(s, false, &a);
    if (rc == IOCPNET_OK) *out = a.port;
    return rc;
}

} // namespace iocpnet
