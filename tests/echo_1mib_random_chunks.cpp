// 1 MiB sent in random chunk sizes (1 byte to 64 KiB, starting before
// on_connect) comes back byte-exact through an echo server.
#include "support.hpp"

using namespace t;

TEST_CASE("1 MiB echoed byte-exact in random chunk sizes", "[echo]") {
    const size_t n = 1 << 20;
    uint32_t seed = Catch::rngSeed() + 1;
    INFO("seed " << seed);
    std::string payload = random_bytes(n, seed);

    Recorder srv, cli;
    make_echo(srv);
    Port sp(&srv), cp(&cli);
    uint16_t port = listen_on(sp);
    iocpnet_conn c = connect_to(cp, port);

    std::mt19937 rng(seed);
    size_t off = 0, sends = 0;
    while (off < n) { // the first sends are queued before on_connect
        size_t k = (rng() % 2) ? 1 + rng() % 100 : 1 + rng() % 65536;
        if (k > n - off) k = n - off;
        REQUIRE_RC(iocpnet_send(cp, c, payload.data() + off, k), IOCPNET_OK);
        off += k;
        sends++;
    }
    INFO(sends << " sends");
    REQUIRE(cli.wait_bytes(c, n));
    CHECK(cli.bytes(c) == n);
    CHECK(first_mismatch(cli.data(c), payload) == -1);
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    CHECK(first_mismatch(srv.data(s), payload) == -1);

    // an orderly close from the client: PEER_CLOSED on the server, OK here
    REQUIRE_RC(iocpnet_close(cp, c, IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
    REQUIRE(srv.wait_closed(s));
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_E_PEER_CLOSED));
    REQUIRE(cli.wait_closed(c));
    CHECK(rc_name(cli.close_reason(c)) == rc_name(IOCPNET_OK));

    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
    // order: connect first, data only in between, close last
    auto ev = cli.events(c);
    REQUIRE(ev.size() >= 2);
    CHECK(ev.front().type == Ev::connect);
    CHECK(ev.back().type == Ev::close);
}
