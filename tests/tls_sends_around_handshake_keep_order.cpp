// A TLS client that sends numbered lines without pause from connect until
// well after on_connect: the lines kept during the handshake and those sent
// while it finishes come back through an echo server complete and in order.
// (Regression: a send that came between the handshake's end on the worker
// and the flush of the kept lines overtook them.)
#include "tls_support.hpp"

using namespace t;

TEST_CASE("TLS: sends across the end of the handshake keep their order", "[tls]") {
    const int conns = 20, lines = 400;
    Tls server_tls(server_options());
    Tls client_tls(client_options());
    Recorder srv, cli;
    srv.keep_data_events = cli.keep_data_events = false;
    make_echo(srv, true);
    Port sp(&srv), cp(&cli);
    iocpnet_conn_options so = tls_conn_options(server_tls);
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &so);
    iocpnet_conn_options co = tls_conn_options(client_tls);
    for (int k = 0; k < conns; k++) {
        iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &co);
        std::string want;
        for (int i = 0; i < lines; i++) {
            std::string line = std::to_string(i) + "\n";
            want += line;
            int rc = iocpnet_send(cp, c, line.data(), line.size());
            REQUIRE_RC(rc, IOCPNET_OK);
            if (i % 20 == 0) std::this_thread::yield(); // let the handshake end somewhere in between
        }
        REQUIRE(cli.wait_bytes(c, want.size()));
        INFO("connection " << k);
        CHECK(first_mismatch(cli.data(c), want) == -1);
    }
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
}
