// A minimal portable raw TCP peer for the API tests: a client or server that
// does what the engine must survive (stops reading, resets with SO_LINGER 0,
// vanishes) without using iocpnet. No platform header leaks out of here:
// rawsock.cpp holds the POSIX / Winsock code.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace raw {

// recv_some results besides a byte count (> 0).
enum : long { kEof = 0, kReset = -1, kTimeout = -2, kError = -3 };

// How a read_until_end finished.
enum class End { eof, reset, timeout, limit, error };
const char *end_name(End e);

class Socket {
  public:
    Socket() = default;
    ~Socket();
    Socket(Socket &&o) noexcept;
    Socket &operator=(Socket &&o) noexcept;
    Socket(const Socket &) = delete;
    Socket &operator=(const Socket &) = delete;

    bool valid() const { return fd_ != -1; }
    // The descriptor (a SOCKET on Windows), still owned by this object.
    intptr_t native_handle() const { return fd_; }

    // Blocking-style connect to a numeric address ("127.0.0.1", "::1") with a
    // deadline. rcvbuf > 0 sets SO_RCVBUF before connecting (small windows).
    // Returns an invalid Socket on failure; *err (if given) gets the system
    // error code.
    static Socket connect(const char *ip, uint16_t port, int timeout_ms = 30000, int rcvbuf = 0, int *err = nullptr);
    // Starts a non-blocking connect and returns at once (see connect_poll).
    static Socket connect_start(const char *ip, uint16_t port);
    // 1 connected, 0 still pending after timeout_ms, -1 failed.
    int connect_poll(int timeout_ms);
    // A listening socket on ip:port (port 0 = any free one).
    static Socket listen(const char *ip, uint16_t port, int backlog = 64);
    // Accepts one connection, or returns an invalid Socket after timeout_ms.
    Socket accept(int timeout_ms = 30000);

    uint16_t local_port() const;
    uint16_t peer_port() const;

    // Sends everything (waiting while the kernel buffer is full). False on
    // error or when timeout_ms passes.
    bool send_all(const void *data, size_t len, int timeout_ms = 30000);
    bool send_all(const std::string &s) { return send_all(s.data(), s.size()); }
    // > 0 bytes read, or kEof / kReset / kTimeout / kError.
    long recv_some(void *buf, size_t len, int timeout_ms);
    // Appends what arrives to *out until EOF, reset, error, `limit` bytes
    // read in total by this call, or `seconds` pass.
    End read_until_end(std::string *out, double seconds = 30.0, size_t limit = SIZE_MAX);
    // Reads exactly n more bytes into *out; false if the stream ended first or
    // `seconds` passed.
    bool read_exact(std::string *out, size_t n, double seconds = 30.0);

    void set_rcvbuf(int bytes);
    void set_sndbuf(int bytes);
    void set_nodelay(bool on);
    // SO_LINGER {1, 0}: close() sends a reset.
    void set_linger0();
    void shutdown_write();
    // Shuts down both directions: wakes another thread blocked reading it.
    void shutdown_both();
    // Closes now (with set_linger0 first: a reset; with unread data: the
    // kernel may reset too).
    void close();

  private:
    explicit Socket(intptr_t fd) : fd_(fd) {}
    intptr_t fd_ = -1;
};

// A TCP port on 127.0.0.1 that nothing listens on right now (bound, then
// closed), outside the ephemeral range: connecting to it is refused. 0 when
// none is free.
uint16_t unused_port();

// Whether this machine can listen and connect on ::1.
bool ipv6_loopback_available();

} // namespace raw
