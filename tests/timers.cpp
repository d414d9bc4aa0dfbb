// User timers: never early, repeating until stopped, stoppable from inside
// their own function and from other threads, all stopped by destroy.
#include "support.hpp"

using namespace t;

namespace {
struct Tick {
    std::atomic<int> runs{0};
    std::atomic<int> busy{0}, overlaps{0};
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::atomic<double> first_at{-1};
    int stop_after = 0; // stop itself on this run (0: never)
    std::atomic<int> stop_rc{1};
    std::thread::id thread;
    std::atomic<bool> other_thread{false};
};
void IOCPNET_CALL tick(void *arg, iocpnet_port *p, iocpnet_timer tm) {
    auto *t = static_cast<Tick *>(arg);
    if (t->busy.exchange(1)) t->overlaps++;
    int n = ++t->runs;
    if (n == 1) {
        t->first_at = seconds_since(t->started);
        t->thread = std::this_thread::get_id();
    } else if (std::this_thread::get_id() != t->thread) {
        t->other_thread = true;
    }
    if (t->stop_after && n == t->stop_after) t->stop_rc = iocpnet_timer_stop(p, tm);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    t->busy = 0;
}
} // namespace

TEST_CASE("a one-shot timer runs once, never before its delay, then is gone", "[timer]") {
    Port sp(nullptr);
    Tick t;
    iocpnet_timer id = 0;
    REQUIRE_RC(iocpnet_timer_start(sp, 200, 0, tick, &t, &id), IOCPNET_OK);
    CHECK(id != 0);
    REQUIRE(wait_until([&] { return t.runs.load() == 1; }));
    CHECK(t.first_at.load() >= 0.199);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(t.runs.load() == 1);
    CHECK_RC(iocpnet_timer_stop(sp, id), IOCPNET_E_NOT_FOUND);
}

TEST_CASE("a repeating timer runs on one worker, never overlapping, until stopped", "[timer]") {
    Port sp(nullptr);
    Tick t;
    iocpnet_timer id = 0;
    REQUIRE_RC(iocpnet_timer_start(sp, 0, 20, tick, &t, &id), IOCPNET_OK);
    REQUIRE(wait_until([&] { return t.runs.load() >= 10; }));
    REQUIRE_RC(iocpnet_timer_stop(sp, id), IOCPNET_OK);
    int at_stop = t.runs.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(t.runs.load() <= at_stop + 1); // one may have been running while stop was called
    CHECK(t.overlaps.load() == 0);
    CHECK_FALSE(t.other_thread.load());
    CHECK_RC(iocpnet_timer_stop(sp, id), IOCPNET_E_NOT_FOUND);
}

