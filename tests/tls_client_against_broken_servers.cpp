// A TLS client against servers that do not speak TLS properly: one that
// answers with garbage, one that sends a truncated record and closes, one
// that closes at once, and one that accepts and stalls (the connect timeout
// applies to the handshake). Each gives exactly one on_connect with an
// error code, never on_close, and the reason is readable inside it.
#include "tls_support.hpp"

using namespace t;

namespace {

struct Outcome {
    int status = 1;
    std::string reason;
    double seconds = 0;
};

// Connects a TLS client to a raw server that does `act` with the accepted
// socket, and returns how the connect ended.
Outcome connect_to_raw(const std::function<void(raw::Socket &)> &act, uint32_t connect_timeout_ms = 0) {
    raw::Socket l = raw::Socket::listen("127.0.0.1", 0);
    REQUIRE(l.valid());
    Tls client_tls(client_options());
    Recorder cli;
    Outcome out;
    std::mutex mu;
    cli.on_connect = [&](iocpnet_port *p, iocpnet_conn c, int) {
        std::lock_guard<std::mutex> lk(mu);
        out.reason = tls_info(p, c, IOCPNET_TLS_INFO_ERROR);
    };
    Port cp(&cli);
    iocpnet_conn_options co = tls_conn_options(client_tls, "localhost");
    co.connect_timeout_ms = connect_timeout_ms;
    auto t0 = std::chrono::steady_clock::now();
    iocpnet_conn c = connect_to(cp, l.local_port(), "127.0.0.1", &co);
    raw::Socket s = l.accept();
    REQUIRE(s.valid());
    act(s);
    REQUIRE(wait_until([&] { return cli.connect_status(c) != 1; }));
    out.seconds = seconds_since(t0);
    out.status = cli.connect_status(c);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    check_clean(cli, true);
    CHECK(cli.closes(c) == 0);
    CHECK(cli.events(c).size() == 1);
    std::lock_guard<std::mutex> lk(mu);
    return out;
}

} // namespace

TEST_CASE("TLS: a client gets IOCPNET_E_TLS from a server answering garbage", "[tls][failure]") {
    Outcome o = connect_to_raw([](raw::Socket &s) {
        char buf[4096];
        REQUIRE(s.recv_some(buf, sizeof buf, 10000) > 0); // the ClientHello
        std::string junk = random_bytes(2048, Catch::rngSeed() + 3);
        s.send_all(junk);
    });
    INFO("reason: " << o.reason);
    CHECK(rc_name(o.status) == rc_name(IOCPNET_E_TLS));
    CHECK(!o.reason.empty());
}

TEST_CASE("TLS: a client gets IOCPNET_E_TLS from a truncated server record and EOF", "[tls][failure]") {
    Outcome o = connect_to_raw([](raw::Socket &s) {
        char buf[4096];
        REQUIRE(s.recv_some(buf, sizeof buf, 10000) > 0); // the ClientHello
        const unsigned char rec[] = {0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76, 0x03, 0x03};
        REQUIRE(s.send_all(rec, sizeof rec));
        s.shutdown_write();
    });
    INFO("reason: " << o.reason);
    CHECK(rc_name(o.status) == rc_name(IOCPNET_E_TLS));
    CHECK(!o.reason.empty());
}

TEST_CASE("TLS: a client gets IOCPNET_E_TLS when the server closes during the handshake", "[tls][failure]") {
    Outcome o = connect_to_raw([](raw::Socket &s) {
        char buf[4096];
        REQUIRE(s.recv_some(buf, sizeof buf, 10000) > 0); // the ClientHello, read: the close is a FIN
        s.close();
    });
    INFO("reason: " << o.reason);
    CHECK(rc_name(o.status) == rc_name(IOCPNET_E_TLS));
    CHECK(o.reason.find("closed") != std::string::npos);
}

TEST_CASE("TLS: a server that stalls in the handshake gives the client IOCPNET_E_TIMEOUT", "[tls][failure]") {
    Outcome o = connect_to_raw([](raw::Socket &) {}, 400);
    CHECK(rc_name(o.status) == rc_name(IOCPNET_E_TIMEOUT));
    CHECK(o.seconds >= 0.35);
    CHECK(o.seconds < 8.0);
}
