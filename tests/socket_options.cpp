// TCP_NODELAY (on by default) and keepalive reach the engine's sockets, from
// the config and from per-listener / per-connection options. The test finds
// the engine's socket in this process by its local address and reads the
// options back with getsockopt: POSIX only (the engine runs in-process).
#ifndef _WIN32
#include "support.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace t;

namespace {
std::string text_of(const sockaddr_storage &ss) {
    auto *a = reinterpret_cast<const sockaddr_in *>(&ss);
    const unsigned char *ip = reinterpret_cast<const unsigned char *>(&a->sin_addr);
    char text[64];
    snprintf(text, sizeof text, "%u.%u.%u.%u:%u", ip[0], ip[1], ip[2], ip[3], unsigned(ntohs(a->sin_port)));
    return text;
}

// The descriptor of this process with these local and peer addresses (the
// peer too: an accepted socket shares its local address with the listener).
int fd_with_addresses(const std::string &local, const std::string &peer) {
    for (int fd = 0; fd < 65536; fd++) {
        sockaddr_storage ls{}, ps{};
        socklen_t ll = sizeof ls, pl = sizeof ps;
        if (getsockname(fd, reinterpret_cast<sockaddr *>(&ls), &ll) != 0 || ls.ss_family != AF_INET) continue;
        if (getpeername(fd, reinterpret_cast<sockaddr *>(&ps), &pl) != 0) continue;
        if (text_of(ls) == local && text_of(ps) == peer) return fd;
    }
    return -1;
}

struct Opts {
    int nodelay = -1, keepalive = -1, keepidle = -1;
};

Opts options_of(iocpnet_port *p, iocpnet_conn c) {
    char local[IOCPNET_ADDRSTRLEN], peer[IOCPNET_ADDRSTRLEN];
    REQUIRE_RC(iocpnet_conn_local_address(p, c, local, sizeof local), IOCPNET_OK);
    REQUIRE_RC(iocpnet_conn_peer_address(p, c, peer, sizeof peer), IOCPNET_OK);
    int fd = fd_with_addresses(local, peer);
    INFO("engine socket " << local << " -> " << peer);
    REQUIRE(fd >= 0);
    Opts o;
    socklen_t l = sizeof(int);
    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &o.nodelay, &l);
    l = sizeof(int);
    getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &o.keepalive, &l);
    l = sizeof(int);
    getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &o.keepidle, &l);
    return o;
}
} // namespace

TEST_CASE("TCP_NODELAY is on by default and keepalive off, on both sides", "[options]") {
    Recorder srv, cli;
    Port sp(&srv), cp(&cli);
    uint16_t port = listen_on(sp);
    iocpnet_conn c = connect_to(cp, port);
    REQUIRE(wait_until([&] { return cli.connect_status(c) == IOCPNET_OK; }));
    iocpnet_conn s = srv.wait_accepted();
    for (auto pc : {std::make_pair(sp.get(), s), std::make_pair(cp.get(), c)}) {
        Opts o = options_of(pc.first, pc.second);
        CHECK(o.nodelay != 0);
        CHECK(o.keepalive == 0);
    }
}

TEST_CASE("config and per-connection options set nodelay and keepalive", "[options]") {
    iocpnet_config cfg = default_config();
    cfg.tcp_nodelay = 0;
    cfg.keepalive_s = 42;
    Recorder srv, cli;
    Port sp(&srv, &cfg), cp(&cli);
    uint16_t port = listen_on(sp); // inherits the config
    iocpnet_conn_options o = default_options();
    o.keepalive_s = 17;
    o.tcp_nodelay = 0;
    iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &o);
    REQUIRE(wait_until([&] { return cli.connect_status(c) == IOCPNET_OK; }));
    iocpnet_conn s = srv.wait_accepted();
    Opts so = options_of(sp, s), co = options_of(cp, c);
    CHECK(so.nodelay == 0);
    CHECK(so.keepalive != 0);
    CHECK(so.keepidle == 42);
    CHECK(co.nodelay == 0);
    CHECK(co.keepalive != 0);
    CHECK(co.keepidle == 17);
}
#endif
