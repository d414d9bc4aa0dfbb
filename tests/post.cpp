// iocpnet_post runs fn(arg) exactly once on one of the port's worker
// threads (never the caller's), also when called from inside a callback or
// from many threads at once.
#include "support.hpp"

using namespace t;

namespace {
struct Ctx {
    std::atomic<int> runs{0};
    std::mutex mu;
    std::set<std::thread::id> threads;
    iocpnet_port *port = nullptr;
    std::atomic<int> nested_rc{1};
};
void IOCPNET_CALL record(void *arg) {
    auto *c = static_cast<Ctx *>(arg);
    {
        std::lock_guard<std::mutex> lk(c->mu);
        c->threads.insert(std::this_thread::get_id());
    }
    c->runs++;
}
void IOCPNET_CALL post_again(void *arg) { // a posted function posting another
    auto *c = static_cast<Ctx *>(arg);
    c->nested_rc = iocpnet_post(c->port, &record, c);
}
} // namespace

TEST_CASE("post runs fn once on a worker thread, not the caller's", "[post]") {
    Port p(nullptr);
    Ctx ctx;
    REQUIRE_RC(iocpnet_post(p, &record, &ctx), IOCPNET_OK);
    REQUIRE(wait_until([&] { return ctx.runs == 1; }));
    REQUIRE_RC(p.destroy(), IOCPNET_OK);
    CHECK(ctx.runs == 1);
    CHECK(ctx.threads.size() == 1);
    CHECK(ctx.threads.count(std::this_thread::get_id()) == 0);
}

TEST_CASE("post runs on the same threads as the callbacks", "[post]") {
    iocpnet_config cfg = default_config();
    cfg.worker_threads = 1; // one worker: callbacks and posts share it
    Recorder srv;
    Port sp(&srv, &cfg);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(srv.wait_accepted() != 0);
    Ctx ctx;
    REQUIRE_RC(iocpnet_post(sp, &record, &ctx), IOCPNET_OK);
    REQUIRE(wait_until([&] { return ctx.runs == 1; }));
    auto cb_threads = srv.threads();
    REQUIRE(cb_threads.size() == 1);
    std::lock_guard<std::mutex> lk(ctx.mu);
    CHECK(ctx.threads == cb_threads);
}

TEST_CASE("post from inside a callback and from a posted function", "[post]") {
    Recorder srv;
    Ctx ctx;
    std::atomic<int> rc_in_cb{1};
    srv.on_accept = [&](iocpnet_port *p, iocpnet_listener, iocpnet_conn) { rc_in_cb = iocpnet_post(p, &record, &ctx); };
    Port sp(&srv);
    ctx.port = sp;
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    // the posted record may run on another worker before on_accept has
    // stored the result: wait for both
    REQUIRE(wait_until([&] { return ctx.runs == 1 && rc_in_cb != 1; }));
    CHECK(rc_name(rc_in_cb) == rc_name(IOCPNET_OK));
    REQUIRE_RC(iocpnet_post(sp, &post_again, &ctx), IOCPNET_OK);
    // the nested post's record may run on another worker before post_again
    // has stored the result: wait for both
    REQUIRE(wait_until([&] { return ctx.runs == 2 && ctx.nested_rc != 1; }));
    CHECK(rc_name(ctx.nested_rc) == rc_name(IOCPNET_OK));
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    CHECK(ctx.runs == 2);
    check_clean(srv, true);
}

TEST_CASE("posts from many threads each run exactly once", "[post][threads]") {
    Port p(nullptr);
    Ctx ctx;
    std::atomic<int> failures{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; i++)
        ts.emplace_back([&] {
            for (int k = 0; k < 2500; k++)
                if (iocpnet_post(p, &record, &ctx) != IOCPNET_OK) failures++;
        });
    for (auto &th : ts) th.join();
    CHECK(failures == 0);
    REQUIRE(wait_until([&] { return ctx.runs >= 10000; }));
    REQUIRE_RC(p.destroy(), IOCPNET_OK);
    CHECK(ctx.runs == 10000);
    CHECK(ctx.threads.count(std::this_thread::get_id()) == 0);
}
