// iocpnet_sendv: several buffers are one message (one frame around their
// concatenation), queued all or nothing.
#include "support.hpp"

using namespace t;

TEST_CASE("sendv with LENGTH_PREFIX frames the concatenation once", "[sendv]") {
    Recorder srv;
    Port sp(&srv);
    iocpnet_conn_options o = default_options();
    o.framing = IOCPNET_FRAMING_LENGTH_PREFIX;
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &o);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted(0);
    REQUIRE(s != 0);
    std::string big = pattern(0, 70000);
    iocpnet_buf bufs[4] = {{"head:", 5}, {nullptr, 0}, {big.data(), big.size()}, {":tail", 5}};
    REQUIRE_RC(iocpnet_sendv(sp, s, bufs, 4), IOCPNET_OK);
    REQUIRE_RC(iocpnet_sendv(sp, s, nullptr, 0), IOCPNET_OK); // an empty message
    std::string got;
    REQUIRE(peer.read_exact(&got, 4 + 5 + big.size() + 5 + 4));
    CHECK(get_u32(got.data()) == 5 + big.size() + 5);
    CHECK(got.substr(4, 5 + big.size() + 5) == "head:" + big + ":tail");
    CHECK(get_u32(got.data() + got.size() - 4) == 0);
    uint64_t q = 1;
    REQUIRE(wait_until([&] { return iocpnet_conn_queued_bytes(sp, s, &q) == IOCPNET_OK && q == 0; }));
    check_clean(srv);
}

TEST_CASE("sendv with LINE: one line end, and a newline in any buffer refuses the whole message", "[sendv]") {
    Recorder srv;
    Port sp(&srv);
    iocpnet_conn_options o = default_options();
    o.framing = IOCPNET_FRAMING_LINE;
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &o);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted(0);
    REQUIRE(s != 0);
    iocpnet_buf bad[3] = {{"a", 1}, {"b\nc", 3}, {"d", 1}};
    CHECK_RC(iocpnet_sendv(sp, s, bad, 3), IOCPNET_E_INVALID_ARG);
    iocpnet_buf good[3] = {{"alice", 5}, {": ", 2}, {"hello", 5}};
    REQUIRE_RC(iocpnet_sendv(sp, s, good, 3), IOCPNET_OK);
    std::string got;
    REQUIRE(peer.read_exact(&got, 13));
    CHECK(got == "alice: hello\n"); // nothing of the refused message
    check_clean(srv);
}

TEST_CASE("sendv is all or nothing against the queue bound, and checks its arguments", "[sendv][backpressure]") {
    iocpnet_config cfg = default_config();
    cfg.max_send_queue_bytes = 64 << 10;
    Recorder srv;
    Port sp(&srv, &cfg);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port, 30000, 4096);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted(0);
    REQUIRE(s != 0);
    std::string part(16 << 10, 'x');
    iocpnet_buf three[3] = {{part.data(), part.size()}, {part.data(), part.size()}, {part.data(), part.size()}};
    int rc = IOCPNET_OK;
    uint64_t before = 0, after = 0;
    REQUIRE(wait_until([&] {
        iocpnet_conn_queued_bytes(sp, s, &before);
        rc = iocpnet_sendv(sp, s, three, 3);
        iocpnet_conn_queued_bytes(sp, s, &after);
        return rc != IOCPNET_OK;
    }));
    CHECK(rc_name(rc) == rc_name(IOCPNET_E_WOULD_BLOCK));
    CHECK(after <= before); // nothing of the refused message was queued (the kernel may have taken some)
    std::string huge((64 << 10) + 1, 'h');
    iocpnet_buf one{huge.data(), huge.size()};
    CHECK_RC(iocpnet_sendv(sp, s, &one, 1), IOCPNET_E_LIMIT);
    CHECK_RC(iocpnet_sendv(nullptr, s, &one, 1), IOCPNET_E_INVALID_ARG);
    CHECK_RC(iocpnet_sendv(sp, s, nullptr, 2), IOCPNET_E_INVALID_ARG);
    iocpnet_buf null_data{nullptr, 3};
    CHECK_RC(iocpnet_sendv(sp, s, &null_data, 1), IOCPNET_E_INVALID_ARG);
    CHECK_RC(iocpnet_sendv(sp, 999, &one, 1), IOCPNET_E_NOT_FOUND);
    check_clean(srv);
}
