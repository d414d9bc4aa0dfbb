// Receive flow control: a paused connection gets no on_data, reads nothing
// more from its socket (so the peer's sends stall in TCP), and on resume
// delivers every byte it held, in order, before anything newer and before
// the close the peer made meanwhile.
#include "support.hpp"

using namespace t;

namespace {
std::string lines(int from, int n) {
    std::string s;
    for (int i = from; i < from + n; i++) s += "line " + std::to_string(i) + "\n";
    return s;
}
std::vector<std::string> expected_lines(int n) {
    std::vector<std::string> v;
    for (int i = 0; i < n; i++) v.push_back("line " + std::to_string(i));
    return v;
}
} // namespace

TEST_CASE("pause inside on_data stops before the next message; resume delivers the rest in order", "[flow]") {
    Recorder srv;
    srv.keep_messages = true;
    std::atomic<int> seen{0};
    std::atomic<int> pause_rc{1};
    srv.on_data = [&](iocpnet_port *p, iocpnet_conn c, const uint8_t *, size_t) {
        if (++seen == 3) pause_rc = iocpnet_pause_recv(p, c); // the rest of this read must wait
    };
    Port sp(&srv);
    iocpnet_conn_options o = default_options();
    o.framing = IOCPNET_FRAMING_LINE;
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &o);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted(0);
    REQUIRE(s != 0);
    REQUIRE(peer.send_all(lines(0, 100))); // one write: most likely one read of many lines
    REQUIRE(wait_until([&] { return seen.load() >= 3; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(rc_name(pause_rc.load()) == rc_name(IOCPNET_OK));
    CHECK(seen.load() == 3); // nothing after the pause
    REQUIRE(peer.send_all(lines(100, 100)));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(seen.load() == 3);
    CHECK_RC(iocpnet_pause_recv(sp, s), IOCPNET_OK); // idempotent
    REQUIRE_RC(iocpnet_resume_recv(sp, s), IOCPNET_OK);
    CHECK_RC(iocpnet_resume_recv(sp, s), IOCPNET_OK);
    REQUIRE(wait_until([&] { return seen.load() >= 200; }));
    CHECK(srv.messages(s) == expected_lines(200));
    check_clean(srv);
}

TEST_CASE("a paused connection reads nothing more: the peer's sends stall in TCP", "[flow]") {
    Recorder srv;
    srv.keep_data = false;
    Port sp(&srv);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    peer.set_sndbuf(64 << 10);
    iocpnet_conn s = srv.wait_accepted(0);
    REQUIRE(s != 0);
    REQUIRE_RC(iocpnet_pause_recv(sp, s), IOCPNET_OK);
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // the stop reaches the backend
    uint64_t before = stats(sp).bytes_received;
    // 64 MiB cannot all be sent while nobody reads: the windows fill and send_all times out.
    std::string chunk = pattern(0, 1 << 20);
    uint64_t pushed = 0;
    bool stalled = false;
    for (int i = 0; i < 64 && !stalled; i++) {
        if (peer.send_all(chunk.data(), chunk.size(), 500)) pushed += chunk.size();
        else stalled = true;
    }
    CHECK(stalled);
    uint64_t read_while_paused = stats(sp).bytes_received - before;
    INFO("the peer pushed " << pushed << " bytes; the engine read " << read_while_paused << " of them while paused");
    CHECK(read_while_paused <= (4u << 20)); // at most what was in flight when the stop took effect
    CHECK(srv.bytes(s) == 0);
    REQUIRE_RC(iocpnet_resume_recv(sp, s), IOCPNET_OK);
    CHECK(wait_until([&] { return srv.bytes(s) >= pushed; }));
    check_clean(srv);
}

TEST_CASE("pause from another thread, bytes and the peer's FIN arrive, resume delivers all before on_close", "[flow]") {
    Recorder srv;
    Port sp(&srv);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted(0);
    REQUIRE(s != 0);
    REQUIRE(peer.send_all("before"));
    REQUIRE(srv.wait_bytes(s, 6));
    REQUIRE_RC(iocpnet_pause_recv(sp, s), IOCPNET_OK);
    std::string rest = pattern(0, 300000);
    REQUIRE(peer.send_all(rest));
    peer.shutdown_write();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(srv.bytes(s) == 6);
    CHECK_FALSE(srv.is_closed(s));
    REQUIRE_RC(iocpnet_resume_recv(sp, s), IOCPNET_OK);
    REQUIRE(srv.wait_closed(s));
    CHECK(srv.data(s) == "before" + rest);
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_E_PEER_CLOSED));
    auto ev = srv.events(s);
    REQUIRE(!ev.empty());
    CHECK(ev.back().type == Ev::close);
    check_clean(srv);
}

TEST_CASE("the idle timeout does not run while paused and starts afresh on resume", "[flow][timeout]") {
    iocpnet_config cfg = default_config();
    cfg.idle_timeout_ms = 300;
    Recorder srv;
    Port sp(&srv, &cfg);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted(0);
    REQUIRE(s != 0);
    REQUIRE_RC(iocpnet_pause_recv(sp, s), IOCPNET_OK);
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    CHECK_FALSE(srv.is_closed(s));
    auto t0 = std::chrono::steady_clock::now();
    REQUIRE_RC(iocpnet_resume_recv(sp, s), IOCPNET_OK);
    REQUIRE(srv.wait_closed(s, 10));
    CHECK(seconds_since(t0) >= 0.25);
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_E_TIMEOUT));
    check_clean(srv);
}

TEST_CASE("pause and resume of unknown or closed ids give NOT_FOUND", "[flow][args]") {
    Recorder srv;
    Port sp(&srv);
    CHECK_RC(iocpnet_pause_recv(nullptr, 1), IOCPNET_E_INVALID_ARG);
    CHECK_RC(iocpnet_resume_recv(nullptr, 1), IOCPNET_E_INVALID_ARG);
    CHECK_RC(iocpnet_pause_recv(sp, 0), IOCPNET_E_NOT_FOUND);
    CHECK_RC(iocpnet_resume_recv(sp, 12345), IOCPNET_E_NOT_FOUND);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    iocpnet_conn s = srv.wait_accepted(0);
    REQUIRE(s != 0);
    REQUIRE_RC(iocpnet_close(sp, s, IOCPNET_CLOSE_ABORT), IOCPNET_OK);
    CHECK_RC(iocpnet_pause_recv(sp, s), IOCPNET_E_NOT_FOUND);
    CHECK_RC(iocpnet_resume_recv(sp, s), IOCPNET_E_NOT_FOUND);
}
