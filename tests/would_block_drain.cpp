// Backpressure: with a peer that stops reading, sends fill the queue up to
// max_send_queue_bytes, then WOULD_BLOCK queues nothing; on_drain fires once
// the queue is down to half after the peer resumes; every byte accepted
// arrives, in order, and nothing else. Other connections are not held up.
#include "support.hpp"

using namespace t;

TEST_CASE("WOULD_BLOCK and on_drain with a peer that stops reading, then resumes", "[backpressure]") {
    const uint64_t kMax = 256u << 10;
    const size_t kChunk = 16u << 10;
    const uint64_t kTotal = 4u << 20;
    iocpnet_config cfg = default_config();
    cfg.max_send_queue_bytes = kMax;
    Recorder srv;
    std::atomic<uint64_t> queue_at_drain{0};
    srv.on_drain = [&](iocpnet_port *p, iocpnet_conn) {
        iocpnet_stats st;
        memset(&st, 0, sizeof st);
        st.struct_size = sizeof st;
        if (iocpnet_get_stats(p, &st) != IOCPNET_OK) srv.fail("get_stats in on_drain failed");
        if (st.send_queue_bytes > queue_at_drain) queue_at_drain = st.send_queue_bytes;
    };
    Port sp(&srv, &cfg);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port, 30000, 4096);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted(0);
    REQUIRE(s != 0);

    uint64_t sent = 0; // bytes the engine accepted
    auto try_send = [&] {
        std::string b = pattern(sent, kChunk);
        int rc = iocpnet_send(sp, s, b.data(), b.size());
        if (rc == IOCPNET_OK) sent += kChunk;
        return rc;
    };
    int rc = IOCPNET_OK;
    // the kernel's buffers fill first, then the engine's queue
    bool blocked = wait_until(
        [&] {
            for (int i = 0; i < 64; i++) {
                rc = try_send();
                if (rc != IOCPNET_OK) return true;
            }
            return false;
        },
        60);
    INFO("accepted " << sent << " bytes before the first refusal");
    REQUIRE(blocked);
    REQUIRE(rc_name(rc) == rc_name(IOCPNET_E_WOULD_BLOCK));
    CHECK(stats(sp).send_queue_bytes <= kMax);
    // larger than the whole queue: LIMIT, not WOULD_BLOCK
    std::string huge(static_cast<size_t>(kMax) + 1, 'h');
    CHECK_RC(iocpnet_send(sp, s, huge.data(), huge.size()), IOCPNET_E_LIMIT);

    // a stalled connection does not hold up another one
    raw::Socket other = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(other.valid());
    iocpnet_conn s2 = srv.wait_accepted(1);
    REQUIRE(s2 != 0);
    REQUIRE_RC(iocpnet_send(sp, s2, "unaffected", 10), IOCPNET_OK);
    std::string got2;
    CHECK(other.read_exact(&got2, 10));
    CHECK(got2 == "unaffected");

    // the peer resumes reading
    std::string got;
    raw::End end = raw::End::error;
    std::thread reader([&] { end = peer.read_until_end(&got, 120); });
    JoinGuard guard{reader, [&] { peer.shutdown_both(); }};

    int episodes = 1;
    bool waiting = true;
    while (sent < kTotal) {
        if (waiting) {
            bool drained = wait_until([&] { return srv.drains(s) >= episodes; }, 60);
            INFO("waiting for on_drain number " << episodes);
            REQUIRE(drained);
            waiting = false;
        }
        rc = try_send();
        if (rc == IOCPNET_E_WOULD_BLOCK) {
            episodes++;
            waiting = true;
        } else if (rc != IOCPNET_OK) {
            FAIL("send -> " << rc_name(rc));
        }
    }
    REQUIRE_RC(iocpnet_close(sp, s, IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
    reader.join();
    INFO("peer read " << got.size() << " of " << sent << " bytes, ended with " << raw::end_name(end));
    CHECK(end == raw::End::eof);
    CHECK(got.size() == sent);
    CHECK(first_mismatch(got, pattern(0, sent)) == -1);
    REQUIRE(srv.wait_closed(s));
    CHECK(srv.drains(s) == episodes); // one on_drain per WOULD_BLOCK episode, none after close
    CHECK(queue_at_drain <= kMax / 2);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}
