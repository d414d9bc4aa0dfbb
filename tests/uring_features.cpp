// The io_uring backend's optional features and their fallbacks
// (dll/backend/uring_*): each configuration IOCPNET_URING_DISABLE can force —
// the plain ring of kernels before 5.19, cooperative task work (5.19–6.0),
// no registered file table, no inline send — must move bytes both ways with
// partial sends, wake a blocked wait() from another thread, and close a
// socket released on a foreign thread (the peer sees the end). Driven through
// the backend contract's harness (backend_contract.hpp) on io_uring only.
#include "backend_contract.hpp"
#include "backend/uring_backend.hpp"

#include <atomic>
#include <thread>
#include <sys/socket.h>

namespace {

struct Config {
    const char *disable;
    unsigned off;             // UringFeature bits that must be off
    const char *inline_after; // IOCPNET_URING_INLINE_AFTER, or null for the default
};

// Sets the variables for the backend's construction only (read once by
// init); the test thread is the only thread at that point.
std::unique_ptr<Backend> make_uring(const char *disable, const char *inline_after = nullptr) {
    setenv("IOCPNET_URING_DISABLE", disable, 1);
    if (inline_after) setenv("IOCPNET_URING_INLINE_AFTER", inline_after, 1);
    auto be = make_backend("io_uring", 1);
    unsetenv("IOCPNET_URING_DISABLE");
    unsetenv("IOCPNET_URING_INLINE_AFTER");
    return be;
}

UringBackend &uring(Backend &b) { return static_cast<UringBackend &>(b); }

} // namespace

// Multishot recv (6.0+) is what the probe demands, and every kernel that has
// it also has cooperative task work and sparse file tables (5.19): with
// nothing switched off, those are on wherever this backend runs.
TEST_CASE("uring: the ring's features are on by default", "[uring]") {
    auto be = make_uring("");
    unsigned f = uring(*be).features(0);
    CHECK((f & (kFeatDeferTaskrun | kFeatCoopTaskrun)) != 0);
    CHECK((f & kFeatFixedFiles) != 0);
    CHECK((f & kFeatInlineSend) != 0);
}

TEST_CASE("uring: every fallback moves bytes, wakes and closes", "[uring]") {
    // Inline sends happen in bursts only (send()); INLINE_AFTER=0 makes
    // every send try inline first, so that path runs here too.
    auto cfg = GENERATE(Config{"", 0, nullptr}, Config{"", 0, "0"}, Config{"defer_taskrun", kFeatDeferTaskrun, "0"},
                        Config{"defer_taskrun,coop_taskrun", kFeatDeferTaskrun | kFeatCoopTaskrun | kFeatInlineSend, "0"},
                        Config{"fixed_files", kFeatFixedFiles, nullptr}, Config{"fixed_files", kFeatFixedFiles, "0"},
                        Config{"inline_send", kFeatInlineSend, "0"},
                        Config{"defer_taskrun,coop_taskrun,fixed_files,inline_send",
                               kFeatDeferTaskrun | kFeatCoopTaskrun | kFeatFixedFiles | kFeatInlineSend, nullptr});
    SECTION(std::string("IOCPNET_URING_DISABLE=") + cfg.disable + " INLINE_AFTER=" +
            (cfg.inline_after ? cfg.inline_after : "default")) {
        auto be = make_uring(cfg.disable, cfg.inline_after);
        unsigned f = uring(*be).features(0);
        CHECK((f & cfg.off) == 0);
        // The plain ring (both task-run modes off) can send inline only with
        // POLL_FIRST, which comes with them: it is off there by design.
        unsigned slots0 = uring(*be).fixed_slots_free(0);
        CHECK(((f & kFeatFixedFiles) != 0) == (slots0 > 0));

        Loop loop{*be};
        Pair p(loop);
        // Small buffers: 1 MiB surely fills both sockets.
        for (BSock *s : {p.ct.sock, p.st.sock}) {
            int small = 64 * 1024;
            REQUIRE(setsockopt(int(s->fd), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
            REQUIRE(setsockopt(int(s->fd), SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
        }
        const size_t size = 1u << 20;
        auto up = pattern(size, 3), down = pattern(size, 4);
        p.ct.tx = &up;
        p.st.tx = &down;
        p.ct.send_auto = p.st.send_auto = true;
        loop.send_rest(p.ct);
        loop.send_rest(p.st);
        // Nobody reads yet: both sockets fill up, so the sends go through the
        // ring (not only the inline way) and, with the table, take a slot.
        if (f & kFeatFixedFiles)
            CHECK(loop.run_until([&] { return uring(*be).fixed_slots_free(0) == slots0 - 2; }, 5000));
        start_recv(loop, p.ct);
        start_recv(loop, p.st);
        REQUIRE(loop.run_until([&] { return p.ct.rx.size() >= size && p.st.rx.size() >= size && !p.ct.sending && !p.st.sending; },
                               30000));
        REQUIRE(p.st.rx.size() == size);
        REQUIRE(p.ct.rx.size() == size);
        CHECK(std::memcmp(p.st.rx.data(), up.data(), size) == 0);
        CHECK(std::memcmp(p.ct.rx.data(), down.data(), size) == 0);
        if (f & kFeatFixedFiles) CHECK(uring(*be).fixed_slots_free(0) == slots0 - 2);

        // A wait that would block for 10 s returns when another thread wakes it.
        {
            std::atomic<bool> woken{false};
            std::thread waker([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                woken = true;
                be->wake(0);
            });
            auto t0 = Clock::now();
            Completion cs[8];
            while (!woken && elapsed_ms(t0) < 10000) be->wait(0, cs, 8, 10000);
            long took = elapsed_ms(t0);
            waker.join();
            CHECK(took < 5000);
        }

        // The server side ends its recv and is released by another thread:
        // the client must see the end of the stream (its socket is closed
        // even while a registered slot holds it), and the slot comes back.
        be->cancel(p.st.sock);
        REQUIRE(loop.run_until([&] { return !p.st.pending(); }, 5000));
        std::thread releaser([&] { be->release(p.st.sock); });
        releaser.join();
        p.st.sock = nullptr;
        REQUIRE(loop.run_until([&] { return !p.ct.receiving; }, 5000));
        CHECK(p.ct.recv_end == 0);
        if (f & kFeatFixedFiles) CHECK(loop.run_until([&] { return uring(*be).fixed_slots_free(0) == slots0 - 1; }, 5000));
        loop.finish(p.ct);
        loop.finish(p.lt);
        if (f & kFeatFixedFiles) CHECK(loop.run_until([&] { return uring(*be).fixed_slots_free(0) == slots0; }, 5000));
    }
}
