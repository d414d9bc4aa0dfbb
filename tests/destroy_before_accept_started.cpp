// A connection that was accepted but whose start (on_accept) had not run
// yet when iocpnet_port_destroy began gets both callbacks in order, or none:
// never on_close without a prior on_accept.
// (Regression: destroy marked it closing, the start task then skipped
// on_accept, and on_close(OK) followed for an id the user never saw.)
#include "support.hpp"

using namespace t;

namespace {
void IOCPNET_CALL noop(void *) {}
} // namespace

TEST_CASE("destroy before an accepted connection started: no on_close without on_accept", "[destroy][accept]") {
    iocpnet_config cfg = default_config();
    cfg.worker_threads = 2;
    const size_t kClients = 8;
    int hit = 0; // iterations where destroy found connections not yet started
    for (int iter = 0; iter < 12 && hit < 4; iter++) {
        INFO("iteration " << iter);
        Recorder rec;
        Port p(&rec, &cfg);
        uint16_t tcp_port = listen_on(p);
        auto *gate = new Gate; // leaked if destroy hangs
        // One worker blocked: connections handed to it wait to be started.
        REQUIRE_RC(iocpnet_post(p, &block_until_open, gate), IOCPNET_OK);
        REQUIRE(wait_until([&] { return gate->running.load(); }, 10));
        std::vector<raw::Socket> clients;
        for (size_t i = 0; i < kClients; i++) {
            clients.push_back(raw::Socket::connect("127.0.0.1", tcp_port, 5000));
            REQUIRE(clients.back().valid());
        }
        // The listener's worker may be the blocked one: then nothing is
        // accepted before the gate opens and this iteration proves nothing.
        bool accepted = wait_until([&] { return stats(p).connections_accepted >= kClients; }, 1.0);
        bool pending = accepted && rec.n_accepted() < kClients;
        if (pending) hit++;

        iocpnet_port *raw_port = p.leak();
        auto result = std::make_shared<std::atomic<int>>(1);
        auto done = std::make_shared<std::atomic<bool>>(false);
        std::thread destroyer([raw_port, result, done] {
            result->store(iocpnet_port_destroy(raw_port));
            done->store(true);
        });
        // destroy has begun once posts are refused (it cannot finish while
        // the gate is closed); give its sweep a moment, then open the gate
        wait_until([&] { return iocpnet_post(raw_port, &noop, nullptr) == IOCPNET_E_SHUTTING_DOWN; }, 5);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        gate->open = true;
        if (!wait_until([&] { return done->load(); }, 5.0)) {
            destroyer.detach();
            FAIL("iocpnet_port_destroy did not return within 5 s; port leaked");
        }
        destroyer.join();
        CHECK(rc_name(result->load()) == rc_name(IOCPNET_OK));
        delete gate;
        INFO("connections accepted by the listener before destroy: " << (accepted ? "all" : "not all")
                                                                     << ", on_accept delivered: " << rec.n_accepted());
        check_clean(rec, true);
        if (!rec.problems().empty()) break;
    }
    if (hit == 0)
        WARN("no iteration had accepted connections waiting to start when destroy began: the engine starts "
             "them elsewhere, so this test checked only the ordinary path");
}
