// 200 concurrent TLS connections to one iocpnet TLS echo server, each
// echoing its own message, all handshakes in flight at once; then the port
// is destroyed with the 200 TLS connections still open: each gets exactly
// one on_close, nothing leaks (the ASan suite checks), nothing hangs.
#include "tls_support.hpp"

using namespace t;

TEST_CASE("TLS: 200 concurrent connections echo, then destroy closes them all", "[tls]") {
    const int n = 200;
    Tls server_tls(server_options());
    Tls client_tls(client_options());
    Recorder srv, cli;
    make_echo(srv, true);
    iocpnet_config cfg = default_config();
    cfg.worker_threads = 2;
    Port sp(&srv, &cfg), cp(&cli, &cfg);
    iocpnet_conn_options so = tls_conn_options(server_tls);
    so.framing = IOCPNET_FRAMING_LINE;
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &so);
    iocpnet_conn_options co = tls_conn_options(client_tls);
    co.framing = IOCPNET_FRAMING_LINE;
    std::vector<iocpnet_conn> conns;
    for (int i = 0; i < n; i++) {
        iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &co);
        std::string msg = "hello from " + std::to_string(i);
        REQUIRE_RC(iocpnet_send(cp, c, msg.data(), msg.size()), IOCPNET_OK);
        conns.push_back(c);
    }
    REQUIRE(wait_until([&] { return cli.n_connected() == size_t(n); }, 60));
    int echoed = 0;
    for (int i = 0; i < n; i++) {
        iocpnet_conn c = conns[size_t(i)];
        std::string msg = "hello from " + std::to_string(i);
        if (cli.wait_bytes(c, msg.size(), 30) && cli.data(c) == msg) echoed++;
        else INFO("conn " << i << " got \"" << cli.data(c) << "\"");
    }
    CHECK(echoed == n);
    CHECK(srv.n_accepted() == size_t(n));
    CHECK(stats(sp).tls_handshakes_failed == 0);

    // destroy both ports with every TLS connection open
    int rc = 1;
    REQUIRE(sp.destroy_within(20, &rc));
    CHECK_RC(rc, IOCPNET_OK);
    REQUIRE(cp.destroy_within(20, &rc));
    CHECK_RC(rc, IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
    CHECK(srv.n_closed() == size_t(n));
    CHECK(cli.n_closed() == size_t(n));
}

TEST_CASE("TLS: destroy during handshakes: clients get on_connect, servers stay silent", "[tls]") {
    const int n = 50;
    Tls server_tls(server_options());
    Tls client_tls(client_options());
    Recorder srv, cli;
    Port sp(&srv), cp(&cli);
    iocpnet_conn_options so = tls_conn_options(server_tls);
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &so);
    iocpnet_conn_options co = tls_conn_options(client_tls);
    std::vector<iocpnet_conn> conns;
    for (int i = 0; i < n; i++) conns.push_back(connect_to(cp, port, "127.0.0.1", &co));
    int rc = 1;
    REQUIRE(cp.destroy_within(20, &rc)); // some handshakes are still running
    CHECK_RC(rc, IOCPNET_OK);
    for (iocpnet_conn c : conns) {
        auto ev = cli.events(c);
        REQUIRE(!ev.empty());
        CHECK(ev.front().type == Ev::connect); // exactly one on_connect, whatever its status
        if (ev.front().status != IOCPNET_OK) CHECK(ev.size() == 1);
    }
    REQUIRE(sp.destroy_within(20, &rc));
    CHECK_RC(rc, IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
}
