// The raw peer's platform code: POSIX sockets, or Winsock on Windows.
#include "rawsock.hpp"

#include <chrono>
#include <cstring>
#include <random>

#ifdef _WIN32
#  ifndef _WIN32_WINNT
#    define _WIN32_WINNT 0x0600
#  endif
#  include <winsock2.h>
#  include <ws2tcpip.h>
using sock_len = int;
#  define RAW_CLOSE closesocket
#  define RAW_POLL WSAPoll
static int last_err() { return WSAGetLastError(); }
static bool is_would_block(int e) { return e == WSAEWOULDBLOCK; }
static bool is_in_progress(int e) { return e == WSAEWOULDBLOCK || e == WSAEINPROGRESS; }
static bool is_reset(int e) { return e == WSAECONNRESET || e == WSAECONNABORTED || e == WSAENETRESET; }
static void set_nonblocking(SOCKET s) {
    u_long on = 1;
    ioctlsocket(s, FIONBIO, &on);
}
static const int kSendFlags = 0;
namespace {
struct WsaInit {
    WsaInit() {
        WSADATA d;
        WSAStartup(MAKEWORD(2, 2), &d);
    }
} g_wsa_init;
} // namespace
#else
#  include <arpa/inet.h>
#  include <cerrno>
#  include <fcntl.h>
#  include <netinet/in.h>
#  include <netinet/tcp.h>
#  include <poll.h>
#  include <sys/socket.h>
#  include <unistd.h>
using sock_len = socklen_t;
#  define RAW_CLOSE ::close
#  define RAW_POLL ::poll
static int last_err() { return errno; }
static bool is_would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }
static bool is_in_progress(int e) { return e == EINPROGRESS || e == EINTR; }
static bool is_reset(int e) { return e == ECONNRESET || e == EPIPE || e == ECONNABORTED; }
static void set_nonblocking(int s) { fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK); }
static const int kSendFlags = MSG_NOSIGNAL;
#endif

namespace raw {
namespace {

using clock_type = std::chrono::steady_clock;

bool make_addr(const char *ip, uint16_t port, sockaddr_storage *ss, sock_len *len) {
    memset(ss, 0, sizeof *ss);
    auto *a4 = reinterpret_cast<sockaddr_in *>(ss);
    if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof(sockaddr_in);
        return true;
    }
    auto *a6 = reinterpret_cast<sockaddr_in6 *>(ss);
    if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof(sockaddr_in6);
        return true;
    }
    return false;
}

// Waits for `events` on s; true when ready (or in error), false on timeout.
bool wait_for(intptr_t s, short events, int timeout_ms) {
    pollfd p{};
    p.fd = static_cast<decltype(p.fd)>(s);
    p.events = events;
    auto end = clock_type::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - clock_type::now()).count();
        if (left < 0) left = 0;
        int rc = RAW_POLL(&p, 1, static_cast<int>(left));
        if (rc > 0) return true;
        if (rc == 0 && left == 0) return false;
        if (rc < 0 && !is_would_block(last_err())) return true; // let the caller see the error
    }
}

int ms_left(clock_type::time_point end) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - clock_type::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
}

uint16_t port_of(intptr_t fd, bool peer) {
    sockaddr_storage ss{};
    sock_len len = sizeof ss;
    auto *sa = reinterpret_cast<sockaddr *>(&ss);
    int rc = peer ? getpeername(static_cast<decltype(socket(0, 0, 0))>(fd), sa, &len)
                  : getsockname(static_cast<decltype(socket(0, 0, 0))>(fd), sa, &len);
    if (rc != 0) return 0;
    if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in *>(&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port);
    return 0;
}

} // namespace

using native = decltype(socket(0, 0, 0));
#define NATIVE(fd) static_cast<native>(fd)

const char *end_name(End e) {
    switch (e) {
    case End::eof: return "eof";
    case End::reset: return "reset";
    case End::timeout: return "timeout";
    case End::limit: return "limit";
    case End::error: return "error";
    }
    return "?";
}

