// iocpnet_port_destroy on its own port from one of its worker threads (a
// callback, a posted function) gives IN_CALLBACK and leaves the port intact;
// destroying another port from a callback is allowed.
#include "support.hpp"

using namespace t;

namespace {
struct PostCtx {
    iocpnet_port *port;
    std::atomic<int> rc{1};
};
void IOCPNET_CALL destroy_self(void *arg) {
    auto *c = static_cast<PostCtx *>(arg);
    c->rc = iocpnet_port_destroy(c->port);
}
} // namespace

TEST_CASE("destroy from a callback gives IN_CALLBACK and the port still works", "[destroy]") {
    Recorder srv;
    std::atomic<int> rc_accept{1}, rc_data{1}, rc_close{1};
    srv.on_accept = [&](iocpnet_port *p, iocpnet_listener, iocpnet_conn) { rc_accept = iocpnet_port_destroy(p); };
    srv.on_data = [&](iocpnet_port *p, iocpnet_conn c, const uint8_t *d, size_t n) {
        rc_data = iocpnet_port_destroy(p);
        iocpnet_send(p, c, d, n); // and still echo
    };
    srv.on_close = [&](iocpnet_port *p, iocpnet_conn, int) { rc_close = iocpnet_port_destroy(p); };
    Port sp(&srv);
    uint16_t port = listen_on(sp);

    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    REQUIRE(peer.send_all("ping", 4));
    std::string got;
    REQUIRE(peer.read_exact(&got, 4));
    CHECK(got == "ping");
    CHECK(rc_name(rc_accept) == rc_name(IOCPNET_E_IN_CALLBACK));
    CHECK(rc_name(rc_data) == rc_name(IOCPNET_E_IN_CALLBACK));

    peer.close();
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(srv.wait_closed(s));
    CHECK(rc_name(rc_close) == rc_name(IOCPNET_E_IN_CALLBACK));

    // from a posted function (a worker thread, outside any connection)
    PostCtx ctx;
    ctx.port = sp;
    REQUIRE_RC(iocpnet_post(sp, &destroy_self, &ctx), IOCPNET_OK);
    REQUIRE(wait_until([&] { return ctx.rc != 1; }));
    CHECK(rc_name(ctx.rc) == rc_name(IOCPNET_E_IN_CALLBACK));

    // the port still accepts and echoes
    raw::Socket peer2 = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer2.valid());
    REQUIRE(peer2.send_all("again", 5));
    got.clear();
    REQUIRE(peer2.read_exact(&got, 5));
    CHECK(got == "again");
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}

TEST_CASE("destroying another port from a callback is allowed", "[destroy]") {
    Recorder other_rec;
    iocpnet_port *other = nullptr;
    {
        iocpnet_callbacks cbs = other_rec.callbacks();
        REQUIRE_RC(iocpnet_port_create(nullptr, &cbs, &other_rec, &other), IOCPNET_OK);
    }
    iocpnet_listener ol = 0;
    listen_on(other, &ol);

    Recorder srv;
    std::atomic<int> rc{1};
    srv.on_accept = [&](iocpnet_port *, iocpnet_listener, iocpnet_conn) { rc = iocpnet_port_destroy(other); };
    Port sp(&srv);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    REQUIRE(wait_until([&] { return rc != 1; }));
    CHECK(rc_name(rc) == rc_name(IOCPNET_OK));
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}
