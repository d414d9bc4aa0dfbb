// Listeners: port 0 picks a free port that listener_port reports; unlisten
// stops accepting (new connects are refused) while accepted connections stay
// open; several listeners on one port; ADDR_IN_USE.
#include "support.hpp"

using namespace t;

TEST_CASE("listener_port reports the picked port and unlisten stops accepting", "[listener]") {
    Recorder srv;
    make_echo(srv);
    Port sp(&srv);
    iocpnet_listener l1 = 0, l2 = 0;
    uint16_t port1 = listen_on(sp, &l1);
    uint16_t port2 = listen_on(sp, &l2);
    CHECK(l1 != l2);
    CHECK(port1 != port2);

    raw::Socket a = raw::Socket::connect("127.0.0.1", port1);
    raw::Socket b = raw::Socket::connect("127.0.0.1", port2);
    REQUIRE(a.valid());
    REQUIRE(b.valid());
    REQUIRE(wait_until([&] { return srv.n_accepted() == 2; }));
    // on_accept names the listener
    for (auto c : srv.accepted()) {
        iocpnet_listener via = srv.with(c, [](const ConnLog &log) { return log.listener; });
        CHECK((via == l1 || via == l2));
    }

    REQUIRE_RC(iocpnet_unlisten(sp, l1), IOCPNET_OK);
    // new connects to port1 are refused (the socket is closed; wait for it)
    bool refused = wait_until([&] {
        int err = 0;
        raw::Socket x = raw::Socket::connect("127.0.0.1", port1, 5000, 0, &err);
        return !x.valid();
    });
    CHECK(refused);
    // the connection accepted through it still works, and so does the other listener
    REQUIRE(a.send_all("still", 5));
    std::string got;
    CHECK(a.read_exact(&got, 5));
    CHECK(got == "still");
    raw::Socket c = raw::Socket::connect("127.0.0.1", port2);
    REQUIRE(c.valid());
    REQUIRE(wait_until([&] { return srv.n_accepted() >= 3; }));
    uint16_t p = 0;
    CHECK_RC(iocpnet_listener_port(sp, l2, &p), IOCPNET_OK);
    CHECK(p == port2);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}

TEST_CASE("listening on a port in use gives ADDR_IN_USE", "[listener]") {
    Port sp(nullptr);
    uint16_t port = listen_on(sp);
    iocpnet_listener l = 0;
    CHECK_RC(iocpnet_listen(sp, "127.0.0.1", port, &l), IOCPNET_E_ADDR_IN_USE);
    Port other(nullptr);
    CHECK_RC(iocpnet_listen(other, "127.0.0.1", port, &l), IOCPNET_E_ADDR_IN_USE);
}

TEST_CASE("a port can be listened on again after unlisten", "[listener]") {
    Recorder srv;
    Port sp(&srv);
    iocpnet_listener l = 0;
    uint16_t port = listen_on(sp, &l);
    REQUIRE_RC(iocpnet_unlisten(sp, l), IOCPNET_OK);
    iocpnet_listener l2 = 0;
    bool relisten = wait_until([&] { return iocpnet_listen(sp, "127.0.0.1", port, &l2) == IOCPNET_OK; }, 10);
    REQUIRE(relisten);
    CHECK(l2 != l);
    raw::Socket a = raw::Socket::connect("127.0.0.1", port);
    CHECK(a.valid());
    CHECK(srv.wait_accepted() != 0);
}

TEST_CASE("listen with NULL host listens on all IPv4 addresses", "[listener]") {
    Recorder srv;
    Port sp(&srv);
    iocpnet_listener l = 0;
    REQUIRE_RC(iocpnet_listen(sp, nullptr, 0, &l), IOCPNET_OK);
    uint16_t port = 0;
    REQUIRE_RC(iocpnet_listener_port(sp, l, &port), IOCPNET_OK);
    raw::Socket a = raw::Socket::connect("127.0.0.1", port);
    CHECK(a.valid());
    CHECK(srv.wait_accepted() != 0);
}
