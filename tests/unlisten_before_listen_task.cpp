// iocpnet_unlisten called on the listener's own worker before that worker
// ran the listen work queued for it still stops the listener: shortly after
// unlisten returned OK a connect is refused, nothing is accepted, and
// destroy returns. (Regression: unlisten cancelled an accept that was not
// armed yet; the queued listen task armed it afterwards, so the port kept
// accepting and destroy waited for the listener forever.)
#include "support.hpp"

using namespace t;

namespace {
struct Blocker {
    iocpnet_port *port = nullptr;
    std::atomic<bool> running{false};
    std::atomic<uint64_t> listener{0}; // set by the test thread
    std::atomic<int> unlisten_rc{1};
};
// Occupies the only worker until the test thread has listened (its listen
// work is then queued behind this function), then unlistens from here.
void IOCPNET_CALL unlisten_when_told(void *arg) {
    auto *b = static_cast<Blocker *>(arg);
    b->running = true;
    wait_until([&] { return b->listener.load() != 0; }, 10);
    b->unlisten_rc = iocpnet_unlisten(b->port, b->listener.load());
}
} // namespace

TEST_CASE("unlisten on the listener's worker before its listen work ran stops the listener", "[listener]") {
    iocpnet_config cfg = default_config();
    cfg.worker_threads = 1; // the listener's worker is the one running the posted function
    Recorder rec;
    Port p(&rec, &cfg);
    auto *b = new Blocker; // leaked if destroy hangs
    b->port = p;
    REQUIRE_RC(iocpnet_post(p, &unlisten_when_told, b), IOCPNET_OK);
    REQUIRE(wait_until([&] { return b->running.load(); }, 10));
    iocpnet_listener l = 0;
    uint16_t tcp_port = listen_on(p, &l); // from this thread: queued for the busy worker
    b->listener = l;
    REQUIRE(wait_until([&] { return b->unlisten_rc != 1; }, 10));
    REQUIRE(rc_name(b->unlisten_rc) == rc_name(IOCPNET_OK));
    CHECK_RC(iocpnet_listener_port(p, l, &tcp_port), IOCPNET_E_NOT_FOUND);

    // "closed by a worker shortly after the call returns"
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    raw::Socket peer = raw::Socket::connect("127.0.0.1", tcp_port, 5000);
    if (peer.valid()) {
        FAIL_CHECK("a connect 1 s after iocpnet_unlisten returned OK succeeded: the port still listens");
        std::string got;
        peer.read_until_end(&got, 2.0); // let the engine see it, if it will
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(rec.n_accepted() == 0);
    CHECK(stats(p).connections_accepted == 0);

    int rc = 1;
    if (!p.destroy_within(5.0, &rc))
        FAIL("iocpnet_port_destroy did not return within 5 s after the listener was unlistened "
             "(its accept was armed after unlisten's cancel); port leaked");
    CHECK(rc_name(rc) == rc_name(IOCPNET_OK));
    delete b;
    check_clean(rec, true);
}
