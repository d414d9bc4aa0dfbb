// max_connections: accepts beyond the limit are closed at once (no
// on_accept); a slot freed by a close is usable again; connect beyond the
// limit gives LIMIT.
#include "support.hpp"

using namespace t;

TEST_CASE("accepts beyond max_connections are closed at once", "[limits]") {
    iocpnet_config cfg = default_config();
    cfg.max_connections = 2;
    Recorder srv;
    Port sp(&srv, &cfg);
    uint16_t port = listen_on(sp);
    raw::Socket a = raw::Socket::connect("127.0.0.1", port);
    raw::Socket b = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(wait_until([&] { return srv.n_accepted() == 2; }));
    raw::Socket c = raw::Socket::connect("127.0.0.1", port); // the kernel completes the handshake...
    REQUIRE(c.valid());
    std::string got;
    raw::End end = c.read_until_end(&got); // ...and the engine closes it at once
    CHECK((end == raw::End::eof || end == raw::End::reset));
    CHECK(got.empty());
    CHECK(srv.n_accepted() == 2);

    // the first two are unaffected
    iocpnet_conn first = srv.accepted()[0];
    CHECK_RC(iocpnet_send(sp, first, "ok", 2), IOCPNET_OK);

    // a freed slot is usable again
    iocpnet_conn second = srv.accepted()[1];
    REQUIRE_RC(iocpnet_close(sp, second, IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
    REQUIRE(srv.wait_closed(second));
    bool accepted_again = wait_until([&] {
        raw::Socket d = raw::Socket::connect("127.0.0.1", port);
        if (!d.valid()) return false;
        bool ok = wait_until([&] { return srv.n_accepted() == 3; }, 2);
        return ok;
    });
    CHECK(accepted_again);
    CHECK(srv.n_accepted() == 3);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}

TEST_CASE("connect beyond max_connections gives LIMIT", "[limits]") {
    raw::Socket lis = raw::Socket::listen("127.0.0.1", 0);
    iocpnet_config cfg = default_config();
    cfg.max_connections = 1;
    Recorder cli;
    Port cp(&cli, &cfg);
    iocpnet_conn c1 = connect_to(cp, lis.local_port());
    iocpnet_conn c2 = 0;
    CHECK_RC(iocpnet_connect(cp, "127.0.0.1", lis.local_port(), &c2), IOCPNET_E_LIMIT);
    REQUIRE(wait_until([&] { return cli.connect_status(c1) != 1; }));
    CHECK(cli.connect_status(c1) == IOCPNET_OK);
    REQUIRE_RC(iocpnet_close(cp, c1, IOCPNET_CLOSE_ABORT), IOCPNET_OK);
    REQUIRE(cli.wait_closed(c1));
    // the slot is free again
    bool again = wait_until([&] {
        iocpnet_conn c3 = 0;
        return iocpnet_connect(cp, "127.0.0.1", lis.local_port(), &c3) == IOCPNET_OK;
    }, 10);
    CHECK(again);
}
