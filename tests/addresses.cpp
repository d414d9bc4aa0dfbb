// Addresses: peer/local address text for IPv4 ("127.0.0.1:PORT") and IPv6
// ("[::1]:PORT"); listening on "::" accepts IPv4 and IPv6 clients; connect
// resolves "localhost". This machine must have IPv6 loopback: if it does
// not, these tests fail loudly instead of passing without checking.
#include "support.hpp"

using namespace t;

namespace {
std::string addr(iocpnet_port *p, iocpnet_conn c, bool peer) {
    char buf[IOCPNET_ADDRSTRLEN];
    memset(buf, 'Z', sizeof buf);
    int rc = peer ? iocpnet_conn_peer_address(p, c, buf, sizeof buf) : iocpnet_conn_local_address(p, c, buf, sizeof buf);
    if (rc != IOCPNET_OK) return "error " + rc_name(rc);
    return std::string(buf);
}
void require_ipv6() {
    INFO("IPv6 loopback (::1) does not work on this machine: the IPv6 tests cannot run. Enable IPv6 on lo.");
    REQUIRE(raw::ipv6_loopback_available());
}
} // namespace

TEST_CASE("IPv4 peer and local address text", "[address]") {
    Recorder srv, cli;
    Port sp(&srv), cp(&cli);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    CHECK(addr(sp, s, true) == "127.0.0.1:" + std::to_string(peer.local_port()));
    CHECK(addr(sp, s, false) == "127.0.0.1:" + std::to_string(port));

    iocpnet_conn c = connect_to(cp, port);
    REQUIRE(wait_until([&] { return cli.connect_status(c) != 1; }));
    REQUIRE(cli.connect_status(c) == IOCPNET_OK);
    CHECK(addr(cp, c, true) == "127.0.0.1:" + std::to_string(port));
    std::string local = addr(cp, c, false);
    CHECK(local.rfind("127.0.0.1:", 0) == 0);
    // the server's view of that connection agrees
    iocpnet_conn s2 = srv.wait_accepted(1);
    REQUIRE(s2 != 0);
    CHECK(addr(sp, s2, true) == local);

    // a buffer too small: LIMIT, and no overflow
    char small[8];
    memset(small, 'Z', sizeof small);
    CHECK_RC(iocpnet_conn_peer_address(sp, s, small, 5), IOCPNET_E_LIMIT);
    CHECK(small[5] == 'Z');
    CHECK_RC(iocpnet_conn_local_address(sp, s, small, 5), IOCPNET_E_LIMIT);
    CHECK(small[5] == 'Z');
}

TEST_CASE("IPv6 peer and local address text", "[address][ipv6]") {
    require_ipv6();
    Recorder srv, cli;
    Port sp(&srv), cp(&cli);
    uint16_t port = listen_on(sp, nullptr, "::1");
    raw::Socket peer = raw::Socket::connect("::1", port);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    CHECK(addr(sp, s, true) == "[::1]:" + std::to_string(peer.local_port()));
    CHECK(addr(sp, s, false) == "[::1]:" + std::to_string(port));
    iocpnet_conn c = connect_to(cp, port, "::1");
    REQUIRE(wait_until([&] { return cli.connect_status(c) != 1; }));
    REQUIRE(cli.connect_status(c) == IOCPNET_OK);
    CHECK(addr(cp, c, true) == "[::1]:" + std::to_string(port));
    REQUIRE_RC(iocpnet_send(cp, c, "v6", 2), IOCPNET_OK);
    iocpnet_conn s2 = srv.wait_accepted(1);
    REQUIRE(srv.wait_bytes(s2, 2));
    CHECK(srv.data(s2) == "v6");
}

TEST_CASE("listening on :: accepts an IPv4 and an IPv6 client", "[address][ipv6]") {
    require_ipv6();
    Recorder srv;
    make_echo(srv);
    Port sp(&srv);
    uint16_t port = listen_on(sp, nullptr, "::");
    raw::Socket v4 = raw::Socket::connect("127.0.0.1", port);
    INFO("IPv4 client to a listener on ::");
    REQUIRE(v4.valid());
    raw::Socket v6 = raw::Socket::connect("::1", port);
    REQUIRE(v6.valid());
    REQUIRE(v4.send_all("four", 4));
    REQUIRE(v6.send_all("six", 3));
    std::string g4, g6;
    CHECK(v4.read_exact(&g4, 4));
    CHECK(v6.read_exact(&g6, 3));
    CHECK(g4 == "four");
    CHECK(g6 == "six");
    REQUIRE(wait_until([&] { return srv.n_accepted() == 2; }));
    std::set<std::string> peers;
    for (auto c : srv.accepted()) peers.insert(addr(sp, c, true));
    std::string p4 = std::to_string(v4.local_port()), p6 = std::to_string(v6.local_port());
    // an IPv4 client on a dual-stack socket may be shown plainly or as mapped
    CHECK((peers.count("127.0.0.1:" + p4) == 1 || peers.count("[::ffff:127.0.0.1]:" + p4) == 1));
    CHECK(peers.count("[::1]:" + p6) == 1);
}

TEST_CASE("connect resolves the host name localhost", "[address]") {
    Recorder srv, cli;
    Port sp(&srv), cp(&cli);
    // listen on "localhost" too, so that both sides resolve the same way
    uint16_t port = listen_on(sp, nullptr, "localhost");
    iocpnet_conn c = connect_to(cp, port, "localhost");
    REQUIRE(wait_until([&] { return cli.connect_status(c) != 1; }));
    CHECK(rc_name(cli.connect_status(c)) == rc_name(IOCPNET_OK));
    REQUIRE_RC(iocpnet_send(cp, c, "by name", 7), IOCPNET_OK);
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(srv.wait_bytes(s, 7));
    CHECK(srv.data(s) == "by name");
    std::string peer = addr(cp, c, true);
    CHECK((peer == "127.0.0.1:" + std::to_string(port) || peer == "[::1]:" + std::to_string(port)));
}
