// 16 MiB sent over TLS in random chunk sizes (1 byte to 256 KiB, the first
// ones before on_connect, retrying after WOULD_BLOCK, at most 2 MiB
// in flight) come back
// byte-exact through an iocpnet TLS echo server; the send queue bound counts
// plaintext, so a full queue of exactly max_send_queue_bytes is accepted.
#include "tls_support.hpp"

using namespace t;

TEST_CASE("TLS: 16 MiB echoed byte-exact in random chunk sizes", "[tls][echo]") {
    const size_t n = 16u << 20;
    uint32_t seed = Catch::rngSeed() + 11;
    INFO("seed " << seed);
    std::string payload = random_bytes(n, seed);

    Tls server_tls(server_options());
    Tls client_tls(client_options());
    Recorder srv, cli;
    srv.keep_data = false;
    srv.keep_data_events = false;
    cli.keep_data_events = false;
    make_echo(srv);
    Port sp(&srv), cp(&cli);
    iocpnet_conn_options so = tls_conn_options(server_tls);
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &so);
    iocpnet_conn_options co = tls_conn_options(client_tls);
    iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &co);

    std::mt19937 rng(seed);
    size_t off = 0, sends = 0, blocked = 0;
    auto t0 = std::chrono::steady_clock::now();
    while (off < n && seconds_since(t0) < 60) {
        size_t k = (rng() % 2) ? 1 + rng() % 1000 : 1 + rng() % (256 * 1024);
        if (k > n - off) k = n - off;
        // at most 2 MiB in flight: the echo server's queue (4 MiB) never fills
        if (off - cli.bytes(c) > (2u << 20)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            continue;
        }
        int rc = iocpnet_send(cp, c, payload.data() + off, k);
        if (rc == IOCPNET_E_WOULD_BLOCK) { // the echo runs behind: wait, then retry the same chunk
            blocked++;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            continue;
        }
        REQUIRE_RC(rc, IOCPNET_OK);
        off += k;
        sends++;
    }
    INFO(sends << " sends, " << blocked << " WOULD_BLOCKs");
    REQUIRE(off == n);
    REQUIRE(cli.wait_bytes(c, n, 60));
    CHECK(cli.bytes(c) == n);
    CHECK(first_mismatch(cli.data(c), payload) == -1);
    CHECK(queues_drain(cp));
    CHECK(queues_drain(sp));

    REQUIRE_RC(iocpnet_close(cp, c, IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
    REQUIRE(cli.wait_closed(c));
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
}

TEST_CASE("TLS: the send queue bound counts plaintext", "[tls]") {
    iocpnet_config cfg = default_config();
    cfg.max_send_queue_bytes = 64 * 1024;
    Tls server_tls(server_options());
    Tls client_tls(client_options());
    Recorder srv, cli;
    Port sp(&srv), cp(&cli, &cfg);
    iocpnet_conn_options so = tls_conn_options(server_tls);
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &so);
    iocpnet_conn_options co = tls_conn_options(client_tls);
    iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &co);
    // before the handshake: kept plaintext, exactly up to the bound
    std::string half(32 * 1024, 'x');
    REQUIRE_RC(iocpnet_send(cp, c, half.data(), half.size()), IOCPNET_OK);
    REQUIRE_RC(iocpnet_send(cp, c, half.data(), half.size()), IOCPNET_OK);
    CHECK(stats(cp).send_queue_bytes == 64 * 1024);
    CHECK_RC(iocpnet_send(cp, c, "y", 1), IOCPNET_E_WOULD_BLOCK);
    REQUIRE(wait_until([&] { return cli.connect_status(c) == IOCPNET_OK; }));
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    REQUIRE(srv.wait_bytes(s, 64 * 1024));
    CHECK(queues_drain(cp));
    CHECK(wait_until([&] { return cli.drains(c) == 1; }));
}
