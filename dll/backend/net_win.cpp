// Socket helpers for Windows (Winsock 2), the counterpart of net_posix.cpp.
#include "iocp_backend.hpp"
#include "../errors.hpp"

#include <mstcpip.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace iocpnet {

int Addr::family() const { return reinterpret_cast<const sockaddr *>(bytes)->sa_family; }

int net_startup() {
    static std::once_flag once;
    static int rc = 0;
    std::call_once(once, [] {
        WSADATA wd;
        rc = WSAStartup(MAKEWORD(2, 2), &wd);
    });
    return rc == 0 ? IOCPNET_OK : fail(IOCPNET_E_SYSTEM, "WSAStartup failed: %d", rc);
}

int net_resolve(const char *host, uint16_t port, bool passive, Addr *out) {
    if (net_startup() != IOCPNET_OK) return IOCPNET_E_SYSTEM; // the core may resolve before any port exists
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = (passive ? AI_PASSIVE : 0) | AI_NUMERICSERV;
    if (host && !*host) host = nullptr;
    if (!host && passive) hints.ai_family = AF_INET; // NULL = all IPv4 addresses
    char service[8];
    snprintf(service, sizeof service, "%u", unsigned(port));
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0 || !res)
        return fail(IOCPNET_E_ADDR_INVALID, "cannot resolve '%s': error %d", host ? host : "(any)", rc);
    // Prefer IPv4 for a name that has both, as on Linux.
    addrinfo *pick = res;
    for (addrinfo *ai = res; ai; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) { pick = ai; break; }
    if (pick->ai_addrlen > sizeof out->bytes) {
        freeaddrinfo(res);
        return fail(IOCPNET_E_ADDR_INVALID, "address too long");
    }
    memcpy(out->bytes, pick->ai_addr, pick->ai_addrlen);
    out->len = uint32_t(pick->ai_addrlen);
    freeaddrinfo(res);
    return IOCPNET_OK;
}

// Once a connection is closed (peer FIN and our shutdown, or a reset) Winsock
// answers getpeername with WSAENOTCONN, but the API promises the addresses
// until on_close has returned. So they are recorded when the connection is
// established and looked up when the socket no longer knows them.
namespace {
struct AddrPair {
    sockaddr_storage local, peer;
};
std::mutex g_addr_mu;
std::unordered_map<SOCKET, AddrPair> g_addrs;

bool sock_name(SOCKET s, bool peer, sockaddr_storage *ss, int *err) {
    int sl = sizeof *ss;
    int rc = peer ? getpeername(s, reinterpret_cast<sockaddr *>(ss), &sl)
                  : getsockname(s, reinterpret_cast<sockaddr *>(ss), &sl);
    if (rc == 0) return true;
    *err = WSAGetLastError();
    return false;
}
} // namespace

void net_remember_addresses(SOCKET s) {
    AddrPair p{};
    int err = 0;
    if (!sock_name(s, false, &p.local, &err) || !sock_name(s, true, &p.peer, &err)) return;
    try {
        std::lock_guard<std::mutex> lk(g_addr_mu);
        g_addrs[s] = p;
    } catch (...) { // no memory: the live socket still answers
    }
}

void net_forget_addresses(SOCKET s) {
    std::lock_guard<std::mutex> lk(g_addr_mu);
    g_addrs.erase(s);
}

int net_address_text(sock_t s, bool peer, char *buf, size_t len) {
    sockaddr_storage ss{};
    int e = 0;
    if (!sock_name(SOCKET(s), peer, &ss, &e)) {
        std::lock_guard<std::mutex> lk(g_addr_mu);
        auto it = g_addrs.find(SOCKET(s));
        if (it == g_addrs.end())
            return fail(net_error(e), "%s: WSA error %d", peer ? "getpeername" : "getsockname", e);
        ss = peer ? it->second.peer : it->second.local;
    }
    char ip[INET6_ADDRSTRLEN] = "", text[IOCPNET_ADDRSTRLEN];
    if (ss.ss_family == AF_INET6) {
        auto *a6 = reinterpret_cast<sockaddr_in6 *>(&ss);
        inet_ntop(AF_INET6, &a6->sin6_addr, ip, sizeof ip);
        snprintf(text, sizeof text, "[%s]:%u", ip, unsigned(ntohs(a6->sin6_port)));
    } else {
        auto *a4 = reinterpret_cast<sockaddr_in *>(&ss);
        inet_ntop(AF_INET, &a4->sin_addr, ip, sizeof ip);
        snprintf(text, sizeof text, "%s:%u", ip, unsigned(ntohs(a4->sin_port)));
    }
    size_t need = strlen(text) + 1;
    if (need > len) return fail(IOCPNET_E_LIMIT, "address needs %u bytes", unsigned(need));
    memcpy(buf, text, need);
    return IOCPNET_OK;
}

