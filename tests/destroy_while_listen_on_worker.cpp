// iocpnet_port_destroy returns although iocpnet_listen runs on one of the
// port's workers (in a posted function) while destroy starts: the listen
// either fails with SHUTTING_DOWN or its listener is stopped by destroy.
// (Regression: the listener was registered after listen's `stopping` check
// and after destroy's one snapshot of the listeners, so destroy waited for
// it forever.)
#include "support.hpp"

using namespace t;

namespace {
// Enough to keep listening well past destroy's start; closing every listener
// is part of destroy's 5 s, and under Wine each costs 16 cancelled AcceptEx.
constexpr int kMaxListens = 1000;
struct ListenLoop {
    iocpnet_port *port = nullptr;
    std::atomic<int> ok{0};
    std::atomic<int> last_rc{1};
    std::atomic<bool> started{false};
};
// Listens again and again until the port refuses (destroy began), so that
// some listen is in flight when destroy starts.
void IOCPNET_CALL listen_until_refused(void *arg) {
    auto *l = static_cast<ListenLoop *>(arg);
    l->started = true;
    for (int i = 0; i < kMaxListens; i++) {
        iocpnet_listener id = 0;
        int rc = iocpnet_listen(l->port, "127.0.0.1", 0, &id);
        l->last_rc = rc;
        if (rc != IOCPNET_OK) return;
        l->ok++;
    }
}
} // namespace

TEST_CASE("destroy returns while listen runs on a worker", "[destroy][listener]") {
    iocpnet_config cfg = default_config();
    cfg.worker_threads = 2;
    for (int iter = 0; iter < 100; iter++) {
        INFO("iteration " << iter);
        Recorder rec;
        Port p(&rec, &cfg);
        // Leaked with the port if destroy hangs: the workers still use them.
        auto *a = new ListenLoop;
        auto *b = new ListenLoop;
        a->port = b->port = p;
        REQUIRE_RC(iocpnet_post(p, &listen_until_refused, a), IOCPNET_OK);
        REQUIRE_RC(iocpnet_post(p, &listen_until_refused, b), IOCPNET_OK);
        REQUIRE(wait_until([&] { return a->started && b->started; }, 10));
        if (iter % 2) std::this_thread::sleep_for(std::chrono::microseconds(200 * (iter % 7)));
        int rc = 1;
        bool returned = p.destroy_within(5.0, &rc);
        INFO("listens that succeeded: " << a->ok << " + " << b->ok);
        if (!returned)
            FAIL("iocpnet_port_destroy did not return within 5 s while iocpnet_listen ran on a worker "
                 "(a listener registered after destroy began is never stopped); port leaked");
        CHECK(rc_name(rc) == rc_name(IOCPNET_OK));
        // both loops ended: SHUTTING_DOWN once destroy began
        if (a->ok < kMaxListens) CHECK(rc_name(a->last_rc) == rc_name(IOCPNET_E_SHUTTING_DOWN));
        if (b->ok < kMaxListens) CHECK(rc_name(b->last_rc) == rc_name(IOCPNET_E_SHUTTING_DOWN));
        delete a;
        delete b;
    }
}
