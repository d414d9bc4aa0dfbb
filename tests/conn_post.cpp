// iocpnet_conn_post: fn runs exactly once, on the connection's worker, never
// inside the caller and never concurrently with the connection's callbacks,
// and before its last callback.
#include "support.hpp"

using namespace t;

namespace {
struct Posted {
    Recorder *rec = nullptr;
    std::atomic<int> runs{0};
    std::atomic<bool> saw_closed{false};
    iocpnet_conn got = 0;
    std::thread::id thread;
};
void IOCPNET_CALL posted(void *arg, iocpnet_port *, iocpnet_conn c) {
    auto *p = static_cast<Posted *>(arg);
    p->got = c;
    p->thread = std::this_thread::get_id();
    if (p->rec && p->rec->is_closed(c)) p->saw_closed = true;
    p->runs++;
}
} // namespace

TEST_CASE("conn_post from on_data runs after the callback returns, on the same worker", "[connpost]") {
    Recorder srv;
    Posted p;
    p.rec = &srv;
    std::atomic<int> rc_in_cb{1};
    std::atomic<int> runs_at_return{-1};
    std::thread::id cb_thread;
    srv.on_data = [&](iocpnet_port *port, iocpnet_conn c, const uint8_t *, size_t) {
        cb_thread = std::this_thread::get_id();
        rc_in_cb = iocpnet_conn_post(port, c, posted, &p);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        runs_at_return = p.runs.load(); // never inline
    };
    Port sp(&srv);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    iocpnet_conn s = srv.wait_accepted(0);
    REQUIRE(s != 0);
    REQUIRE(peer.send_all("x"));
    REQUIRE(wait_until([&] { return p.runs.load() == 1; }));
    CHECK(rc_name(rc_in_cb.load()) == rc_name(IOCPNET_OK));
    CHECK(runs_at_return.load() == 0);
    CHECK(p.got == s);
    CHECK(p.thread == cb_thread);
    check_clean(srv);
}

TEST_CASE("conn_post then close from another thread: fn runs before on_close, exactly once", "[connpost]") {
    Recorder srv;
    srv.spin_us = 200; // callbacks take a while: posts land between them
    Port sp(&srv);
    uint16_t port = listen_on(sp);
    for (int round = 0; round < 30; round++) {
        raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
        iocpnet_conn s = srv.wait_accepted(size_t(round));
        REQUIRE(s != 0);
        Posted p;
        p.rec = &srv;
        REQUIRE(peer.send_all("data"));
        REQUIRE_RC(iocpnet_conn_post(sp, s, posted, &p), IOCPNET_OK);
        REQUIRE_RC(iocpnet_close(sp, s, round % 2 ? IOCPNET_CLOSE_ABORT : IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
        CHECK_RC(iocpnet_conn_post(sp, s, posted, &p), IOCPNET_E_NOT_FOUND); // closing: fn will not run
        REQUIRE(srv.wait_closed(s));
        REQUIRE(wait_until([&] { return p.runs.load() >= 1; }));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        CHECK(p.runs.load() == 1);
        CHECK_FALSE(p.saw_closed.load());
    }
    check_clean(srv);
}

TEST_CASE("conn_post on a connect that fails runs before on_connect's error", "[connpost]") {
    Recorder cli;
    Port cp(&cli);
    Posted p;
    p.rec = &cli;
    std::atomic<int> runs_at_connect{-1};
    cli.on_connect = [&](iocpnet_port *, iocpnet_conn, int) { runs_at_connect = p.runs.load(); };
    iocpnet_conn c = connect_to(cp, raw::unused_port());
    int rc = iocpnet_conn_post(cp, c, posted, &p);
    REQUIRE(wait_until([&] { return cli.n_connect_failed() == 1; }));
    if (rc == IOCPNET_OK) {
        CHECK(runs_at_connect.load() == 1);
        CHECK(p.runs.load() == 1);
    } else { // the refusal came first
        CHECK(rc_name(rc) == rc_name(IOCPNET_E_NOT_FOUND));
        CHECK(p.runs.load() == 0);
    }
    check_clean(cli);
}

TEST_CASE("conn_post checks its arguments; posts accepted before destroy still run", "[connpost][args]") {
    Recorder srv;
    auto sp = std::make_unique<Port>(&srv);
    Posted p;
    CHECK_RC(iocpnet_conn_post(nullptr, 1, posted, &p), IOCPNET_E_INVALID_ARG);
    CHECK_RC(iocpnet_conn_post(*sp, 1, nullptr, &p), IOCPNET_E_INVALID_ARG);
    CHECK_RC(iocpnet_conn_post(*sp, 0, posted, &p), IOCPNET_E_NOT_FOUND);
    uint16_t port = listen_on(*sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    iocpnet_conn s = srv.wait_accepted(0);
    REQUIRE(s != 0);
    Gate g;
    REQUIRE_RC(iocpnet_post(*sp, block_until_open, &g), IOCPNET_OK);
    int accepted = 0;
    std::vector<std::unique_ptr<Posted>> many;
    for (int i = 0; i < 100; i++) {
        many.emplace_back(new Posted);
        accepted += iocpnet_conn_post(*sp, s, posted, many.back().get()) == IOCPNET_OK;
    }
    CHECK(accepted == 100);
    g.open = true;
    REQUIRE(sp->destroy() == IOCPNET_OK);
    for (auto &m : many) CHECK(m->runs.load() == 1);
    check_clean(srv, true);
}