int net_local_port(sock_t s, uint16_t *out) {
    sockaddr_storage ss{};
    int sl = sizeof ss;
    if (getsockname(SOCKET(s), reinterpret_cast<sockaddr *>(&ss), &sl) != 0) {
        int e = WSAGetLastError();
        return fail(net_error(e), "getsockname: WSA error %d", e);
    }
    *out = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port)
                                    : ntohs(reinterpret_cast<sockaddr_in *>(&ss)->sin_port);
    return IOCPNET_OK;
}

void net_set_nodelay(sock_t s, bool on) {
    BOOL v = on ? TRUE : FALSE;
    setsockopt(SOCKET(s), IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char *>(&v), sizeof v);
}

void net_set_keepalive(sock_t s, unsigned idle_s) {
    BOOL on = idle_s ? TRUE : FALSE;
    setsockopt(SOCKET(s), SOL_SOCKET, SO_KEEPALIVE, reinterpret_cast<const char *>(&on), sizeof on);
    if (idle_s) {
        // SIO_KEEPALIVE_VALS works on every Windows since 2000 (TCP_KEEPIDLE
        // needs Windows 10 1709); probes every min(idle, 10) s as on Linux.
        tcp_keepalive ka{};
        ka.onoff = 1;
        ka.keepalivetime = ULONG(idle_s) * 1000;
        ka.keepaliveinterval = ULONG(idle_s < 10 ? idle_s : 10) * 1000;
        DWORD got = 0;
        WSAIoctl(SOCKET(s), SIO_KEEPALIVE_VALS, &ka, sizeof ka, nullptr, 0, &got, nullptr, nullptr);
    }
}

void net_shutdown_write(sock_t s) { shutdown(SOCKET(s), SD_SEND); }

void net_set_abortive(sock_t s) {
    linger l{1, 0};
    setsockopt(SOCKET(s), SOL_SOCKET, SO_LINGER, reinterpret_cast<const char *>(&l), sizeof l);
}

// Takes WSA errors and the Win32 codes IOCP reports for failed operations.
int net_error(int e) {
    if (e < 0) e = -e;
    switch (e) {
    case WSAECONNREFUSED: case ERROR_CONNECTION_REFUSED: return IOCPNET_E_CONN_REFUSED;
    // ERROR_NETNAME_DELETED is how IOCP reports a peer's reset; the aborts
    // are "closed" too (after our own cancel the core ignores the result).
    case WSAECONNRESET: case ERROR_NETNAME_DELETED: case WSAECONNABORTED: case ERROR_CONNECTION_ABORTED:
    case WSAENETRESET: case WSAESHUTDOWN: case WSAEDISCON: case WSAENOTCONN: return IOCPNET_E_CONN_RESET;
    case ERROR_OPERATION_ABORTED: case WSAEINTR: return IOCPNET_E_SHUTTING_DOWN; // 995 == WSA_OPERATION_ABORTED
    case WSAETIMEDOUT: case ERROR_SEM_TIMEOUT: case WAIT_TIMEOUT: return IOCPNET_E_TIMEOUT;
    case WSAEADDRINUSE: case ERROR_ADDRESS_ALREADY_ASSOCIATED: return IOCPNET_E_ADDR_IN_USE;
    case WSAEADDRNOTAVAIL: case WSAEAFNOSUPPORT: case WSAEINVAL: case WSAEFAULT: case ERROR_INVALID_NETNAME:
        return IOCPNET_E_ADDR_INVALID;
    case WSAENETUNREACH: case WSAEHOSTUNREACH: case WSAENETDOWN: case WSAEHOSTDOWN: case ERROR_NETWORK_UNREACHABLE:
    case ERROR_HOST_UNREACHABLE: case ERROR_PROTOCOL_UNREACHABLE: return IOCPNET_E_UNREACHABLE;
    case ERROR_PORT_UNREACHABLE: return IOCPNET_E_CONN_REFUSED; // TCP: nobody listens there
    case WSAENOBUFS: case ERROR_NOT_ENOUGH_MEMORY: case ERROR_OUTOFMEMORY: return IOCPNET_E_NO_MEMORY;
    case WSAEMFILE: case ERROR_TOO_MANY_OPEN_FILES: return IOCPNET_E_LIMIT;
    default: return IOCPNET_E_SYSTEM;
    }
}

int iocp_op_error(SOCKET s, OVERLAPPED *ov) {
    DWORD bytes = 0, flags = 0;
    if (WSAGetOverlappedResult(s, ov, &bytes, FALSE, &flags)) return IOCPNET_OK;
    int e = WSAGetLastError();
    log(IOCPNET_LOG_DEBUG, "iocp: operation failed, error %d (status 0x%lx)", e, (unsigned long)ov->Internal);
    return net_error(e);
}

} // namespace iocpnet
