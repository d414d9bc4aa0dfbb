// iocpnet_set_callbacks does not keep every replaced set until destroy:
// half a million calls leave the process about as big as before.
// (Regression: each call appended its set to a history freed only by
// destroy — +83 MiB per million calls.)
#include "support.hpp"

using namespace t;

TEST_CASE("half a million set_callbacks calls do not grow memory", "[callbacks][memory]") {
    Recorder a, b;
    Port p(&a);
    uint16_t tcp_port = listen_on(p);
    iocpnet_callbacks ca = a.callbacks(), cb = b.callbacks();
    // warm up (allocator, first sets) before measuring
    for (int i = 0; i < 1000; i++) REQUIRE(iocpnet_set_callbacks(p, (i & 1) ? &cb : &ca, (i & 1) ? &b : &a) == 0);
    long long rss0 = rss_kib();
    const int kCalls = 500000;
    int failures = 0;
    for (int i = 0; i < kCalls; i++)
        if (iocpnet_set_callbacks(p, (i & 1) ? &cb : &ca, (i & 1) ? &b : &a) != IOCPNET_OK) failures++;
    long long rss1 = rss_kib();
    CHECK(failures == 0);
    // the last set (b: the last i is odd) is the one in force
    raw::Socket peer = raw::Socket::connect("127.0.0.1", tcp_port, 5000);
    REQUIRE(peer.valid());
    CHECK(b.wait_accepted(0, 10) != 0);
    CHECK(a.n_accepted() == 0);
    if (rss0 <= 0) {
        WARN("memory check skipped: this platform reports no resident set size");
    } else {
        INFO("resident set " << rss0 << " KiB before " << kCalls << " calls, " << rss1 << " KiB after (+"
                             << (rss1 - rss0) / 1024 << " MiB)");
        CHECK(rss1 - rss0 < 4 * 1024); // the old engine: about +41 MiB
    }
    REQUIRE_RC(p.destroy(), IOCPNET_OK);
    CHECK(a.overlaps() == 0);
    CHECK(b.overlaps() == 0);
}
