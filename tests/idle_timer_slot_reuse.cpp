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
    struct Accepted {
        clk::time_point at;
        long client_port; // -1 if the engine could not tell
    };
    std::map<iocpnet_conn, Accepted> accepted_at;
    struct TimedOut {
        iocpnet_conn conn;
        clk::time_point at;
    };
    std::vector<TimedOut> timed_out;
    std::map<long, std::vector<clk::time_point>> connect_started; // client port -> when its connects began
    size_t close_without_accept = 0, early_timeouts = 0, timeouts = 0;
    std::vector<std::string> examples;
    Recorder srv;
    srv.keep_data = false;
    srv.keep_data_events = false;
    // slow callbacks: accepted connections wait longer for their start
    // (the window in which the old engine's stale timer struck)
    srv.spin_us = 200;
    srv.on_accept = [&](iocpnet_port *p, iocpnet_listener, iocpnet_conn c) {
        auto now = clk::now();
        char buf[IOCPNET_ADDRSTRLEN];
        long port = -1;
        if (iocpnet_conn_peer_address(p, c, buf, sizeof buf) == IOCPNET_OK) {
            const char *colon = strrchr(buf, ':');
            if (colon) port = std::strtol(colon + 1, nullptr, 10);
        }
        std::lock_guard<std::mutex> lk(mu);
        accepted_at[c] = Accepted{now, port};
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
        if (reason == IOCPNET_E_TIMEOUT) timed_out.push_back(TimedOut{c, now});
    };
    Port sp(&srv, &cfg);
    uint16_t tcp_port = listen_on(sp);

    // churn: connect and leave at once (mostly with a reset: no TIME_WAIT)
    std::atomic<bool> stop{false};
    std::atomic<int> connects{0}, connect_failures{0};
    auto churn = [&](int seed) {
        int n = 0;
        while (!stop.load() && connects.load() < 6000) {
            auto started = clk::now();
            raw::Socket s = raw::Socket::connect("127.0.0.1", tcp_port, 5000);
            if (!s.valid()) {
                connect_failures++;
                continue;
            }
            connects++;
            {
                std::lock_guard<std::mutex> lk(mu);
                connect_started[s.local_port()].push_back(started);
            }
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
    // A TIMEOUT must come at least (about) the idle time after the client's
    // connect began: the latest connect from that client port before on_accept.
    size_t unchecked = 0;
    for (auto &t : timed_out) {
        auto a = accepted_at.find(t.conn);
        auto ports = a == accepted_at.end() ? connect_started.end() : connect_started.find(a->second.client_port);
        if (ports == connect_started.end()) {
            unchecked++;
            continue;
        }
        const clk::time_point *began = nullptr;
        for (auto &tp : ports->second)
            if (tp <= a->second.at) began = &tp;
        if (!began) {
            unchecked++;
            continue;
        }
        double ms = std::chrono::duration<double, std::milli>(t.at - *began).count();
        if (ms < kIdleMs * 0.8) {
            early_timeouts++;
            if (examples.size() < 10)
                examples.push_back("conn " + std::to_string(t.conn) + ": TIMEOUT " + std::to_string(ms) +
                                   " ms after its client began to connect");
        }
    }
    INFO(unchecked << " TIMEOUTs whose client was not known (peer_address failed)");
    INFO(close_without_accept << " on_close without on_accept, " << early_timeouts << " early TIMEOUTs, "
                              << timeouts << " TIMEOUTs in all");
    for (auto &e : examples) FAIL_CHECK(e);
    CHECK(close_without_accept == 0);
    CHECK(early_timeouts == 0);
    CHECK(connects > 500); // the churn really happened
}
