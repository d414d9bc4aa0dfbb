// LINE framing through the API: on_data gets one line without its ending
// ("\n", or "\r\n"); send appends "\n"; a payload containing "\n" is
// INVALID_ARG and sends nothing.
#include "support.hpp"

using namespace t;

TEST_CASE("LINE: one on_data per line, \\r\\n accepted, send appends \\n", "[framing]") {
    Recorder srv;
    srv.keep_messages = true;
    make_echo(srv);
    Port sp(&srv);
    iocpnet_conn_options opt = default_options();
    opt.framing = IOCPNET_FRAMING_LINE;
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &opt);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    peer.set_nodelay(true);
    const char *pieces[] = {"hello\n", "crlf\r\n", "spl", "it", "ted\n", "a\nb\nc\n", "mid\rdle\n", "end\r", "\n"};
    for (const char *p : pieces) {
        REQUIRE(peer.send_all(p, strlen(p)));
        std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
    std::vector<std::string> want = {"hello", "crlf", "splitted", "a", "b", "c", "mid\rdle", "end"};
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    REQUIRE(wait_until([&] { return srv.messages(s).size() >= want.size(); }));
    CHECK(srv.messages(s) == want);
    std::string expect_back;
    for (auto &w : want) expect_back += w + "\n";
    std::string back;
    REQUIRE(peer.read_exact(&back, expect_back.size()));
    CHECK(back == expect_back);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}

TEST_CASE("LINE: a payload containing \\n is INVALID_ARG and sends nothing", "[framing][args]") {
    Recorder srv;
    Port sp(&srv);
    iocpnet_conn_options opt = default_options();
    opt.framing = IOCPNET_FRAMING_LINE;
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &opt);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    CHECK_RC(iocpnet_send(sp, s, "two\nlines", 9), IOCPNET_E_INVALID_ARG);
    CHECK_RC(iocpnet_send(sp, s, "trailing\n", 9), IOCPNET_E_INVALID_ARG);
    CHECK_RC(iocpnet_send(sp, s, "fine", 4), IOCPNET_OK);
    std::string got;
    REQUIRE(peer.read_exact(&got, 5));
    CHECK(got == "fine\n");
    // nothing else comes (the refused sends queued nothing)
    got.clear();
    REQUIRE_RC(iocpnet_close(sp, s, IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
    CHECK(peer.read_until_end(&got) == raw::End::eof);
    CHECK(got == "");
}

TEST_CASE("LINE between two engine connections, many lines", "[framing]") {
    Recorder srv, cli;
    srv.keep_messages = true;
    Port sp(&srv), cp(&cli);
    iocpnet_conn_options opt = default_options();
    opt.framing = IOCPNET_FRAMING_LINE;
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &opt);
    iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &opt);
    std::vector<std::string> lines;
    for (int i = 0; i < 2000; i++) lines.push_back("line " + std::to_string(i) + std::string(static_cast<size_t>(i % 50), '.'));
    for (auto &l : lines) REQUIRE_RC(iocpnet_send(cp, c, l.data(), l.size()), IOCPNET_OK);
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(wait_until([&] { return srv.messages(s).size() >= lines.size(); }));
    CHECK(srv.messages(s) == lines);
}
