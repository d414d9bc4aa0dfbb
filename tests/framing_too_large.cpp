// A peer that breaks max_message_size: on_framing_error(MESSAGE_TOO_LARGE)
// while the connection is still open (a reply sent from it reaches the
// peer), then on_close(MESSAGE_TOO_LARGE). An announced 2 GiB length is
// refused at once without reserving memory.
#include "support.hpp"

using namespace t;

namespace {

std::string framed(const std::string &payload) {
    std::string s;
    put_u32(s, static_cast<uint32_t>(payload.size()));
    return s + payload;
}

void run_too_large(uint32_t framing, const std::string &good, const std::string &bad, const std::string &reply,
                   const std::string &reply_on_wire, const std::string &good_on_wire) {
    Recorder srv;
    srv.keep_messages = true;
    srv.on_framing_error = [&](iocpnet_port *p, iocpnet_conn c, int err) {
        if (err != IOCPNET_E_MESSAGE_TOO_LARGE) srv.fail("on_framing_error with " + rc_name(err));
        int rc = iocpnet_send(p, c, reply.data(), reply.size());
        if (rc != IOCPNET_OK) srv.fail("reply from on_framing_error -> " + rc_name(rc));
    };
    Port sp(&srv);
    iocpnet_conn_options opt = default_options();
    opt.framing = framing;
    opt.max_message_size = 1024;
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &opt);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    REQUIRE(peer.send_all(good_on_wire));
    REQUIRE(peer.send_all(bad));
    std::string got;
    raw::End end = peer.read_until_end(&got);
    INFO("peer got " << got.size() << " bytes, then " << raw::end_name(end));
    CHECK(got == reply_on_wire); // the last reply arrives before the close
    CHECK(end == raw::End::eof);  // flushed, then closed gracefully
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(srv.wait_closed(s));
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_E_MESSAGE_TOO_LARGE));
    auto msgs = srv.messages(s);
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0] == good);
    auto ev = srv.events(s);
    REQUIRE(ev.size() >= 3);
    CHECK(ev[ev.size() - 2].type == Ev::framing_error);
    CHECK(ev.back().type == Ev::close);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}

} // namespace

TEST_CASE("LENGTH_PREFIX over max_message_size: on_framing_error, reply, on_close(MESSAGE_TOO_LARGE)",
          "[framing][limits]") {
    std::string good(1024, 'g'); // exactly the limit is fine
    std::string bad;
    put_u32(bad, 1025);
    bad += std::string(100, 'b');
    run_too_large(IOCPNET_FRAMING_LENGTH_PREFIX, good, bad, "bye", framed("bye"), framed(good));
}

TEST_CASE("LINE over max_message_size: on_framing_error, reply, on_close(MESSAGE_TOO_LARGE)", "[framing][limits]") {
    std::string good(100, 'g');
    std::string bad(5000, 'b'); // no newline in sight
    run_too_large(IOCPNET_FRAMING_LINE, good, bad, "! line too long", "! line too long\n", good + "\n");
}

TEST_CASE("a peer announcing a 2 GiB message is closed promptly without reserving it", "[framing][limits]") {
    for (uint32_t announced : {0x80000000u, 0xFFFFFFFFu}) {
        INFO("announced length " << announced);
        Recorder srv;
        Port sp(&srv);
        iocpnet_conn_options opt = default_options();
        opt.framing = IOCPNET_FRAMING_LENGTH_PREFIX; // default max_message_size: 1 MiB
        uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &opt);
        const long long rss0 = rss_kib();
        (void)rss0;
        raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
        REQUIRE(peer.valid());
        std::string hdr;
        put_u32(hdr, announced);
        REQUIRE(peer.send_all(hdr + "some bytes of it"));
        std::string got;
        raw::End end = peer.read_until_end(&got);
        CHECK((end == raw::End::eof || end == raw::End::reset));
        iocpnet_conn s = srv.wait_accepted();
        REQUIRE(srv.wait_closed(s));
        CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_E_MESSAGE_TOO_LARGE));
#ifdef __linux__
        long long rss1 = rss_kib();
        INFO("VmRSS " << rss0 << " -> " << rss1 << " KiB");
        CHECK(rss1 - rss0 < 64 * 1024);
#endif
    }
}
