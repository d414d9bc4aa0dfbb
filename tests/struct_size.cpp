// Versioned structs: an older, smaller iocpnet_config or iocpnet_callbacks
// is accepted (the missing fields take their defaults / are absent); stats
// are never written past the caller's struct_size.
#include "support.hpp"

#include <cstddef>

using namespace t;

TEST_CASE("config_init and conn_options_init fill the documented defaults", "[struct]") {
    iocpnet_config c;
    memset(&c, 0xEE, sizeof c);
    iocpnet_config_init(&c);
    CHECK(c.struct_size == sizeof(iocpnet_config));
    CHECK(c.worker_threads == 0);
    CHECK(c.backend == IOCPNET_BACKEND_AUTO);
    CHECK(c.max_connections == 0);
    CHECK(c.idle_timeout_ms == 0);
    CHECK(c.connect_timeout_ms == 0);
    CHECK(c.tcp_nodelay == 1);
    CHECK(c.keepalive_s == 0);
    iocpnet_conn_options o;
    memset(&o, 0xEE, sizeof o);
    iocpnet_conn_options_init(&o);
    CHECK(o.struct_size == sizeof(iocpnet_conn_options));
    CHECK(o.framing == IOCPNET_FRAMING_RAW);
    CHECK(o.idle_timeout_ms == IOCPNET_INHERIT);
    CHECK(o.connect_timeout_ms == IOCPNET_INHERIT);
    CHECK(o.tcp_nodelay == IOCPNET_INHERIT);
    CHECK(o.keepalive_s == IOCPNET_INHERIT);
}

TEST_CASE("an older, smaller iocpnet_config is accepted", "[struct]") {
    // the layout before the 1.0 appendix: up to max_send_queue_bytes; the
    // bytes after it are garbage the library must not read
    struct {
        iocpnet_config cfg;
        unsigned char garbage[64];
    } buf;
    memset(&buf, 0xFF, sizeof buf);
    iocpnet_config_init(&buf.cfg);
    buf.cfg.struct_size = offsetof(iocpnet_config, idle_timeout_ms);
    memset(reinterpret_cast<unsigned char *>(&buf.cfg) + buf.cfg.struct_size, 0xFF,
           sizeof buf - buf.cfg.struct_size); // idle timeout etc. = 0xFFFFFFFF if read
    buf.cfg.max_send_queue_bytes = 0;
    Recorder srv;
    make_echo(srv);
    iocpnet_callbacks cbs = srv.callbacks();
    iocpnet_port *p = nullptr;
    REQUIRE_RC(iocpnet_port_create(&buf.cfg, &cbs, &srv, &p), IOCPNET_OK);
    uint16_t port = listen_on(p);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    REQUIRE(peer.send_all("old config", 10));
    std::string got;
    CHECK(peer.read_exact(&got, 10));
    CHECK(got == "old config");
    REQUIRE_RC(iocpnet_port_destroy(p), IOCPNET_OK);
    check_clean(srv, true);
}

namespace {
std::atomic<int> g_old_cb_closes{0};
void IOCPNET_CALL old_on_data(void *, iocpnet_port *p, iocpnet_conn c, const uint8_t *d, size_t n) {
    iocpnet_send(p, c, d, n);
}
void IOCPNET_CALL old_on_close(void *, iocpnet_port *, iocpnet_conn, int) { g_old_cb_closes++; }
} // namespace

TEST_CASE("an older iocpnet_callbacks without on_framing_error is accepted", "[struct][framing]") {
    struct {
        iocpnet_callbacks cbs;
        unsigned char garbage[32];
    } buf;
    memset(&buf, 0xFF, sizeof buf); // on_framing_error would be a wild pointer if read
    buf.cbs.struct_size = offsetof(iocpnet_callbacks, on_framing_error);
    buf.cbs.on_accept = nullptr;
    buf.cbs.on_connect = nullptr;
    buf.cbs.on_data = &old_on_data;
    buf.cbs.on_drain = nullptr;
    buf.cbs.on_close = &old_on_close;
    iocpnet_port *p = nullptr;
    REQUIRE_RC(iocpnet_port_create(nullptr, &buf.cbs, nullptr, &p), IOCPNET_OK);
    iocpnet_conn_options opt = default_options();
    opt.framing = IOCPNET_FRAMING_LINE;
    opt.max_message_size = 16;
    iocpnet_listener l = 0;
    REQUIRE_RC(iocpnet_listen_ex(p, "127.0.0.1", 0, &opt, &l), IOCPNET_OK);
    uint16_t port = 0;
    REQUIRE_RC(iocpnet_listener_port(p, l, &port), IOCPNET_OK);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    REQUIRE(peer.send_all("hi\n", 3));
    std::string got;
    CHECK(peer.read_exact(&got, 3));
    CHECK(got == "hi\n");
    // a framing error: the callback the old struct lacks is not called
    REQUIRE(peer.send_all(std::string(100, 'x')));
    got.clear();
    raw::End end = peer.read_until_end(&got);
    CHECK((end == raw::End::eof || end == raw::End::reset));
    REQUIRE(wait_until([&] { return g_old_cb_closes == 1; }));
    REQUIRE_RC(iocpnet_port_destroy(p), IOCPNET_OK);
    CHECK(g_old_cb_closes == 1);
}

TEST_CASE("get_stats never writes past the caller's struct_size", "[struct][stats]") {
    Port p(nullptr);
    const size_t sizes[] = {8, 12, 16, offsetof(iocpnet_stats, bytes_received), sizeof(iocpnet_stats) - 8,
                            sizeof(iocpnet_stats)};
    for (size_t sz : sizes) {
        INFO("struct_size " << sz);
        unsigned char buf[sizeof(iocpnet_stats) + 64];
        memset(buf, 0xA5, sizeof buf);
        uint32_t s32 = static_cast<uint32_t>(sz);
        memcpy(buf, &s32, 4);
        REQUIRE_RC(iocpnet_get_stats(p, reinterpret_cast<iocpnet_stats *>(buf)), IOCPNET_OK);
        size_t bad = 0;
        for (size_t i = sz; i < sizeof buf; i++)
            if (buf[i] != 0xA5) bad++;
        CHECK(bad == 0);
        uint32_t backend;
        memcpy(&backend, buf + 4, 4);
        CHECK(backend != IOCPNET_BACKEND_AUTO);
        CHECK(backend <= IOCPNET_BACKEND_EPOLL);
    }
}

TEST_CASE("stats count connections and bytes", "[stats]") {
    Recorder srv;
    make_echo(srv);
    Port sp(&srv);
    uint16_t port = listen_on(sp);
    iocpnet_stats s0 = stats(sp);
    CHECK(s0.connections_open == 0);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    REQUIRE(peer.send_all("0123456789", 10));
    std::string got;
    REQUIRE(peer.read_exact(&got, 10));
    REQUIRE(wait_until([&] { return stats(sp).bytes_sent >= 10; }));
    iocpnet_stats s1 = stats(sp);
    CHECK(s1.connections_open == 1);
    CHECK(s1.connections_accepted == 1);
    CHECK(s1.connections_connected == 0);
    CHECK(s1.bytes_received == 10);
    CHECK(s1.bytes_sent == 10);
    peer.close();
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(srv.wait_closed(s));
    REQUIRE(wait_until([&] { return stats(sp).connections_open == 0; }));
    CHECK(stats(sp).connections_closed == 1);
}
