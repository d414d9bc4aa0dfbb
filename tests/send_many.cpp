// send_many: one payload to many connections; unknown, closed and full
// receivers are skipped and *queued counts the others; order with send is
// kept per receiver; framing is applied per receiver.
#include "support.hpp"

using namespace t;

TEST_CASE("send_many skips closed, unknown and full receivers and reports queued", "[send_many]") {
    const uint64_t kMax = 128u << 10;
    iocpnet_config cfg = default_config();
    cfg.max_send_queue_bytes = kMax;
    Recorder srv;
    Port sp(&srv, &cfg);
    uint16_t port = listen_on(sp);
    raw::Socket open1 = raw::Socket::connect("127.0.0.1", port);
    raw::Socket open2 = raw::Socket::connect("127.0.0.1", port);
    raw::Socket closed = raw::Socket::connect("127.0.0.1", port);
    raw::Socket stalled = raw::Socket::connect("127.0.0.1", port, 30000, 4096);
    REQUIRE(wait_until([&] { return srv.n_accepted() == 4; }));
    // which accepted id is which raw peer: ask each peer to say who it is
    std::map<std::string, iocpnet_conn> by_name;
    REQUIRE(open1.send_all("1", 1));
    REQUIRE(open2.send_all("2", 1));
    REQUIRE(closed.send_all("c", 1));
    REQUIRE(stalled.send_all("s", 1));
    REQUIRE(wait_until([&] {
        for (auto c : srv.accepted())
            if (srv.bytes(c) == 0) return false;
        return true;
    }));
    for (auto c : srv.accepted()) by_name[srv.data(c)] = c;
    REQUIRE(by_name.size() == 4);

    // one closed by this side, one made full (its peer does not read)
    REQUIRE_RC(iocpnet_close(sp, by_name["c"], IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
    iocpnet_conn st = by_name["s"];
    uint64_t stalled_sent = 0;
    // fill until WOULD_BLOCK, and again after a pause, until a refill after
    // a pause accepts nothing: then the kernel's buffers are full too and the
    // queue stays put (a first WOULD_BLOCK can come while the kernel is
    // still taking bytes)
    auto fill = [&] {
        int accepted = 0, rc = IOCPNET_OK;
        wait_until(
            [&] {
                for (int i = 0; i < 64; i++) {
                    std::string b = pattern(stalled_sent, 8192);
                    rc = iocpnet_send(sp, st, b.data(), b.size());
                    if (rc != IOCPNET_OK) return true;
                    stalled_sent += b.size();
                    accepted++;
                }
                return false;
            },
            60);
        if (rc != IOCPNET_E_WOULD_BLOCK) srv.fail("filling the stalled queue: " + rc_name(rc));
        return accepted;
    };
    fill();
    bool stable = wait_until([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        return fill() == 0;
    });
    REQUIRE(stable);
    REQUIRE(srv.problems().empty());

    std::string payload = pattern(1000000, 60000); // does not fit in the stalled queue
    iocpnet_conn list[] = {by_name["1"], by_name["c"], 0x7fffffffffff0001ull, st, by_name["2"]};
    size_t queued = 99;
    REQUIRE_RC(iocpnet_send_many(sp, list, 5, payload.data(), payload.size(), &queued), IOCPNET_OK);
    CHECK(queued == 2);
    std::string g1, g2;
    CHECK(open1.read_exact(&g1, payload.size()));
    CHECK(open2.read_exact(&g2, payload.size()));
    CHECK(first_mismatch(g1, payload) == -1);
    CHECK(first_mismatch(g2, payload) == -1);
    // send_many_ex says why each one was skipped
    int results[5] = {1, 1, 1, 1, 1};
    queued = 99;
    REQUIRE_RC(iocpnet_send_many_ex(sp, list, 5, payload.data(), payload.size(), results, &queued), IOCPNET_OK);
    CHECK(queued == 2);
    CHECK(rc_name(results[0]) == rc_name(IOCPNET_OK));
    CHECK(rc_name(results[1]) == rc_name(IOCPNET_E_NOT_FOUND));
    CHECK(rc_name(results[2]) == rc_name(IOCPNET_E_NOT_FOUND));
    CHECK(rc_name(results[3]) == rc_name(IOCPNET_E_WOULD_BLOCK));
    CHECK(rc_name(results[4]) == rc_name(IOCPNET_OK));
    g1.clear();
    g2.clear();
    CHECK(open1.read_exact(&g1, payload.size()));
    CHECK(open2.read_exact(&g2, payload.size()));
    CHECK(first_mismatch(g1, payload) == -1);
    CHECK(first_mismatch(g2, payload) == -1);
    // results and queued may be NULL
    CHECK_RC(iocpnet_send_many_ex(sp, list, 1, "y", 1, nullptr, nullptr), IOCPNET_OK);
    g1.clear();
    CHECK(open1.read_exact(&g1, 1));
    CHECK(g1 == "y");
    // queued may be NULL
    CHECK_RC(iocpnet_send_many(sp, list, 1, "z", 1, nullptr), IOCPNET_OK);
    g1.clear();
    CHECK(open1.read_exact(&g1, 1));
    CHECK(g1 == "z");
    // count 0 is fine
    queued = 99;
    CHECK_RC(iocpnet_send_many(sp, nullptr, 0, "z", 1, &queued), IOCPNET_OK);
    CHECK(queued == 0);

    // the stalled peer resumes: it gets exactly what send accepted, not the
    // skipped payload, and its on_drain comes
    std::string gs;
    std::thread reader([&] { stalled.read_until_end(&gs, 60); });
    JoinGuard guard{reader, [&] { stalled.shutdown_both(); }};
    REQUIRE(wait_until([&] { return srv.drains(st) >= 1; }));
    REQUIRE_RC(iocpnet_close(sp, st, IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
    reader.join();
    CHECK(gs.size() == stalled_sent);
    CHECK(first_mismatch(gs, pattern(0, stalled_sent)) == -1);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}

TEST_CASE("send_many and send keep their order per receiver", "[send_many][order]") {
    Recorder srv, cli;
    Port sp(&srv), cp(&cli);
    uint16_t port = listen_on(sp);
    std::vector<iocpnet_conn> conns;
    for (int i = 0; i < 10; i++) conns.push_back(connect_to(cp, port));
    REQUIRE(wait_until([&] { return srv.n_accepted() == 10 && cli.n_connected() == 10; }));
    auto acc = srv.accepted();
    std::string want;
    for (int round = 0; round < 200; round++) {
        std::string a = "A" + std::to_string(round) + ";", b = "B" + std::to_string(round) + ";";
        for (auto s : acc) REQUIRE_RC(iocpnet_send(sp, s, a.data(), a.size()), IOCPNET_OK);
        size_t q = 0;
        REQUIRE_RC(iocpnet_send_many(sp, acc.data(), acc.size(), b.data(), b.size(), &q), IOCPNET_OK);
        REQUIRE(q == acc.size());
        want += a + b;
    }
    for (auto c : conns) {
        REQUIRE(cli.wait_bytes(c, want.size()));
        CHECK(cli.data(c) == want);
    }
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
}

TEST_CASE("send_many frames the payload per receiver and skips a LINE receiver it cannot carry",
          "[send_many][framing]") {
    Recorder srv;
    Port sp(&srv);
    iocpnet_conn_options line = default_options(), lp = default_options();
    line.framing = IOCPNET_FRAMING_LINE;
    lp.framing = IOCPNET_FRAMING_LENGTH_PREFIX;
    uint16_t p_raw = listen_on(sp);
    uint16_t p_line = listen_on(sp, nullptr, "127.0.0.1", &line);
    uint16_t p_lp = listen_on(sp, nullptr, "127.0.0.1", &lp);
    raw::Socket r_raw = raw::Socket::connect("127.0.0.1", p_raw);
    REQUIRE(wait_until([&] { return srv.n_accepted() == 1; }));
    raw::Socket r_line = raw::Socket::connect("127.0.0.1", p_line);
    REQUIRE(wait_until([&] { return srv.n_accepted() == 2; }));
    raw::Socket r_lp = raw::Socket::connect("127.0.0.1", p_lp);
    REQUIRE(wait_until([&] { return srv.n_accepted() == 3; }));
    auto acc = srv.accepted();
    size_t q = 0;
    REQUIRE_RC(iocpnet_send_many(sp, acc.data(), 3, "hi", 2, &q), IOCPNET_OK);
    CHECK(q == 3);
    std::string a, b, c;
    CHECK(r_raw.read_exact(&a, 2));
    CHECK(a == "hi");
    CHECK(r_line.read_exact(&b, 3));
    CHECK(b == "hi\n");
    CHECK(r_lp.read_exact(&c, 6));
    CHECK(c == std::string("\0\0\0\2hi", 6));
    // a payload with "\n" cannot be one line: the LINE receiver is skipped
    REQUIRE_RC(iocpnet_send_many(sp, acc.data(), 3, "x\ny", 3, &q), IOCPNET_OK);
    CHECK(q == 2);
    int results[3] = {1, 1, 1};
    REQUIRE_RC(iocpnet_send_many_ex(sp, acc.data(), 3, "x\ny", 3, results, &q), IOCPNET_OK);
    CHECK(q == 2);
    CHECK(results[0] == IOCPNET_OK);
    CHECK((results[1] == IOCPNET_E_INVALID_ARG || results[1] == IOCPNET_E_LIMIT));
    CHECK(results[2] == IOCPNET_OK);
    a.clear();
    CHECK(r_raw.read_exact(&a, 6));
    CHECK(a == "x\nyx\ny");
    c.clear();
    CHECK(r_lp.read_exact(&c, 14));
    CHECK(c == std::string("\0\0\0\3x\ny\0\0\0\3x\ny", 14));
}
