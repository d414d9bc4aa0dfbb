// Closing a connection while a large send is still queued. GRACEFUL: the
// peer receives every queued byte, then EOF. ABORT: the peer sees a reset or
// EOF after a prefix of the bytes; nothing crashes. Either way on_close(OK)
// fires once and the id is dead at once.
#include "support.hpp"

using namespace t;

namespace {

void run(int mode) {
    const size_t total = 8u << 20, chunk = 64u << 10;
    iocpnet_config cfg = default_config();
    cfg.max_send_queue_bytes = 32u << 20;
    Recorder srv;
    Port sp(&srv, &cfg);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);

    for (size_t off = 0; off < total; off += chunk) {
        std::string b = pattern(off, chunk);
        REQUIRE_RC(iocpnet_send(sp, s, b.data(), b.size()), IOCPNET_OK);
    }
    REQUIRE_RC(iocpnet_close(sp, s, mode), IOCPNET_OK);
    // the id is dead as soon as close returned
    CHECK_RC(iocpnet_send(sp, s, "x", 1), IOCPNET_E_NOT_FOUND);
    CHECK_RC(iocpnet_close(sp, s, mode), IOCPNET_E_NOT_FOUND);

    std::string got;
    raw::End end = peer.read_until_end(&got, 60);
    INFO("peer read " << got.size() << " bytes, ended with " << raw::end_name(end));
    std::string want = pattern(0, total);
    if (mode == IOCPNET_CLOSE_GRACEFUL) {
        CHECK(end == raw::End::eof);
        CHECK(got.size() == total);
        CHECK(first_mismatch(got, want) == -1);
    } else {
        CHECK((end == raw::End::eof || end == raw::End::reset));
        CHECK(got.size() <= total);
        CHECK(first_mismatch(got, want.substr(0, got.size())) == -1); // a prefix, in order
    }
    REQUIRE(srv.wait_closed(s));
    CHECK(srv.closes(s) == 1);
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_OK));
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
    auto ev = srv.events(s);
    for (auto &e : ev) CHECK(e.type != Ev::drain); // nothing but on_close follows a close
}

} // namespace

TEST_CASE("graceful close during a large send delivers everything then EOF", "[close]") {
    run(IOCPNET_CLOSE_GRACEFUL);
}

TEST_CASE("abortive close during a large send resets without crashing", "[close]") {
    run(IOCPNET_CLOSE_ABORT);
}

TEST_CASE("close from inside on_data during a large send", "[close]") {
    // The client sends "go"; the server queues 4 MiB and closes gracefully
    // from inside on_data: the peer gets everything, then EOF.
    const size_t total = 4u << 20;
    iocpnet_config cfg = default_config();
    cfg.max_send_queue_bytes = 16u << 20;
    Recorder srv;
    std::string want = pattern(0, total);
    srv.on_data = [&](iocpnet_port *p, iocpnet_conn c, const uint8_t *, size_t) {
        int rc = iocpnet_send(p, c, want.data(), want.size());
        if (rc != IOCPNET_OK) srv.fail("send in on_data -> " + rc_name(rc));
        rc = iocpnet_close(p, c, IOCPNET_CLOSE_GRACEFUL);
        if (rc != IOCPNET_OK) srv.fail("close in on_data -> " + rc_name(rc));
        rc = iocpnet_send(p, c, "x", 1);
        if (rc != IOCPNET_E_NOT_FOUND) srv.fail("send after close in on_data -> " + rc_name(rc));
    };
    Port sp(&srv, &cfg);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    REQUIRE(peer.send_all("go", 2));
    std::string got;
    raw::End end = peer.read_until_end(&got, 60);
    CHECK(end == raw::End::eof);
    CHECK(got.size() == total);
    CHECK(first_mismatch(got, want) == -1);
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(srv.wait_closed(s));
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_OK));
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}
