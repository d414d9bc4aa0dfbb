// Under connection churn (clients connect and go at once, so connection
// slots are reused all the time) the idle timer of an earlier connection
// never closes a later one: every on_close follows its on_accept, and a
// connection closed with TIMEOUT was idle for the idle timeout first.
// (Regression: a timer armed for an earlier connection fired on the reused
// slot before the new connection's start and closed it with TIMEOUT:
// on_close without on_accept, for about 3.5% of accepts.)
#include "support.hpp"

using namespace t;

TEST_CASE("idle timers of earlier connections never close a reused slot's connection", "[timeout][churn]") {
    const uint32_t kIdleMs = 100;
    iocpnet_config cfg = default_config();
    cfg.idle_timeout_ms = kIdleMs;
    cfg.worker_threads = 2;
    using clk = std::chrono::steady_clock;
    std::mutex mu;
    std::map<iocpnet_conn, clk::time_point> accepted_at;
    size_t close_without_accept = 0, early_timeouts = 0, timeouts = 0;
    std::vector<std::string> examples;
    Recorder srv;
    srv.keep_data = false;
    srv.keep_data_events = false;
    srv.on_accept = [&](iocpnet_port *, iocpnet_listener, iocpnet_conn c) {
        std::lock_guard<std::mutex> lk(mu);
        accepted_at[c] = clk::now();
    };
    srv.on_close = [&](iocpnet_port *, iocpnet_conn c, int reason) {
        auto now = clk::now();
        std::lock_guard<std::mutex> lk(mu);
        if (reason == IOCPNET_E_TIMEOUT) timeouts++;
        auto it = accepted_at.find(c);
        if (it == accepted_at.end()) {
            close_without_accept++;
            if (examples.size() < 5)
                examples.push_back("conn " + std::to_string(c) + ": on_close(" + rc_name(reason) +
                                   ") without on_accept");
            return;
        }
        double idle_ms = std::chrono::duration<double, std::milli>(now - it->second).count();
        if (reason == IOCPNET_E_TIMEOUT && idle_ms < kIdleMs * 0.8) {
            early_timeouts++;
            if (examples.size() < 5)
                examples.push_back("conn " + std::to_string(c) + ": TIMEOUT " + std::to_string(idle_ms) +
                                   " ms after on_accept");
        }
    };
    Port sp(&srv, &cfg);
    uint16_t tcp_port = listen_on(sp);

    // churn: connect and leave at once (mostly with a reset: no TIME_WAIT)
    std::atomic<bool> stop{false};
    std::atomic<int> connects{0}, connect_failures{0};
    auto churn = [&](int seed) {
        int n = 0;
        while (!stop.load() && connects.load() < 6000) {
            raw::Socket s = raw::Socket::connect("127.0.0.1", tcp_port, 5000);
            if (!s.valid()) {
                connect_failures++;
                continue;
            }
            connects++;
            if ((n++ + seed) % 4 != 0) s.set_linger0();
            s.close();
        }
    };
    std::thread c1(churn, 0), c2(churn, 1);
    JoinGuard g1{c1, [&] { stop = true; }}, g2{c2, [&] { stop = true; }};
    std::this_thread::sleep_for(std::chrono::seconds(3));
    stop = true;
    c1.join();
    c2.join();
    // every connection the engine accepted ends (the peers are gone)
    bool settled = wait_until(
        [&] {
            auto s = stats(sp);
            return s.connections_open == 0 && s.connections_accepted == s.connections_closed;
        },
        10);
    auto st = stats(sp);
    INFO(connects << " connects (" << connect_failures << " failed), " << st.connections_accepted
                  << " accepted, " << srv.n_accepted() << " on_accept, " << st.connections_closed << " closed");
    CHECK(settled);
    std::lock_guard<std::mutex> lk(mu);
    INFO(close_without_accept << " on_close without on_accept, " << early_timeouts << " early TIMEOUTs, "
                              << timeouts << " TIMEOUTs in all");
    for (auto &e : examples) FAIL_CHECK(e);
    CHECK(close_without_accept == 0);
    CHECK(early_timeouts == 0);
    CHECK(connects > 500); // the churn really happened
}
