// Callbacks of one connection never run concurrently and come in the
// documented order, under load from several threads: many connections,
// foreign-thread sends, echoes, and closes from foreign threads while data
// flows. Each callback lingers a little to widen any overlap window.
#include "support.hpp"

using namespace t;

TEST_CASE("callbacks of one connection never overlap and keep their order", "[threads][order]") {
    const int kConns = 16, kSenders = 4, kMsgs = 400;
    Recorder srv, cli;
    srv.spin_us = 20;
    cli.spin_us = 20;
    srv.keep_data = false;
    cli.keep_data = false;
    make_echo(srv, true);
    Port sp(&srv), cp(&cli);
    uint16_t port = listen_on(sp);
    std::vector<iocpnet_conn> conns;
    for (int i = 0; i < kConns; i++) conns.push_back(connect_to(cp, port));
    REQUIRE(wait_until([&] { return cli.n_connected() == static_cast<size_t>(kConns); }));

    std::atomic<int> bad{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < kSenders; t++)
        ts.emplace_back([&, t] {
            std::string m(64, static_cast<char>('a' + t));
            for (int k = 0; k < kMsgs; k++)
                for (int i = t; i < kConns; i += 1) {
                    int rc = iocpnet_send(cp, conns[static_cast<size_t>(i)], m.data(), m.size());
                    if (rc != IOCPNET_OK && rc != IOCPNET_E_NOT_FOUND) bad++;
                }
        });
    // while that runs, close half of the connections from yet another thread,
    // both modes, from both sides
    std::thread closer([&] {
        for (int i = 0; i < kConns; i += 2) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            iocpnet_close(cp, conns[static_cast<size_t>(i)], i % 4 ? IOCPNET_CLOSE_ABORT : IOCPNET_CLOSE_GRACEFUL);
        }
        auto acc = srv.accepted();
        for (size_t i = 1; i < acc.size(); i += 4) iocpnet_close(sp, acc[i], IOCPNET_CLOSE_GRACEFUL);
    });
    for (auto &th : ts) th.join();
    closer.join();
    CHECK(bad == 0);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    REQUIRE(wait_until([&] { return srv.n_closed() == static_cast<size_t>(kConns); }));
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
    CHECK(srv.overlaps() == 0);
    CHECK(cli.overlaps() == 0);
}
