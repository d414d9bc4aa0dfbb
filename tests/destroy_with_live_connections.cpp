// Destroying a port with 500 live connections (data in flight both ways):
// on_close fires exactly once for each, with reason OK, before destroy
// returns; the peers see their connections end; nothing leaks (the ASan
// suite runs this with leak detection).
#include "support.hpp"

using namespace t;

TEST_CASE("destroy with 500 live connections closes each exactly once", "[destroy][load]") {
    const size_t kConns = 500;
    Recorder srv, cli;
    make_echo(srv, true);
    Port sp(&srv), cp(&cli);
    uint16_t port = listen_on(sp);
    std::vector<iocpnet_conn> conns;
    for (size_t i = 0; i < kConns; i++) conns.push_back(connect_to(cp, port));
    REQUIRE(wait_until([&] { return cli.n_connected() + cli.n_connect_failed() == kConns; }));
    REQUIRE(cli.n_connected() == kConns);
    REQUIRE(wait_until([&] { return srv.n_accepted() == kConns; }));

    // some traffic in flight at the moment of destroy
    std::string b = pattern(0, 4096);
    for (auto c : conns) REQUIRE_RC(iocpnet_send(cp, c, b.data(), b.size()), IOCPNET_OK);
    REQUIRE(wait_until([&] { return srv.total_bytes() > 0; }));

    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    // destroy returned: every on_close has already run
    CHECK(srv.n_closed() == kConns);
    for (auto s : srv.accepted()) {
        if (srv.closes(s) != 1 || srv.close_reason(s) != IOCPNET_OK) {
            FAIL_CHECK("server conn " << s << ": " << srv.closes(s) << " on_close, reason "
                                      << rc_name(srv.close_reason(s)));
            break;
        }
    }
    check_clean(srv, true);

    // the client side sees every connection end (EOF or reset)
    REQUIRE(wait_until([&] { return cli.n_closed() == kConns; }));
    for (auto c : conns) {
        int r = cli.close_reason(c);
        if (r != IOCPNET_E_PEER_CLOSED && r != IOCPNET_E_CONN_RESET) {
            FAIL_CHECK("client conn " << c << " closed with " << rc_name(r));
            break;
        }
    }
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    check_clean(cli, true);
}

TEST_CASE("destroy with pending connects and queued sends", "[destroy]") {
    // a listener that never accepts: connects complete in the kernel, or
    // stay pending; either way destroy ends them cleanly
    raw::Socket lis = raw::Socket::listen("127.0.0.1", 0, 1);
    REQUIRE(lis.valid());
    Recorder cli;
    Port cp(&cli);
    std::vector<iocpnet_conn> conns;
    std::string b = pattern(0, 100000);
    for (int i = 0; i < 20; i++) {
        conns.push_back(connect_to(cp, lis.local_port()));
        REQUIRE_RC(iocpnet_send(cp, conns.back(), b.data(), b.size()), IOCPNET_OK);
    }
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    // each: either on_connect(error) alone, or on_connect(OK) ... on_close(OK)
    for (auto c : conns) {
        auto ev = cli.events(c);
        // every id gets a final callback, also a connect still pending at
        // destroy (on_connect with an error such as SHUTTING_DOWN)
        INFO("conn " << c);
        REQUIRE(!ev.empty());
        if (ev.front().status != IOCPNET_OK) {
            CHECK(ev.size() == 1);
        } else {
            CHECK(ev.back().type == Ev::close);
            CHECK(rc_name(ev.back().status) == rc_name(IOCPNET_OK));
        }
    }
    check_clean(cli, true);
}
