// LENGTH_PREFIX framing through the API: on_data gets exactly one whole
// message however the bytes were split or merged on the wire; send writes
// the 4-byte big-endian header.
#include "support.hpp"

using namespace t;

namespace {
std::string framed(const std::string &payload) {
    std::string s;
    put_u32(s, static_cast<uint32_t>(payload.size()));
    return s + payload;
}
} // namespace

TEST_CASE("LENGTH_PREFIX: one on_data per message, send adds the header", "[framing]") {
    Recorder srv;
    srv.keep_messages = true;
    make_echo(srv); // echo each message: send frames it again
    Port sp(&srv);
    iocpnet_conn_options opt = default_options();
    opt.framing = IOCPNET_FRAMING_LENGTH_PREFIX;
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &opt);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    peer.set_nodelay(true);

    std::vector<std::string> msgs = {"hello", random_bytes(1000, 7), std::string(1, '\0'), random_bytes(100000, 8),
                                     "x", "last one"};
    std::string wire;
    for (auto &m : msgs) wire += framed(m);
    // the first header byte by byte, then everything else in two big pieces
    size_t off = 0;
    for (; off < 4; off++) {
        REQUIRE(peer.send_all(&wire[off], 1));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    size_t half = off + (wire.size() - off) / 2;
    REQUIRE(peer.send_all(wire.data() + off, half - off));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(peer.send_all(wire.data() + half, wire.size() - half));

    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    REQUIRE(wait_until([&] { return srv.messages(s).size() >= msgs.size(); }));
    auto got = srv.messages(s);
    REQUIRE(got.size() == msgs.size());
    for (size_t i = 0; i < msgs.size(); i++) {
        INFO("message " << i);
        CHECK(first_mismatch(got[i], msgs[i]) == -1);
    }
    // the echo comes back framed
    std::string back;
    REQUIRE(peer.read_exact(&back, wire.size()));
    CHECK(first_mismatch(back, wire) == -1);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}

TEST_CASE("LENGTH_PREFIX between two engine connections", "[framing]") {
    Recorder srv, cli;
    srv.keep_messages = true;
    Port sp(&srv), cp(&cli);
    iocpnet_conn_options opt = default_options();
    opt.framing = IOCPNET_FRAMING_LENGTH_PREFIX;
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &opt);
    iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &opt);
    std::vector<std::string> msgs;
    for (int i = 0; i < 500; i++) msgs.push_back(random_bytes(1 + (i * 97) % 3000, 100 + i));
    for (auto &m : msgs) REQUIRE_RC(iocpnet_send(cp, c, m.data(), m.size()), IOCPNET_OK);
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(wait_until([&] { return srv.messages(s).size() >= msgs.size(); }));
    CHECK(srv.messages(s) == msgs);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
}

TEST_CASE("LENGTH_PREFIX: max_message_size limits what the peer sends, not what this side sends", "[framing]") {
    Recorder srv, cli;
    srv.keep_messages = true;
    Port sp(&srv), cp(&cli);
    iocpnet_conn_options big = default_options(), small = default_options();
    big.framing = IOCPNET_FRAMING_LENGTH_PREFIX; // default limit: 1 MiB
    small.framing = IOCPNET_FRAMING_LENGTH_PREFIX;
    small.max_message_size = 1024;
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &big);
    iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &small);
    std::string over(5000, 'o'), exact(1024, 'k');
    CHECK_RC(iocpnet_send(cp, c, over.data(), over.size()), IOCPNET_OK);
    CHECK_RC(iocpnet_send(cp, c, exact.data(), exact.size()), IOCPNET_OK);
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    REQUIRE(wait_until([&] { return srv.messages(s).size() >= 2; }));
    auto got = srv.messages(s);
    REQUIRE(got.size() == 2);
    CHECK(got[0] == over);
    CHECK(got[1] == exact);
    CHECK(srv.is_closed(s) == false);
    CHECK(cli.is_closed(c) == false);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
}
