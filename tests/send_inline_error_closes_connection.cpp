// A send whose write fails (the peer reset the connection) is accepted, and
// the connection then closes with the write's error, exactly as when a
// queued send fails later: inline writes (epoll) and submitted ones
// (io_uring) end the same way. The receiver is paused first, so that only
// the send can notice the reset.
#include "support.hpp"

using namespace t;

namespace {
struct Sends {
    int first = 1, second = 1;
    std::atomic<bool> done{false};
};
void IOCPNET_CALL send_twice(void *arg, iocpnet_port *p, iocpnet_conn c) {
    auto *s = static_cast<Sends *>(arg);
    std::string m = pattern(0, 1000);
    s->first = iocpnet_send(p, c, m.data(), m.size());
    s->second = iocpnet_send(p, c, m.data(), m.size());
    s->done = true;
}
} // namespace

TEST_CASE("a send to a reset peer is accepted and closes the connection with CONN_RESET", "[send][inline][close]") {
    Recorder srv;
    Port sp(&srv);
    Accepted a = accept_raw(srv, sp);
    REQUIRE_RC(iocpnet_pause_recv(sp, a.conn), IOCPNET_OK);
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // the worker stops reading
    a.peer.set_linger0();
    a.peer.close();
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // the reset arrives
    REQUIRE(!srv.is_closed(a.conn)); // nobody read it: only a send can find out

    Sends s;
    REQUIRE_RC(iocpnet_conn_post(sp, a.conn, send_twice, &s), IOCPNET_OK);
    REQUIRE(wait_until([&] { return s.done.load(); }));
    CHECK(rc_name(s.first) == rc_name(IOCPNET_OK));
    // The failed write's close comes after the callback, as a failed queued
    // send's does: a second send in the same callback is still accepted.
    CHECK(rc_name(s.second) == rc_name(IOCPNET_OK));
    REQUIRE(srv.wait_closed(a.conn));
    CHECK(rc_name(srv.close_reason(a.conn)) == rc_name(IOCPNET_E_CONN_RESET));
    CHECK(srv.closes(a.conn) == 1);
    CHECK(queues_drain(sp));
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}
