// Zero-copy sends: the engine keeps the caller's buffer and calls free_fn
// exactly once when done with it — after the bytes went out, or when a close
// or destroy drops them — with no engine lock held; never after a failed call.
#include "support.hpp"

using namespace t;

namespace {
struct Lent {
    std::string bytes;
    std::atomic<int> frees{0};
    iocpnet_port *port = nullptr;
    iocpnet_conn conn = 0;
    std::atomic<int> query_rc{1};
};
void IOCPNET_CALL release(void *arg, const void *data) {
    auto *l = static_cast<Lent *>(arg);
    if (data != l->bytes.data()) l->frees += 1000; // wrong pointer: shows in the count
    // Would deadlock if a lock of the connection were held here.
    uint64_t q;
    if (l->port) l->query_rc = iocpnet_conn_queued_bytes(l->port, l->conn, &q);
    l->frees++;
}
} // namespace

TEST_CASE("send_owned: bytes arrive unchanged and each buffer is freed once, after it was sent", "[owned]") {
    Recorder srv;
    Port sp(&srv);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted(0);
    REQUIRE(s != 0);
    const int kN = 40;
    std::vector<std::unique_ptr<Lent>> bufs;
    std::string want;
    for (int i = 0; i < kN; i++) {
        bufs.emplace_back(new Lent);
        Lent &l = *bufs.back();
        l.bytes = pattern(uint64_t(i) * 1000, size_t(1 + (i * 7919) % 70000)); // small ones too
        l.port = sp;
        l.conn = s;
        want += l.bytes;
        REQUIRE_RC(iocpnet_send_owned(sp, s, l.bytes.data(), l.bytes.size(), release, &l), IOCPNET_OK);
        REQUIRE_RC(iocpnet_send(sp, s, "|", 1), IOCPNET_OK); // copies between lent buffers keep their place
        want += "|";
    }
    std::string got;
    REQUIRE(peer.read_exact(&got, want.size()));
    CHECK(first_mismatch(got, want) == -1);
    REQUIRE(wait_until([&] {
        for (auto &b : bufs)
            if (b->frees.load() == 0) return false;
        return true;
    }));
    for (auto &b : bufs) {
        CHECK(b->frees.load() == 1);
        CHECK(rc_name(b->query_rc.load()) == rc_name(IOCPNET_OK));
    }
    check_clean(srv);
}

TEST_CASE("send_owned: a close drops the queued buffers and frees them once; destroy does too", "[owned]") {
    iocpnet_config cfg = default_config();
    cfg.max_send_queue_bytes = 64u << 20;
    Recorder srv;
    auto sp = std::make_unique<Port>(&srv, &cfg);
    uint16_t port = listen_on(*sp);
    raw::Socket a = raw::Socket::connect("127.0.0.1", port, 30000, 4096);
    raw::Socket b = raw::Socket::connect("127.0.0.1", port, 30000, 4096);
    REQUIRE(a.valid());
    REQUIRE(b.valid());
    iocpnet_conn ca = srv.wait_accepted(0), cb = srv.wait_accepted(1);
    REQUIRE(ca != 0);
    REQUIRE(cb != 0);
    std::vector<std::unique_ptr<Lent>> on_a, on_b;
    for (int i = 0; i < 16; i++) { // 16 MiB each: far more than the sockets hold
        for (auto *v : {&on_a, &on_b}) {
            v->emplace_back(new Lent);
            v->back()->bytes.assign(1 << 20, char('a' + i));
            iocpnet_conn c = v == &on_a ? ca : cb;
            REQUIRE_RC(iocpnet_send_owned(*sp, c, v->back()->bytes.data(), v->back()->bytes.size(), release,
                                          v->back().get()),
                       IOCPNET_OK);
        }
    }
    REQUIRE_RC(iocpnet_close(*sp, ca, IOCPNET_CLOSE_ABORT), IOCPNET_OK);
    REQUIRE(srv.wait_closed(ca));
    REQUIRE(wait_until([&] {
        for (auto &l : on_a)
            if (l->frees.load() == 0) return false;
        return true;
    }));
    for (auto &l : on_a) CHECK(l->frees.load() == 1);
    int unfreed_b = 0;
    for (auto &l : on_b) unfreed_b += l->frees.load() == 0;
    CHECK(unfreed_b > 0); // b's peer reads nothing: most of its buffers still wait
    REQUIRE(sp->destroy() == IOCPNET_OK);
    for (auto &l : on_b) CHECK(l->frees.load() == 1);
    check_clean(srv, true);
}

TEST_CASE("send_owned that fails does not call free_fn", "[owned][args]") {
    iocpnet_config cfg = default_config();
    cfg.max_send_queue_bytes = 1 << 16;
    Recorder srv;
    Port sp(&srv, &cfg);
    Lent l;
    l.bytes.assign(1 << 17, 'z');
    CHECK_RC(iocpnet_send_owned(sp, 4242, l.bytes.data(), 10, release, &l), IOCPNET_E_NOT_FOUND);
    CHECK_RC(iocpnet_send_owned(nullptr, 4242, l.bytes.data(), 10, release, &l), IOCPNET_E_INVALID_ARG);
    CHECK_RC(iocpnet_send_owned(sp, 4242, nullptr, 10, release, &l), IOCPNET_E_INVALID_ARG);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    iocpnet_conn s = srv.wait_accepted(0);
    REQUIRE(s != 0);
    CHECK_RC(iocpnet_send_owned(sp, s, l.bytes.data(), l.bytes.size(), release, &l), IOCPNET_E_LIMIT);
    iocpnet_conn_options o = default_options();
    (void)o;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(l.frees.load() == 0);
    // free_fn NULL: the buffer simply outlives the port
    static const char forever[] = "static bytes";
    REQUIRE_RC(iocpnet_send_owned(sp, s, forever, sizeof forever - 1, nullptr, nullptr), IOCPNET_OK);
    std::string got;
    CHECK(peer.read_exact(&got, sizeof forever - 1));
    CHECK(got == forever);
}