TEST_CASE("a timer stops itself from inside its function", "[timer]") {
    Port sp(nullptr);
    Tick t;
    t.stop_after = 3;
    iocpnet_timer id = 0;
    REQUIRE_RC(iocpnet_timer_start(sp, 1, 5, tick, &t, &id), IOCPNET_OK);
    REQUIRE(wait_until([&] { return t.runs.load() >= 3; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    CHECK(t.runs.load() == 3);
    CHECK(rc_name(t.stop_rc.load()) == rc_name(IOCPNET_OK));
}

TEST_CASE("a timer stopped before its time never runs; many started and stopped leave nothing behind", "[timer]") {
    Port sp(nullptr);
    Tick t;
    std::vector<iocpnet_timer> ids;
    // Due long after this test: stopping them must be what keeps them from running.
    for (int i = 0; i < 5000; i++) {
        iocpnet_timer id = 0;
        REQUIRE_RC(iocpnet_timer_start(sp, 2000 + uint64_t(i % 50), 0, tick, &t, &id), IOCPNET_OK);
        ids.push_back(id);
    }
    for (auto id : ids) REQUIRE_RC(iocpnet_timer_stop(sp, id), IOCPNET_OK);
    std::set<iocpnet_timer> unique(ids.begin(), ids.end());
    CHECK(unique.size() == ids.size()); // ids are never reused
    // The workers still keep time: a short timer started after them runs, alone.
    Tick after;
    iocpnet_timer id = 0;
    REQUIRE_RC(iocpnet_timer_start(sp, 10, 0, tick, &after, &id), IOCPNET_OK);
    CHECK(wait_until([&] { return after.runs.load() == 1; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(2500)); // past every stopped timer's time
    CHECK(t.runs.load() == 0);
    CHECK(after.runs.load() == 1);
}

TEST_CASE("timers started inside a callback run on that worker; destroy stops them all", "[timer]") {
    Recorder srv;
    Tick t;
    std::atomic<int> start_rc{1};
    std::atomic<bool> same_thread{false};
    std::thread::id cb_thread;
    srv.on_accept = [&](iocpnet_port *p, iocpnet_listener, iocpnet_conn) {
        cb_thread = std::this_thread::get_id();
        iocpnet_timer id;
        start_rc = iocpnet_timer_start(p, 0, 1, tick, &t, &id);
    };
    auto sp = std::make_unique<Port>(&srv);
    uint16_t port = listen_on(*sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(srv.wait_accepted(0) != 0);
    REQUIRE(wait_until([&] { return t.runs.load() >= 5; }));
    same_thread = t.thread == cb_thread;
    CHECK(rc_name(start_rc.load()) == rc_name(IOCPNET_OK));
    CHECK(same_thread.load());
    int rc = 1;
    REQUIRE(sp->destroy_within(10, &rc));
    CHECK(rc == IOCPNET_OK);
    int after = t.runs.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(t.runs.load() == after);
    CHECK(t.busy.load() == 0);
}

namespace {
struct StopDuringDestroy {
    std::atomic<int> runs{0};
    std::atomic<bool> saw_destroy{false};
    std::atomic<int> stop_rc{1};
};
void IOCPNET_CALL no_tick(void *, iocpnet_port *, iocpnet_timer) {}
// First run: waits until destroy has begun (timer_start refuses), gives it
// time to stop every timer, then stops itself.
void IOCPNET_CALL stop_during_destroy(void *arg, iocpnet_port *p, iocpnet_timer tm) {
    auto *s = static_cast<StopDuringDestroy *>(arg);
    if (++s->runs != 1) return;
    for (int i = 0; i < 2000 && !s->saw_destroy; ++i) {
        iocpnet_timer other = 0;
        int rc = iocpnet_timer_start(p, 1000000, 0, no_tick, nullptr, &other);
        if (rc == IOCPNET_E_SHUTTING_DOWN) s->saw_destroy = true;
        else if (rc == IOCPNET_OK) iocpnet_timer_stop(p, other);
        else std::this_thread::sleep_for(std::chrono::milliseconds(5));
        if (!s->saw_destroy) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200)); // destroy stops the timers right after refusing new ones
    s->stop_rc = iocpnet_timer_stop(p, tm);
}
} // namespace

TEST_CASE("a timer stops itself from inside its function while destroy runs", "[timer]") {
    // Destroy stops every timer; one whose function is running is still
    // there to stop from inside it (it was once dropped: NOT_FOUND).
    auto sp = std::make_unique<Port>(nullptr);
    StopDuringDestroy s;
    iocpnet_timer id = 0;
    REQUIRE_RC(iocpnet_timer_start(*sp, 0, 1000, stop_during_destroy, &s, &id), IOCPNET_OK);
    REQUIRE(wait_until([&] { return s.runs.load() == 1; }));
    int rc = 1;
    REQUIRE(sp->destroy_within(20, &rc));
    CHECK(rc == IOCPNET_OK);
    CHECK(s.saw_destroy.load());
    CHECK(rc_name(s.stop_rc.load()) == rc_name(IOCPNET_OK));
    CHECK(s.runs.load() == 1);
}

namespace {
struct Slow {
    std::atomic<int> slow_runs{0}, late_runs{0};
};
void IOCPNET_CALL slow_tick(void *arg, iocpnet_port *, iocpnet_timer) {
    static_cast<Slow *>(arg)->slow_runs++;
    std::this_thread::sleep_for(std::chrono::milliseconds(40)); // the next timer falls due meanwhile
}
void IOCPNET_CALL late_tick(void *arg, iocpnet_port *, iocpnet_timer) { static_cast<Slow *>(arg)->late_runs++; }
} // namespace

TEST_CASE("a timer that fell due while another timer's function ran still runs", "[timer]") {
    // One worker: the second timer is overdue when the worker next computes
    // how long to wait; an overdue timer once made that wait unbounded.
    iocpnet_config cfg;
    iocpnet_config_init(&cfg);
    cfg.worker_threads = 1;
    Port sp(nullptr, &cfg);
    Slow s;
    iocpnet_timer a = 0, b = 0;
    REQUIRE_RC(iocpnet_timer_start(sp, 50, 0, slow_tick, &s, &a), IOCPNET_OK);
    REQUIRE_RC(iocpnet_timer_start(sp, 60, 0, late_tick, &s, &b), IOCPNET_OK);
    CHECK(wait_until([&] { return s.late_runs.load() == 1; }, 3.0));
    CHECK(s.slow_runs.load() == 1);
}

TEST_CASE("timer arguments are checked", "[timer][args]") {
    Port sp(nullptr);
    iocpnet_timer id;
    Tick t;
    CHECK_RC(iocpnet_timer_start(nullptr, 1, 0, tick, &t, &id), IOCPNET_E_INVALID_ARG);
    CHECK_RC(iocpnet_timer_start(sp, 1, 0, nullptr, &t, &id), IOCPNET_E_INVALID_ARG);
    CHECK_RC(iocpnet_timer_start(sp, 1, 0, tick, &t, nullptr), IOCPNET_E_INVALID_ARG);
    CHECK_RC(iocpnet_timer_stop(sp, 0), IOCPNET_E_NOT_FOUND);
    CHECK_RC(iocpnet_timer_stop(sp, 99999), IOCPNET_E_NOT_FOUND);
    CHECK_RC(iocpnet_timer_stop(nullptr, 1), IOCPNET_E_INVALID_ARG);
    // a far-future timer is accepted and stopped
    REQUIRE_RC(iocpnet_timer_start(sp, UINT64_MAX, UINT64_MAX, tick, &t, &id), IOCPNET_OK);
    CHECK_RC(iocpnet_timer_stop(sp, id), IOCPNET_OK);
}
