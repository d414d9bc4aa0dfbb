// Idle timeout: no bytes received for idle_timeout_ms closes the
// connection with on_close(TIMEOUT); received bytes keep it alive, sent
// bytes do not; per-listener and per-connection options override the config.
#include "support.hpp"

using namespace t;

TEST_CASE("idle timeout from the config closes a silent connection with TIMEOUT", "[timeout]") {
    iocpnet_config cfg = default_config();
    cfg.idle_timeout_ms = 300;
    Recorder srv;
    Port sp(&srv, &cfg);
    uint16_t port = listen_on(sp);
    auto t0 = std::chrono::steady_clock::now();
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    REQUIRE(srv.wait_closed(s));
    double took = seconds_since(t0);
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_E_TIMEOUT));
    CHECK(took >= 0.15); // not before (about) the timeout
    std::string got;
    raw::End end = peer.read_until_end(&got);
    CHECK((end == raw::End::eof || end == raw::End::reset));
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}

TEST_CASE("received bytes keep a connection alive, sent bytes do not", "[timeout]") {
    iocpnet_config cfg = default_config();
    cfg.idle_timeout_ms = 1500;
    Recorder srv;
    Port sp(&srv, &cfg);
    uint16_t port = listen_on(sp);
    raw::Socket talker = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(talker.valid());
    iocpnet_conn s = srv.wait_accepted(0);
    REQUIRE(s != 0);
    for (int i = 0; i < 30; i++) { // 3 s of traffic, a byte every 100 ms
        REQUIRE(talker.send_all("k", 1));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(srv.is_closed(s) == false);
    // then silence: it times out
    REQUIRE(srv.wait_closed(s));
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_E_TIMEOUT));

    // the engine sending does not count as activity
    raw::Socket listener_only = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(listener_only.valid());
    iocpnet_conn s2 = srv.wait_accepted(1);
    REQUIRE(s2 != 0);
    bool closed = wait_until([&] {
        iocpnet_send(sp, s2, "tick", 4); // NOT_FOUND once it is closed
        char sink[4096];
        listener_only.recv_some(sink, sizeof sink, 0); // keep reading what it sends
        return srv.is_closed(s2);
    });
    CHECK(closed);
    CHECK(rc_name(srv.close_reason(s2)) == rc_name(IOCPNET_E_TIMEOUT));
}

TEST_CASE("listen_ex idle_timeout_ms overrides the config; INHERIT and 0 mean the config's and off",
          "[timeout]") {
    Recorder srv;
    Port sp(&srv); // config: no idle timeout
    iocpnet_conn_options on = default_options(), inherit = default_options();
    on.idle_timeout_ms = 300;
    uint16_t p_on = listen_on(sp, nullptr, "127.0.0.1", &on);
    uint16_t p_inherit = listen_on(sp, nullptr, "127.0.0.1", &inherit);
    raw::Socket a = raw::Socket::connect("127.0.0.1", p_inherit);
    REQUIRE(a.valid());
    iocpnet_conn quiet_ok = srv.wait_accepted(0);
    raw::Socket b = raw::Socket::connect("127.0.0.1", p_on);
    REQUIRE(b.valid());
    iocpnet_conn times_out = srv.wait_accepted(1);
    REQUIRE(quiet_ok != 0);
    REQUIRE(times_out != 0);
    REQUIRE(srv.wait_closed(times_out));
    CHECK(rc_name(srv.close_reason(times_out)) == rc_name(IOCPNET_E_TIMEOUT));
    std::this_thread::sleep_for(std::chrono::milliseconds(1000)); // well past 300 ms
    CHECK(srv.is_closed(quiet_ok) == false);
}

TEST_CASE("connect_ex idle_timeout_ms applies to an outgoing connection", "[timeout]") {
    raw::Socket lis = raw::Socket::listen("127.0.0.1", 0);
    Recorder cli;
    Port cp(&cli);
    iocpnet_conn_options opt = default_options();
    opt.idle_timeout_ms = 300;
    iocpnet_conn c = connect_to(cp, lis.local_port(), "127.0.0.1", &opt);
    raw::Socket a = lis.accept();
    REQUIRE(a.valid());
    REQUIRE(cli.wait_closed(c));
    CHECK(cli.connect_status(c) == IOCPNET_OK);
    CHECK(rc_name(cli.close_reason(c)) == rc_name(IOCPNET_E_TIMEOUT));
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    check_clean(cli, true);
}
