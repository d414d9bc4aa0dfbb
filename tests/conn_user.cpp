// Per-connection user data: NULL until set, kept per connection, readable
// from callbacks and other threads, gone with the connection.
#include "support.hpp"

using namespace t;

TEST_CASE("conn_set_user and conn_get_user", "[user]") {
    Recorder srv;
    std::atomic<int> mismatches{0}, bad_in_close{0}, seen_in_close{0};
    // each connection gets a pointer to its own slot in `tags`, set in on_accept
    static int tags[8];
    std::atomic<int> next{0};
    srv.on_accept = [&](iocpnet_port *p, iocpnet_listener, iocpnet_conn c) {
        void *u = reinterpret_cast<void *>(1);
        if (iocpnet_conn_get_user(p, c, &u) != IOCPNET_OK || u != nullptr) mismatches++;
        int i = next++;
        tags[i] = i;
        if (iocpnet_conn_set_user(p, c, &tags[i]) != IOCPNET_OK) mismatches++;
    };
    srv.on_data = [&](iocpnet_port *p, iocpnet_conn c, const uint8_t *d, size_t n) {
        void *u = nullptr;
        if (iocpnet_conn_get_user(p, c, &u) != IOCPNET_OK || u == nullptr) {
            mismatches++;
            return;
        }
        std::string reply = std::to_string(*static_cast<int *>(u));
        (void)d;
        (void)n;
        iocpnet_send(p, c, reply.data(), reply.size());
    };
    // on_close can still read the pointer (to free it) and the addresses
    srv.on_close = [&](iocpnet_port *p, iocpnet_conn c, int reason) {
        void *u = nullptr;
        int rc = iocpnet_conn_get_user(p, c, &u);
        if (rc != IOCPNET_OK || u == nullptr) {
            bad_in_close++;
            srv.fail("get_user in on_close -> " + rc_name(rc));
        }
        char buf[IOCPNET_ADDRSTRLEN];
        rc = iocpnet_conn_peer_address(p, c, buf, sizeof buf);
        if (rc != IOCPNET_OK)
            srv.fail("peer_address in on_close(" + rc_name(reason) + ") -> " + rc_name(rc) + " (" +
                     iocpnet_last_error_message() + ")");
        if (iocpnet_conn_set_user(p, c, nullptr) != IOCPNET_E_NOT_FOUND) srv.fail("set_user in on_close worked");
        seen_in_close++;
    };
    Port sp(&srv);
    uint16_t port = listen_on(sp);
    raw::Socket a = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(srv.wait_accepted(0) != 0);
    raw::Socket b = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(srv.wait_accepted(1) != 0);
    REQUIRE(a.send_all("?", 1));
    REQUIRE(b.send_all("?", 1));
    std::string ra, rb;
    REQUIRE(a.read_exact(&ra, 1));
    REQUIRE(b.read_exact(&rb, 1));
    CHECK(ra == "0");
    CHECK(rb == "1");
    CHECK(mismatches == 0);

    // from the test thread: overwrite, read back, NULL again
    iocpnet_conn ca = srv.accepted()[0];
    int mine = 42;
    REQUIRE_RC(iocpnet_conn_set_user(sp, ca, &mine), IOCPNET_OK);
    void *u = nullptr;
    REQUIRE_RC(iocpnet_conn_get_user(sp, ca, &u), IOCPNET_OK);
    CHECK(u == &mine);
    REQUIRE(a.send_all("?", 1));
    ra.clear();
    REQUIRE(a.read_exact(&ra, 2));
    CHECK(ra == "42");
    REQUIRE_RC(iocpnet_conn_set_user(sp, ca, nullptr), IOCPNET_OK);
    REQUIRE_RC(iocpnet_conn_get_user(sp, ca, &u), IOCPNET_OK);
    CHECK(u == nullptr);
    REQUIRE_RC(iocpnet_conn_set_user(sp, ca, &mine), IOCPNET_OK);

    // readable inside on_close, NOT_FOUND after it
    a.close();
    REQUIRE(srv.wait_closed(ca));
    CHECK(seen_in_close == 1);
    CHECK_RC(iocpnet_conn_get_user(sp, ca, &u), IOCPNET_E_NOT_FOUND);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    CHECK(seen_in_close == 2);
    CHECK(bad_in_close == 0);
    check_clean(srv, true);
}