Socket::~Socket() { close(); }
Socket::Socket(Socket &&o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
Socket &Socket::operator=(Socket &&o) noexcept {
    if (this != &o) {
        close();
        fd_ = o.fd_;
        o.fd_ = -1;
    }
    return *this;
}

Socket Socket::connect_start(const char *ip, uint16_t port) {
    sockaddr_storage ss;
    sock_len len;
    if (!make_addr(ip, port, &ss, &len)) return Socket();
    native s = socket(ss.ss_family, SOCK_STREAM, IPPROTO_TCP);
    if (s == static_cast<native>(-1)) return Socket();
    set_nonblocking(s);
    Socket out(static_cast<intptr_t>(s));
    if (::connect(s, reinterpret_cast<sockaddr *>(&ss), len) != 0 && !is_in_progress(last_err())) return Socket();
    return out;
}

int Socket::connect_poll(int timeout_ms) {
    if (!valid()) return -1;
    if (!wait_for(fd_, POLLOUT, timeout_ms)) return 0;
    int err = 0;
    sock_len len = sizeof err;
    getsockopt(NATIVE(fd_), SOL_SOCKET, SO_ERROR, reinterpret_cast<char *>(&err), &len);
    if (err != 0) return -1;
    return port_of(fd_, true) != 0 ? 1 : -1;
}

Socket Socket::connect(const char *ip, uint16_t port, int timeout_ms, int rcvbuf, int *err) {
    if (err) *err = 0;
    sockaddr_storage ss;
    sock_len len;
    if (!make_addr(ip, port, &ss, &len)) return Socket();
    native s = socket(ss.ss_family, SOCK_STREAM, IPPROTO_TCP);
    if (s == static_cast<native>(-1)) {
        if (err) *err = last_err();
        return Socket();
    }
    Socket out(static_cast<intptr_t>(s));
    if (rcvbuf > 0) out.set_rcvbuf(rcvbuf);
    set_nonblocking(s);
    if (::connect(s, reinterpret_cast<sockaddr *>(&ss), len) != 0) {
        if (!is_in_progress(last_err())) {
            if (err) *err = last_err();
            return Socket();
        }
        if (!wait_for(out.fd_, POLLOUT, timeout_ms)) {
            if (err) *err = -1;
            return Socket();
        }
        int e = 0;
        sock_len elen = sizeof e;
        getsockopt(s, SOL_SOCKET, SO_ERROR, reinterpret_cast<char *>(&e), &elen);
        if (e != 0) {
            if (err) *err = e;
            return Socket();
        }
    }
    return out;
}

Socket Socket::listen(const char *ip, uint16_t port, int backlog) {
    sockaddr_storage ss;
    sock_len len;
    if (!make_addr(ip, port, &ss, &len)) return Socket();
    native s = socket(ss.ss_family, SOCK_STREAM, IPPROTO_TCP);
    if (s == static_cast<native>(-1)) return Socket();
    Socket out(static_cast<intptr_t>(s));
    if (::bind(s, reinterpret_cast<sockaddr *>(&ss), len) != 0) return Socket();
    if (::listen(s, backlog) != 0) return Socket();
    set_nonblocking(s);
    return out;
}

Socket Socket::accept(int timeout_ms) {
    auto end = clock_type::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        native s = ::accept(NATIVE(fd_), nullptr, nullptr);
        if (s != static_cast<native>(-1)) {
            set_nonblocking(s);
            return Socket(static_cast<intptr_t>(s));
        }
        if (!is_would_block(last_err())) return Socket();
        if (!wait_for(fd_, POLLIN, ms_left(end))) return Socket();
    }
}

uint16_t Socket::local_port() const { return valid() ? port_of(fd_, false) : 0; }
uint16_t Socket::peer_port() const { return valid() ? port_of(fd_, true) : 0; }

bool Socket::send_all(const void *data, size_t len, int timeout_ms) {
    auto end = clock_type::now() + std::chrono::milliseconds(timeout_ms);
    const char *p = static_cast<const char *>(data);
    while (len > 0) {
        int chunk = len > (1u << 30) ? (1 << 30) : static_cast<int>(len);
        auto n = ::send(NATIVE(fd_), p, chunk, kSendFlags);
        if (n > 0) {
            p += n;
            len -= static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && !is_would_block(last_err())) return false;
        if (!wait_for(fd_, POLLOUT, ms_left(end))) return false;
    }
    return true;
}

