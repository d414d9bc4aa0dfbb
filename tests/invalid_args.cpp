// NULL and bad arguments give INVALID_ARG from every function (never a
// crash), and set this thread's last error message.
#include "support.hpp"

using namespace t;

namespace {
void IOCPNET_CALL noop(void *) {}
void IOCPNET_CALL log_noop(void *, uint32_t, const char *) {}
} // namespace

TEST_CASE("NULL or bad arguments give INVALID_ARG from every function", "[args]") {
    Recorder srv;
    Port sp(&srv);
    iocpnet_listener l = 0;
    uint16_t port = listen_on(sp, &l);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    iocpnet_conn c = srv.wait_accepted();
    REQUIRE(c != 0);
    const int E = IOCPNET_E_INVALID_ARG;

    // port
    iocpnet_port *out = nullptr;
    CHECK_RC(iocpnet_port_create(nullptr, nullptr, nullptr, nullptr), E);
    iocpnet_config cfg = default_config();
    cfg.struct_size = 0;
    CHECK_RC(iocpnet_port_create(&cfg, nullptr, nullptr, &out), E);
    cfg = default_config();
    cfg.backend = 1000;
    CHECK_RC(iocpnet_port_create(&cfg, nullptr, nullptr, &out), E);
    CHECK(out == nullptr);
    CHECK_RC(iocpnet_port_destroy(nullptr), E);
    iocpnet_callbacks cbs = srv.callbacks();
    CHECK_RC(iocpnet_set_callbacks(nullptr, &cbs, &srv), E);
    CHECK_RC(iocpnet_post(nullptr, &noop, nullptr), E);
    CHECK_RC(iocpnet_post(sp, nullptr, nullptr), E);
    iocpnet_stats st;
    st.struct_size = sizeof st;
    CHECK_RC(iocpnet_get_stats(nullptr, &st), E);
    CHECK_RC(iocpnet_get_stats(sp, nullptr), E);
    st.struct_size = 4;
    CHECK_RC(iocpnet_get_stats(sp, &st), E);
    st.struct_size = 0;
    CHECK_RC(iocpnet_get_stats(sp, &st), E);

    // listening
    iocpnet_listener lo = 0;
    CHECK_RC(iocpnet_listen(nullptr, "127.0.0.1", 0, &lo), E);
    CHECK_RC(iocpnet_listen(sp, "127.0.0.1", 0, nullptr), E);
    CHECK_RC(iocpnet_listen_ex(nullptr, "127.0.0.1", 0, nullptr, &lo), E);
    CHECK_RC(iocpnet_listen_ex(sp, "127.0.0.1", 0, nullptr, nullptr), E);
    iocpnet_conn_options opt = default_options();
    opt.framing = 77;
    CHECK_RC(iocpnet_listen_ex(sp, "127.0.0.1", 0, &opt, &lo), E);
    opt = default_options();
    opt.struct_size = 0;
    CHECK_RC(iocpnet_listen_ex(sp, "127.0.0.1", 0, &opt, &lo), E);
    uint16_t pnum = 0;
    CHECK_RC(iocpnet_listener_port(nullptr, l, &pnum), E);
    CHECK_RC(iocpnet_listener_port(sp, l, nullptr), E);
    CHECK_RC(iocpnet_unlisten(nullptr, l), E);

    // connections
    iocpnet_conn co = 0;
    CHECK_RC(iocpnet_connect(nullptr, "127.0.0.1", port, &co), E);
    CHECK_RC(iocpnet_connect(sp, nullptr, port, &co), E);
    CHECK_RC(iocpnet_connect(sp, "127.0.0.1", port, nullptr), E);
    CHECK_RC(iocpnet_connect_ex(nullptr, "127.0.0.1", port, nullptr, &co), E);
    CHECK_RC(iocpnet_connect_ex(sp, "127.0.0.1", port, nullptr, nullptr), E);
    opt = default_options();
    opt.framing = 77;
    CHECK_RC(iocpnet_connect_ex(sp, "127.0.0.1", port, &opt, &co), E);
    CHECK_RC(iocpnet_send(nullptr, c, "x", 1), E);
    CHECK_RC(iocpnet_send(sp, c, nullptr, 1), E);
    size_t queued = 0;
    CHECK_RC(iocpnet_send_many(nullptr, &c, 1, "x", 1, &queued), E);
    CHECK_RC(iocpnet_send_many(sp, nullptr, 1, "x", 1, &queued), E);
    CHECK_RC(iocpnet_send_many(sp, &c, 1, nullptr, 1, &queued), E);
    int res = 0;
    CHECK_RC(iocpnet_send_many_ex(nullptr, &c, 1, "x", 1, &res, &queued), E);
    CHECK_RC(iocpnet_send_many_ex(sp, nullptr, 1, "x", 1, &res, &queued), E);
    CHECK_RC(iocpnet_send_many_ex(sp, &c, 1, nullptr, 1, &res, &queued), E);
    CHECK_RC(iocpnet_close(nullptr, c, IOCPNET_CLOSE_GRACEFUL), E);
    CHECK_RC(iocpnet_close(sp, c, 2), E);
    CHECK_RC(iocpnet_close(sp, c, -1), E);
    void *u = nullptr;
    CHECK_RC(iocpnet_conn_set_user(nullptr, c, &u), E);
    CHECK_RC(iocpnet_conn_get_user(nullptr, c, &u), E);
    CHECK_RC(iocpnet_conn_get_user(sp, c, nullptr), E);
    char buf[IOCPNET_ADDRSTRLEN];
    CHECK_RC(iocpnet_conn_peer_address(nullptr, c, buf, sizeof buf), E);
    CHECK_RC(iocpnet_conn_peer_address(sp, c, nullptr, sizeof buf), E);
    CHECK_RC(iocpnet_conn_local_address(nullptr, c, buf, sizeof buf), E);
    CHECK_RC(iocpnet_conn_local_address(sp, c, nullptr, sizeof buf), E);

    // log
    CHECK_RC(iocpnet_set_log(IOCPNET_LOG_DEBUG + 1, &log_noop, nullptr), E);
    CHECK_RC(iocpnet_set_log(1000, nullptr, nullptr), E);

    // NULL is ignored by the _init functions
    iocpnet_config_init(nullptr);
    iocpnet_conn_options_init(nullptr);

    // none of that disturbed the live connection
    CHECK_RC(iocpnet_send(sp, c, "still ok", 8), IOCPNET_OK);
    std::string got;
    CHECK(peer.read_exact(&got, 8));
    CHECK(got == "still ok");
    // and empty sends with NULL data are not errors of the arguments
    int rc = iocpnet_send(sp, c, nullptr, 0);
    CHECK(rc != IOCPNET_E_INVALID_ARG);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}

TEST_CASE("a failed call sets a thread-local last error message", "[args][errors]") {
    CHECK_RC(iocpnet_port_destroy(nullptr), IOCPNET_E_INVALID_ARG);
    std::string m1 = iocpnet_last_error_message();
    CHECK(m1 != "");

    // a thread that has made no failed call has none
    std::string other = "unset";
    std::thread th([&] { other = iocpnet_last_error_message(); });
    th.join();
    CHECK(other == "");

    // a system-level failure carries its detail too
    raw::Socket taken = raw::Socket::listen("127.0.0.1", 0);
    REQUIRE(taken.valid());
    Port p(nullptr);
    iocpnet_listener l = 0;
    CHECK_RC(iocpnet_listen(p, "127.0.0.1", taken.local_port(), &l), IOCPNET_E_ADDR_IN_USE);
    CHECK(std::string(iocpnet_last_error_message()) != "");
    // (no ADDR_INVALID checks with unresolvable names: they would query DNS
    // outside loopback)
}
