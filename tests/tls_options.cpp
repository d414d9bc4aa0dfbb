// iocpnet_tls_create checks what it is given and copies it: errors for
// missing or malformed parts (with a detail), PEM text works like files and
// may be freed at once, a configuration released right after listen_ex is
// kept alive by the listener and its connections, and a role mismatch
// between configuration and listen/connect is refused.
#include "tls_support.hpp"

using namespace t;

TEST_CASE("TLS: iocpnet_tls_create refuses bad options", "[tls]") {
    iocpnet_tls *tls = nullptr;
    CHECK_RC(iocpnet_tls_create(nullptr, &tls), IOCPNET_E_INVALID_ARG);
    iocpnet_tls_options o = server_options();
    CHECK_RC(iocpnet_tls_create(&o, nullptr), IOCPNET_E_INVALID_ARG);
    o.role = 7;
    CHECK_RC(iocpnet_tls_create(&o, &tls), IOCPNET_E_INVALID_ARG);
    o = server_options();
    o.key_file = nullptr;
    CHECK_RC(iocpnet_tls_create(&o, &tls), IOCPNET_E_INVALID_ARG); // a server needs its key
    o = server_options();
    o.cert_file = "/nonexistent/cert.pem";
    CHECK_RC(iocpnet_tls_create(&o, &tls), IOCPNET_E_TLS);
    CHECK(std::string(iocpnet_last_error_message()).find("cert_file") != std::string::npos);
    o = server_options(false, nullptr, "server.pem", "client.key");
    CHECK_RC(iocpnet_tls_create(&o, &tls), IOCPNET_E_TLS); // key mismatch
    CHECK(std::string(iocpnet_last_error_message()).find("mismatch") != std::string::npos);
    o = server_options();
    o.cert_file = nullptr;
    o.cert_pem = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
    CHECK_RC(iocpnet_tls_create(&o, &tls), IOCPNET_E_TLS);
    o = server_options(false, "h2,,http/1.1");
    CHECK_RC(iocpnet_tls_create(&o, &tls), IOCPNET_E_INVALID_ARG);
    CHECK(tls == nullptr);
    CHECK_RC(iocpnet_tls_release(nullptr), IOCPNET_E_INVALID_ARG);
}

TEST_CASE("TLS: PEM text is copied; a released configuration lives on in its users", "[tls]") {
    std::string cert = read_file(cert_path("server.pem")), key = read_file(cert_path("server.key"));
    std::string ca = read_file(cert_path("ca.pem"));
    REQUIRE(!cert.empty());
    iocpnet_tls *stls = nullptr, *ctls = nullptr;
    {
        std::string c2 = cert, k2 = key, a2 = ca; // freed right after create
        iocpnet_tls_options o;
        iocpnet_tls_options_init(&o);
        o.cert_pem = c2.c_str();
        o.key_pem = k2.c_str();
        REQUIRE_RC(iocpnet_tls_create(&o, &stls), IOCPNET_OK);
        iocpnet_tls_options_init(&o);
        o.role = IOCPNET_TLS_CLIENT;
        o.ca_pem = a2.c_str();
        REQUIRE_RC(iocpnet_tls_create(&o, &ctls), IOCPNET_OK);
        std::fill(c2.begin(), c2.end(), 'x');
        std::fill(k2.begin(), k2.end(), 'x');
        std::fill(a2.begin(), a2.end(), 'x');
    }
    Recorder srv, cli;
    make_echo(srv);
    Port sp(&srv), cp(&cli);
    iocpnet_conn_options so = tls_conn_options(stls);
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &so);
    iocpnet_conn_options co = tls_conn_options(ctls, "localhost");
    // a role mismatch is refused
    iocpnet_conn bad = 0;
    iocpnet_listener badl = 0;
    CHECK_RC(iocpnet_connect_ex(cp, "127.0.0.1", port, &so, &bad), IOCPNET_E_INVALID_ARG);
    CHECK_RC(iocpnet_listen_ex(sp, "127.0.0.1", 0, &co, &badl), IOCPNET_E_INVALID_ARG);
    iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &co);
    REQUIRE_RC(iocpnet_tls_release(stls), IOCPNET_OK); // the listener holds its own reference
    REQUIRE_RC(iocpnet_tls_release(ctls), IOCPNET_OK); // the connection's session too
    REQUIRE_RC(iocpnet_send(cp, c, "still works", 11), IOCPNET_OK);
    REQUIRE(cli.wait_bytes(c, 11));
    CHECK(cli.data(c) == "still works");
    // and new connections to the listener still handshake with it
    Tls client_tls(client_options());
    iocpnet_conn_options co2 = tls_conn_options(client_tls);
    iocpnet_conn c2 = connect_to(cp, port, "127.0.0.1", &co2);
    REQUIRE(wait_until([&] { return cli.connect_status(c2) != 1; }));
    CHECK(rc_name(cli.connect_status(c2)) == rc_name(IOCPNET_OK));
}

TEST_CASE("TLS: struct_size of an older iocpnet_conn_options means plain TCP", "[tls]") {
    Tls server_tls(server_options());
    Recorder srv, cli;
    Port sp(&srv), cp(&cli);
    iocpnet_conn_options so = tls_conn_options(server_tls);
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &so);
    iocpnet_conn_options old = tls_conn_options(server_tls); // the tls field lies past struct_size
    old.struct_size = offsetof(iocpnet_conn_options, tls);
    iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &old);
    REQUIRE(wait_until([&] { return cli.connect_status(c) != 1; }));
    CHECK(rc_name(cli.connect_status(c)) == rc_name(IOCPNET_OK)); // plain TCP connects
    CHECK(tls_info(cp, c, IOCPNET_TLS_INFO_VERSION) == "<IOCPNET_E_UNSUPPORTED>");
}
