// Connect timeout, on loopback only: a raw listener with backlog 0 that
// never accepts fills its accept queue; after that the kernel drops SYNs,
// so a further connect stays pending and the engine's connect timeout must
// end it with on_connect(TIMEOUT) and nothing else.
#include "support.hpp"

using namespace t;

namespace {

// Fills lis's accept queue; returns the sockets that hold it (keep them) and
// sets *ok when a probe connect is seen to stay pending.
std::vector<raw::Socket> fill_backlog(raw::Socket &lis, bool *ok) {
    std::vector<raw::Socket> held;
    *ok = false;
    for (int i = 0; i < 32; i++) {
        raw::Socket s = raw::Socket::connect_start("127.0.0.1", lis.local_port());
        if (!s.valid()) break;
        int r = s.connect_poll(300);
        held.push_back(std::move(s));
        if (r == 0) { // pending: the queue is full
            *ok = true;
            break;
        }
    }
    return held;
}

void run(const iocpnet_config *cfg, const iocpnet_conn_options *opt) {
    raw::Socket lis = raw::Socket::listen("127.0.0.1", 0, 0);
    REQUIRE(lis.valid());
    bool full = false;
    auto held = fill_backlog(lis, &full);
    INFO("a loopback listener with backlog 0 kept accepting: this kernel does not drop SYNs on a full queue, so "
         "the connect timeout cannot be tested on loopback here");
    REQUIRE(full);
    Recorder cli;
    Port cp(&cli, cfg);
    auto t0 = std::chrono::steady_clock::now();
    iocpnet_conn c = connect_to(cp, lis.local_port(), "127.0.0.1", opt);
    REQUIRE(wait_until([&] { return cli.connect_status(c) != 1; }));
    double took = seconds_since(t0);
    CHECK(rc_name(cli.connect_status(c)) == rc_name(IOCPNET_E_TIMEOUT));
    CHECK(took >= 0.15);
    CHECK_RC(iocpnet_send(cp, c, "x", 1), IOCPNET_E_NOT_FOUND);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    CHECK(cli.events(c).size() == 1);
    check_clean(cli, true);
}

} // namespace

TEST_CASE("connect timeout from the config gives on_connect(TIMEOUT)", "[timeout][connect]") {
    iocpnet_config cfg = default_config();
    cfg.connect_timeout_ms = 500;
    run(&cfg, nullptr);
}

TEST_CASE("connect_ex connect_timeout_ms overrides the config", "[timeout][connect]") {
    iocpnet_conn_options opt = default_options();
    opt.connect_timeout_ms = 400;
    run(nullptr, &opt);
}
