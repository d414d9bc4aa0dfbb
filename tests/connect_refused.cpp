// A connect to a port nobody listens on: on_connect(CONN_REFUSED) and
// nothing else; bytes queued before it are dropped with the connection.
#include "support.hpp"

using namespace t;

TEST_CASE("connect to a closed port gives on_connect(CONN_REFUSED) and nothing else", "[connect]") {
    uint16_t closed = raw::unused_port();
    REQUIRE(closed != 0);
    Recorder cli;
    Port cp(&cli);
    iocpnet_conn c = connect_to(cp, closed);
    int early = iocpnet_send(cp, c, "queued", 6); // before on_connect: queued (or NOT_FOUND if it already failed)
    CHECK((early == IOCPNET_OK || early == IOCPNET_E_NOT_FOUND));
    REQUIRE(wait_until([&] { return cli.connect_status(c) != 1; }));
    CHECK(rc_name(cli.connect_status(c)) == rc_name(IOCPNET_E_CONN_REFUSED));
    // the id is dead after the failed connect
    CHECK_RC(iocpnet_send(cp, c, "x", 1), IOCPNET_E_NOT_FOUND);
    CHECK_RC(iocpnet_close(cp, c, IOCPNET_CLOSE_GRACEFUL), IOCPNET_E_NOT_FOUND);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    auto ev = cli.events(c);
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].type == Ev::connect);
    check_clean(cli, true);
}

TEST_CASE("connect_ex to a closed IPv6 port is refused too", "[connect][ipv6]") {
    REQUIRE(raw::ipv6_loopback_available()); // this machine has ::1; checked loudly, not skipped
    raw::Socket l = raw::Socket::listen("::1", 0);
    uint16_t closed = l.local_port();
    l.close();
    Recorder cli;
    Port cp(&cli);
    iocpnet_conn_options opt = default_options();
    iocpnet_conn c = connect_to(cp, closed, "::1", &opt);
    REQUIRE(wait_until([&] { return cli.connect_status(c) != 1; }));
    CHECK(rc_name(cli.connect_status(c)) == rc_name(IOCPNET_E_CONN_REFUSED));
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    CHECK(cli.events(c).size() == 1);
    check_clean(cli, true);
}

TEST_CASE("many refused connects at once each get exactly one on_connect", "[connect]") {
    uint16_t closed = raw::unused_port();
    REQUIRE(closed != 0);
    Recorder cli;
    Port cp(&cli);
    std::vector<iocpnet_conn> conns;
    for (int i = 0; i < 100; i++) conns.push_back(connect_to(cp, closed));
    REQUIRE(wait_until([&] { return cli.n_connect_failed() + cli.n_connected() == 100; }));
    CHECK(cli.n_connect_failed() == 100);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    for (auto c : conns) CHECK(cli.events(c).size() == 1);
    check_clean(cli, true);
}
