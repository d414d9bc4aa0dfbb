// The log hook: messages at the level or more severe reach it; NULL turns
// logging off. The library prints nothing by itself.
#include "support.hpp"

using namespace t;

namespace {
struct LogSink {
    std::mutex mu;
    std::vector<std::pair<uint32_t, std::string>> lines;
    size_t size() {
        std::lock_guard<std::mutex> lk(mu);
        return lines.size();
    }
};
void IOCPNET_CALL sink_fn(void *user, uint32_t level, const char *msg) {
    auto *s = static_cast<LogSink *>(user);
    std::lock_guard<std::mutex> lk(s->mu);
    s->lines.emplace_back(level, msg ? msg : "(null)");
}

// Things worth logging at DEBUG: a port's life, a refused connect, a reset.
void activity() {
    Recorder r;
    Port p(&r);
    iocpnet_conn c = connect_to(p, raw::unused_port());
    wait_until([&] { return r.connect_status(c) != 1; });
    uint16_t port = listen_on(p);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    iocpnet_conn s = r.wait_accepted();
    peer.set_linger0();
    peer.close();
    r.wait_closed(s);
    p.destroy();
}
} // namespace

TEST_CASE("set_log receives messages at or above its level; NULL turns it off", "[log]") {
    LogSink debug;
    REQUIRE_RC(iocpnet_set_log(IOCPNET_LOG_DEBUG, &sink_fn, &debug), IOCPNET_OK);
    activity();
    size_t n_debug = debug.size();
    CHECK(n_debug > 0);
    {
        std::lock_guard<std::mutex> lk(debug.mu);
        for (auto &l : debug.lines) {
            CHECK(l.first <= IOCPNET_LOG_DEBUG);
            CHECK(!l.second.empty());
        }
    }

    // ERROR only: nothing less severe arrives
    LogSink errors;
    REQUIRE_RC(iocpnet_set_log(IOCPNET_LOG_ERROR, &sink_fn, &errors), IOCPNET_OK);
    activity();
    {
        std::lock_guard<std::mutex> lk(errors.mu);
        for (auto &l : errors.lines) CHECK(l.first == IOCPNET_LOG_ERROR);
    }

    // off: the old sinks hear nothing more
    REQUIRE_RC(iocpnet_set_log(IOCPNET_LOG_DEBUG, nullptr, nullptr), IOCPNET_OK);
    size_t before_debug = debug.size(), before_errors = errors.size();
    activity();
    CHECK(debug.size() == before_debug);
    CHECK(errors.size() == before_errors);
}
