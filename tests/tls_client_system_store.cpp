// A client that names no CA trusts the system's store (OpenSSL's default
// paths on Linux, the ROOT certificate store on Windows): creating it works,
// and a server whose chain ends in the test CA (in no system store) is
// refused with IOCPNET_E_TLS and the verification reason. On Windows the
// ROOT store's certificates are copied into the configuration, and the
// DEBUG log says how many (some: Wine fills the store from the host's CA
// bundle, a real Windows ships its roots).
#include "tls_support.hpp"

#include <cstdlib>

using namespace t;

namespace {
struct Lines {
    std::mutex mu;
    std::vector<std::string> v;
};
void IOCPNET_CALL keep_line(void *user, uint32_t, const char *msg) {
    auto *l = static_cast<Lines *>(user);
    std::lock_guard<std::mutex> lk(l->mu);
    l->v.emplace_back(msg ? msg : "");
}
} // namespace

TEST_CASE("TLS: a client without a CA uses the system's store and refuses the test CA's server", "[tls][failure]") {
    Lines log;
    REQUIRE_RC(iocpnet_set_log(IOCPNET_LOG_DEBUG, &keep_line, &log), IOCPNET_OK);
    iocpnet_tls_options o;
    iocpnet_tls_options_init(&o);
    o.role = IOCPNET_TLS_CLIENT; // ca_pem and ca_file NULL, verify_peer 1
    iocpnet_tls *raw_tls = nullptr;
    int rc = iocpnet_tls_create(&o, &raw_tls);
    REQUIRE_RC(iocpnet_set_log(IOCPNET_LOG_ERROR, nullptr, nullptr), IOCPNET_OK);
    INFO("iocpnet_tls_create: " << iocpnet_last_error_message());
    REQUIRE_RC(rc, IOCPNET_OK);
#ifdef _WIN32
    {
        std::lock_guard<std::mutex> lk(log.mu);
        long roots = -1;
        for (auto &l : log.v) {
            size_t at = l.find(" certificates from the Windows ROOT store");
            if (l.rfind("TLS: ", 0) == 0 && at != std::string::npos) roots = strtol(l.c_str() + 5, nullptr, 10);
        }
        INFO("certificates loaded from the ROOT store: " << roots);
        CHECK(roots > 0);
    }
#endif

    Tls server_tls(server_options());
    Recorder srv, cli;
    std::mutex mu;
    std::string reason;
    cli.on_connect = [&](iocpnet_port *p, iocpnet_conn c, int) {
        std::lock_guard<std::mutex> lk(mu);
        reason = tls_info(p, c, IOCPNET_TLS_INFO_ERROR);
    };
    Port sp(&srv), cp(&cli);
    iocpnet_conn_options so = tls_conn_options(server_tls);
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &so);
    iocpnet_conn_options co = tls_conn_options(raw_tls, "localhost");
    iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &co);
    REQUIRE_RC(iocpnet_tls_release(raw_tls), IOCPNET_OK); // the connection keeps its own reference
    REQUIRE(wait_until([&] { return cli.connect_status(c) != 1; }));
    CHECK(rc_name(cli.connect_status(c)) == rc_name(IOCPNET_E_TLS));
    {
        std::lock_guard<std::mutex> lk(mu);
        INFO("reason: " << reason);
        CHECK(reason.find("unable to get local issuer certificate") != std::string::npos);
    }
    CHECK(wait_until([&] { return stats(sp).tls_handshakes_failed == 1; }));
    CHECK(srv.n_accepted() == 0);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
}
