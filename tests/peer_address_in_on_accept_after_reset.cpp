// Inside on_accept, iocpnet_conn_peer_address gives the client's address
// even when the client already reset the connection: accept returned that
// address, and addresses are promised until on_close returns.
// (Regression: the address was read with getpeername after accept, which
// fails once the peer has reset: SYSTEM inside on_accept.)
#include "support.hpp"

using namespace t;

TEST_CASE("peer_address inside on_accept works after the peer reset", "[address][accept]") {
    iocpnet_config cfg = default_config();
    cfg.worker_threads = 1; // blocking it holds back the accept
    Recorder srv;
    std::mutex mu;
    std::map<iocpnet_conn, std::string> seen; // what peer_address said inside on_accept
    srv.on_accept = [&](iocpnet_port *p, iocpnet_listener, iocpnet_conn c) {
        char buf[IOCPNET_ADDRSTRLEN];
        int rc = iocpnet_conn_peer_address(p, c, buf, sizeof buf);
        std::lock_guard<std::mutex> lk(mu);
        seen[c] = rc == IOCPNET_OK ? std::string(buf) : "error " + rc_name(rc);
    };
    Port sp(&srv, &cfg);
    uint16_t tcp_port = listen_on(sp);
    Gate gate;
    REQUIRE_RC(iocpnet_post(sp, &block_until_open, &gate), IOCPNET_OK);
    REQUIRE(wait_until([&] { return gate.running.load(); }, 10));
    // while the worker is busy: connect, then reset
    const int kClients = 4;
    std::set<std::string> expected;
    for (int i = 0; i < kClients; i++) {
        raw::Socket c = raw::Socket::connect("127.0.0.1", tcp_port, 5000);
        REQUIRE(c.valid());
        expected.insert("127.0.0.1:" + std::to_string(c.local_port()));
        c.set_linger0();
        c.close();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // the resets arrive
    gate.open = true;
    // a reset connection may also be dropped before on_accept: only what
    // on_accept saw is checked, and something must have been accepted
    bool all = wait_until([&] { return stats(sp).connections_accepted >= kClients; }, 5);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    INFO("accepted " << stats(sp).connections_accepted << " of " << kClients);
    if (!all) WARN("the engine did not accept every reset connection");
    std::map<iocpnet_conn, std::string> got;
    {
        std::lock_guard<std::mutex> lk(mu);
        got = seen;
    }
    CHECK(!got.empty());
    for (auto &kv : got) {
        if (expected.count(kv.second) != 1)
            FAIL_CHECK("conn " << kv.first << ": peer_address inside on_accept gave " << kv.second
                               << " (expected one of the clients' addresses)");
    }
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}