long Socket::recv_some(void *buf, size_t len, int timeout_ms) {
    auto end = clock_type::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        int chunk = len > (1u << 30) ? (1 << 30) : static_cast<int>(len);
        auto n = ::recv(NATIVE(fd_), static_cast<char *>(buf), chunk, 0);
        if (n > 0) return static_cast<long>(n);
        if (n == 0) return kEof;
        int e = last_err();
        if (is_reset(e)) return kReset;
        if (!is_would_block(e)) return kError;
        if (!wait_for(fd_, POLLIN, ms_left(end))) return kTimeout;
    }
}

End Socket::read_until_end(std::string *out, double seconds, size_t limit) {
    auto end = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
    char buf[65536];
    size_t got = 0;
    while (got < limit) {
        size_t want = limit - got < sizeof buf ? limit - got : sizeof buf;
        long n = recv_some(buf, want, ms_left(end));
        if (n > 0) {
            out->append(buf, static_cast<size_t>(n));
            got += static_cast<size_t>(n);
            continue;
        }
        if (n == kEof) return End::eof;
        if (n == kReset) return End::reset;
        if (n == kTimeout) return End::timeout;
        return End::error;
    }
    return End::limit;
}

bool Socket::read_exact(std::string *out, size_t n, double seconds) {
    return read_until_end(out, seconds, n) == End::limit;
}

void Socket::set_rcvbuf(int bytes) {
    setsockopt(NATIVE(fd_), SOL_SOCKET, SO_RCVBUF, reinterpret_cast<const char *>(&bytes), sizeof bytes);
}
void Socket::set_sndbuf(int bytes) {
    setsockopt(NATIVE(fd_), SOL_SOCKET, SO_SNDBUF, reinterpret_cast<const char *>(&bytes), sizeof bytes);
}
void Socket::set_nodelay(bool on) {
    int v = on ? 1 : 0;
    setsockopt(NATIVE(fd_), IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char *>(&v), sizeof v);
}
void Socket::set_linger0() {
    linger l{};
    l.l_onoff = 1;
    l.l_linger = 0;
    setsockopt(NATIVE(fd_), SOL_SOCKET, SO_LINGER, reinterpret_cast<const char *>(&l), sizeof l);
}
void Socket::shutdown_write() {
#ifdef _WIN32
    ::shutdown(NATIVE(fd_), SD_SEND);
#else
    ::shutdown(NATIVE(fd_), SHUT_WR);
#endif
}
void Socket::shutdown_both() {
#ifdef _WIN32
    ::shutdown(NATIVE(fd_), SD_BOTH);
#else
    ::shutdown(NATIVE(fd_), SHUT_RDWR);
#endif
}
void Socket::close() {
    if (fd_ != -1) RAW_CLOSE(NATIVE(fd_));
    fd_ = -1;
}

uint16_t unused_port() {
    // Below every system's ephemeral range (Linux 32768-60999, Windows
    // 49152-65535): a port from there could be taken by a parallel test's
    // port-0 listener, or be a connect's own local port, and a connect from
    // port P to port P connects to itself. A random start keeps parallel
    // tests apart.
    std::random_device rd;
    unsigned start = rd() % 12000;
    for (unsigned i = 0; i < 12000; i++) {
        uint16_t p = static_cast<uint16_t>(20000 + (start + i) % 12000);
        Socket l = Socket::listen("127.0.0.1", p, 1);
        if (l.valid()) return p; // bound: nothing listens on it
    }
    return 0;
}

bool ipv6_loopback_available() {
    Socket l = Socket::listen("::1", 0, 4);
    if (!l.valid()) return false;
    Socket c = Socket::connect("::1", l.local_port(), 5000);
    if (!c.valid()) return false;
    Socket a = l.accept(5000);
    return a.valid();
}

} // namespace raw
