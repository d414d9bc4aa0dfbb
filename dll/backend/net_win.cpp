// Socket helpers for Windows (Winsock 2), the counterpart of net_posix.cpp.
#include "iocp_backend.hpp"
#include "../errors.hpp"

#include <mstcpip.h>

#include <mutex>

namespace iocpnet {

int net_startup() {
    static std::once_flag once;
    static int rc = 0;
    std::call_once(once, [] {
        WSADATA wd;
        rc = WSAStartup(MAKEWORD(2, 2), &wd);
    });
    return rc == 0 ? IOCPNET_OK : fail(IOCPNET_E_SYSTEM, "WSAStartup failed: %d", rc);
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
