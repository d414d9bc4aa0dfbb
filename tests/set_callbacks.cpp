// iocpnet_set_callbacks replaces callbacks and user pointer for callbacks
// that start after the call; NULL means none. A port created without
// callbacks gets them later.
#include "support.hpp"

using namespace t;

TEST_CASE("set_callbacks replaces the callbacks and the user pointer", "[callbacks]") {
    Recorder a, b;
    Port sp(&a);
    uint16_t port = listen_on(sp);
    raw::Socket p1 = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(a.wait_accepted() != 0);

    iocpnet_callbacks cb = b.callbacks();
    REQUIRE_RC(iocpnet_set_callbacks(sp, &cb, &b), IOCPNET_OK);
    raw::Socket p2 = raw::Socket::connect("127.0.0.1", port);
    iocpnet_conn c2 = b.wait_accepted();
    REQUIRE(c2 != 0);
    CHECK(a.n_accepted() == 1);
    // data of the first connection now goes to b as well (its on_accept went to a)
    REQUIRE(p1.send_all("to b", 4));
    REQUIRE(wait_until([&] { return b.total_bytes() == 4; }));
    CHECK(a.total_bytes() == 0);

    // no callbacks at all: traffic flows, nothing is called
    REQUIRE_RC(iocpnet_set_callbacks(sp, nullptr, nullptr), IOCPNET_OK);
    raw::Socket p3 = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(p3.valid());
    REQUIRE(p3.send_all("nobody", 6));
    REQUIRE(wait_until([&] { return stats(sp).connections_accepted == 3 && stats(sp).bytes_received == 10; }));
    CHECK(a.n_accepted() + b.n_accepted() == 2);
    CHECK(b.total_bytes() == 4);
    // a connection can still be driven without callbacks
    CHECK_RC(iocpnet_send(sp, c2, "hey", 3), IOCPNET_OK);
    std::string got;
    CHECK(p2.read_exact(&got, 3));
    CHECK(got == "hey");

    // back to a
    cb = a.callbacks();
    REQUIRE_RC(iocpnet_set_callbacks(sp, &cb, &a), IOCPNET_OK);
    REQUIRE(p2.send_all("to a", 4));
    REQUIRE(wait_until([&] { return a.total_bytes() == 4; }));
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    // the recorders saw partial lives (a connection's on_accept in one, its
    // data in another): only overlaps are meaningful here
    CHECK(a.overlaps() == 0);
    CHECK(b.overlaps() == 0);
}

TEST_CASE("a port created without callbacks gets them with set_callbacks", "[callbacks]") {
    Port sp(nullptr);
    uint16_t port = listen_on(sp);
    Recorder r;
    make_echo(r);
    iocpnet_callbacks cb = r.callbacks();
    REQUIRE_RC(iocpnet_set_callbacks(sp, &cb, &r), IOCPNET_OK);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    REQUIRE(peer.send_all("echo", 4));
    std::string got;
    CHECK(peer.read_exact(&got, 4));
    CHECK(got == "echo");
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(r, true);
}

TEST_CASE("set_callbacks from inside a callback", "[callbacks]") {
    Recorder a, b;
    iocpnet_callbacks bcb = b.callbacks();
    std::atomic<int> rc{1};
    a.on_accept = [&](iocpnet_port *p, iocpnet_listener, iocpnet_conn) { rc = iocpnet_set_callbacks(p, &bcb, &b); };
    Port sp(&a);
    uint16_t port = listen_on(sp);
    raw::Socket p1 = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(a.wait_accepted() != 0);
    REQUIRE(wait_until([&] { return rc != 1; }));
    CHECK(rc_name(rc) == rc_name(IOCPNET_OK));
    raw::Socket p2 = raw::Socket::connect("127.0.0.1", port);
    CHECK(b.wait_accepted() != 0);
    CHECK(a.n_accepted() == 1);
}
