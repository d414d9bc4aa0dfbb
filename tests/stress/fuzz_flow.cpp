// The API fuzzer's flow control, posts to connections and timers (declared
// in fuzz_model.hpp): pause / resume (also by a timer: a pause with a
// deadline), queued_bytes, shutdown_write on chaos connections, conn_post,
// timer_start / timer_stop, and verified messages sent through sendv and
// send_owned. Checked: the documented result codes; no on_data after a pause
// made inside the connection's own callback until a resume began; a posted
// function runs exactly once, serialized with the connection's callbacks and
// before its last one; a timer never runs early, never overlaps itself, a
// one-shot runs at most once, and nothing runs after destroy returned; a lent
// buffer is released exactly once.
#include "fuzz_model.hpp"

namespace fuzz {

// ------------------------------------------------------------- pause / resume

static int resume(Ctx &x, ConnRec &r) {
    r.resumes_inflight++;
    int rc;
    {
        CallT ct("iocpnet_resume_recv", r.id);
        rc = iocpnet_resume_recv(x.port, r.id);
    }
    r.resumes_done++;
    r.resumes_inflight--;
    return rc;
}

void check_not_paused(ConnRec &r) {
    if (r.self_paused && r.resumes_inflight.load() == 0 && r.resumes_done.load() == r.self_pause_mark)
        violation("on_data(%#" PRIx64 ") after iocpnet_pause_recv returned OK inside one of its own callbacks, with "
                  "no resume since",
                  r.id);
    r.self_paused = false;
}

static void IOCPNET_CALL timer_fn(void *arg, iocpnet_port *p, iocpnet_timer tm);

static void pause(Actor &a, ConnRec &r) {
    bool closing = known_closing(r);
    bool self = a.self == &r;
    uint32_t mark = r.resumes_done.load();
    bool quiet = r.resumes_inflight.load() == 0;
    int rc;
    {
        CallT ct("iocpnet_pause_recv", r.id);
        rc = iocpnet_pause_recv(a.x.port, r.id);
    }
    expect(rc, closing ? NF : (OK_ | NF), "iocpnet_pause_recv", r.id, closing ? "closing connection" : "open");
    if (rc != IOCPNET_OK) return;
    if (self && quiet) {
        r.self_paused = true;
        r.self_pause_mark = mark;
    }
    // Mostly a pause with a deadline: a timer resumes it.
    uint32_t i = a.x.ntimers.fetch_add(1);
    if (i >= Ctx::kTimers || a.rng.chance(20)) return;
    TimerTok &t = a.x.timers[i];
    t.delay_ms = a.rng.below(30);
    t.resume = r.id;
    t.start_us = now_us();
    iocpnet_timer id = 0;
    CallT ct("iocpnet_timer_start", r.id);
    int trc = iocpnet_timer_start(a.x.port, t.delay_ms, 0, timer_fn, &t, &id);
    t.id = id;
    t.rc = trc;
    expect(trc, OK_ | (a.x.destroy_started.load() ? SD : 0), "iocpnet_timer_start", r.id, "resume timer");
}

// ------------------------------------------------------------- conn_post

static void IOCPNET_CALL conn_post_fn(void *arg, iocpnet_port *, iocpnet_conn c) {
    Ctx *x = g_ctx.load();
    CbT tr("conn_post fn", c);
    if (!x || x->destroy_returned.load()) violation("a conn_post function ran after iocpnet_port_destroy returned");
    auto *t = static_cast<ConnPostTok *>(arg);
    ConnRec &r = *t->rec;
    if (c != r.id) violation("conn_post fn for %#" PRIx64 " called with id %#" PRIx64, r.id, c);
    if (t->ran.fetch_add(1) != 0) violation("conn_post fn on %#" PRIx64 " ran twice", c);
    // One load: the fn may run before the posting thread has stored conn_post's result (1 = not yet).
    int prc = t->rc.load();
    if (prc != IOCPNET_OK && prc != 1)
        violation("conn_post fn on %#" PRIx64 " ran although conn_post returned %s", c, rc_name(prc));
    if (r.busy.exchange(1) != 0) violation("conn_post fn on %#" PRIx64 " ran during one of its callbacks", c);
    int s = r.state.load();
    if (s == 2 || s == 3 || r.dead.load())
        violation("conn_post fn on %#" PRIx64 " ran after the connection's last callback began", c);
    x->n_conn_posts_run++;
    Origin &o = enter_engine(*x);
    Actor a{*x, o, o.rng, true, &r, "conn_post fn"};
    if (s == 1) random_actions(a, int(o.rng.below(2)));
    r.busy.store(0);
}

static void conn_post(Actor &a, ConnRec *r, uint64_t id) {
    uint32_t i = a.x.ncposts.fetch_add(1);
    if (i >= Ctx::kConnPosts) return;
    if (!r) {
        CallT ct("iocpnet_conn_post", id);
        expect(iocpnet_conn_post(a.x.port, id, conn_post_fn, nullptr), NF | (a.x.destroy_started.load() ? SD : 0),
               "iocpnet_conn_post", id, "dead, 0 or never-issued id");
        return;
    }
    ConnPostTok &t = a.x.cposts[i];
    t.rec = find(a.x, r->id);
    bool closing = known_closing(*r);
    int rc;
    {
        CallT ct("iocpnet_conn_post", r->id);
        rc = iocpnet_conn_post(a.x.port, r->id, conn_post_fn, &t);
    }
    t.rc = rc;
    expect(rc, (closing ? NF : (OK_ | NF)) | (a.x.destroy_started.load() ? SD | NF : 0), "iocpnet_conn_post", r->id,
           closing ? "closing connection" : "open connection");
    if (rc != IOCPNET_OK && t.ran.load()) violation("conn_post returned %s but its function ran", rc_name(rc));
}

// ------------------------------------------------------------- the action

void act_flow(Actor &a) {
    Ctx &x = a.x;
    Target t = a.self && a.rng.chance(40) ? Target{a.self->id, find(x, a.self->id), T_LIVE}
                                          : pick_target(x, a.rng, 85, a.rng.chance(30));
    x.n_flow++;
    uint32_t v = a.rng.below(100);
    if (t.kind != T_LIVE || !t.rec) {
        CallT ct("flow call", t.id);
        uint64_t q;
        if (v < 25) expect(iocpnet_pause_recv(x.port, t.id), NF, "iocpnet_pause_recv", t.id, "dead id");
        else if (v < 50) expect(iocpnet_resume_recv(x.port, t.id), NF, "iocpnet_resume_recv", t.id, "dead id");
        else if (v < 70) expect(iocpnet_conn_queued_bytes(x.port, t.id, &q), NF, "iocpnet_conn_queued_bytes", t.id, "dead id");
        else if (v < 80) expect(iocpnet_shutdown_write(x.port, t.id), NF, "iocpnet_shutdown_write", t.id, "dead id");
        else conn_post(a, nullptr, t.id);
        return;
    }
    ConnRec &r = *t.rec;
    if (r.cfg.load(std::memory_order_acquire) != 2) return;
    bool closing = known_closing(r);
    if (v < 30) {
        pause(a, r);
    } else if (v < 55) {
        int rc = resume(x, r);
        expect(rc, closing ? NF : (OK_ | NF), "iocpnet_resume_recv", r.id, closing ? "closing" : "open");
    } else if (v < 70) {
        uint64_t q = UINT64_MAX;
        int rc;
        {
            CallT ct("iocpnet_conn_queued_bytes", r.id);
            rc = a.rng.chance(5) ? iocpnet_conn_queued_bytes(x.port, r.id, nullptr)
                                 : iocpnet_conn_queued_bytes(x.port, r.id, &q);
        }
        expect(rc, OK_ | NF | INV, "iocpnet_conn_queued_bytes", r.id, "open or closing connection");
        if (rc == IOCPNET_OK && q > x.max_queue)
            violation("queued_bytes(%#" PRIx64 ") = %" PRIu64 " above max_send_queue_bytes %" PRIu64, r.id, q,
                      x.max_queue);
    } else if (v < 76 && r.mode == CHAOS) {
        r.wr_shut = true; // before the call: a send racing with it may already see it
        CallT ct("iocpnet_shutdown_write", r.id);
        expect(iocpnet_shutdown_write(x.port, r.id), closing ? NF : (OK_ | NF), "iocpnet_shutdown_write", r.id,
               "chaos connection");
    } else if (v >= 76) {
        conn_post(a, &r, r.id);
    }
}

// ------------------------------------------------------------- timers

static void IOCPNET_CALL timer_fn(void *arg, iocpnet_port *p, iocpnet_timer tm) {
    Ctx *x = g_ctx.load();
    CbT tr("timer fn", tm);
    if (!x || x->destroy_returned.load()) violation("a timer function ran after iocpnet_port_destroy returned");
    auto *t = static_cast<TimerTok *>(arg);
    if (t < x->timers.get() || t >= x->timers.get() + Ctx::kTimers)
        violation("a timer function ran with an argument of an earlier port");
    if (t->busy.exchange(1) != 0) violation("timer %#" PRIx64 " ran while it was running", tm);
    int n = ++t->runs;
    x->n_timer_runs++;
    // The engine's clock has milliseconds: allow one.
    int64_t waited_us = now_us() - t->start_us;
    if (n == 1 && waited_us + 1000 < int64_t(t->delay_ms) * 1000)
        violation("timer %#" PRIx64 " ran %" PRId64 " us after timer_start, its delay is %" PRIu64 " ms", tm, waited_us,
                  t->delay_ms);
    if (n > 1 && !t->repeat_ms) violation("one-shot timer %#" PRIx64 " ran %d times", tm, n);
    Origin &o = enter_engine(*x);
    if (t->resume) {
        if (auto r = find(*x, t->resume)) {
            int rc = resume(*x, *r);
            expect(rc, OK_ | NF, "iocpnet_resume_recv", r->id, "from a timer");
        }
    }
    if (t->stop_on_run && n == t->stop_on_run) {
        CallT ct("iocpnet_timer_stop", tm);
        expect(iocpnet_timer_stop(p, tm), OK_, "iocpnet_timer_stop", tm, "inside its own function");
    }
    Actor a{*x, o, o.rng, true, nullptr, "timer fn"};
    random_actions(a, int(o.rng.below(2)));
    t->busy.store(0);
}

void act_timer(Actor &a) {
    Ctx &x = a.x;
    uint32_t v = a.rng.below(100);
    uint32_t have = std::min(x.ntimers.load(), Ctx::kTimers);
    if (v < 40 && have) { // stop one
        TimerTok &t = x.timers[a.rng.below(have)];
        uint64_t id = t.id.load();
        CallT ct("iocpnet_timer_stop", id);
        int rc = iocpnet_timer_stop(x.port, id);
        expect(rc, OK_ | NF, "iocpnet_timer_stop", id, id ? "a timer of this port" : "id 0");
        return;
    }
    if (v < 45) {
        CallT ct("iocpnet_timer_start", 0);
        iocpnet_timer id;
        expect(iocpnet_timer_start(x.port, 1, 0, nullptr, nullptr, &id), INV, "iocpnet_timer_start", 0, "fn NULL");
        expect(iocpnet_timer_stop(x.port, garbage_id(a.rng)), NF, "iocpnet_timer_stop", 0, "never issued");
        return;
    }
    uint32_t i = x.ntimers.fetch_add(1);
    if (i >= Ctx::kTimers) return;
    TimerTok &t = x.timers[i];
    t.delay_ms = a.rng.chance(30) ? 0 : a.rng.below(40);
    t.repeat_ms = a.rng.chance(50) ? 0 : 1 + a.rng.below(20);
    t.stop_on_run = t.repeat_ms && a.rng.chance(50) ? int(1 + a.rng.below(5)) : 0;
    t.start_us = now_us();
    iocpnet_timer id = 0;
    int rc;
    {
        CallT ct("iocpnet_timer_start", 0);
        rc = iocpnet_timer_start(x.port, t.delay_ms, t.repeat_ms, timer_fn, &t, &id);
    }
    t.id = id;
    t.rc = rc;
    expect(rc, OK_ | (x.destroy_started.load() ? SD : 0), "iocpnet_timer_start", id, "valid timer");
}

// ------------------------------------------------------------- other sends

namespace {
struct Lent {
    static constexpr uint32_t kMagic = 0x1e7b0f5a;
    uint32_t magic = kMagic;
    std::string bytes;
};
void IOCPNET_CALL release(void *arg, const void *data) {
    auto *l = static_cast<Lent *>(arg);
    if (l->magic != Lent::kMagic) violation("send_owned: free_fn called twice, or with a foreign argument");
    if (data != l->bytes.data()) violation("send_owned: free_fn got another pointer than the one lent");
    Ctx *x = g_ctx.load();
    if (!x || x->destroy_returned.load()) violation("send_owned: free_fn called after destroy returned");
    l->magic = 0;
    delete l;
    x->owned_freed++;
}
} // namespace

int send_other_way(Actor &a, ConnRec &r, const std::string &m) {
    if (a.rng.chance(50)) {
        auto *l = new Lent;
        l->bytes = m;
        int rc;
        {
            CallT ct("iocpnet_send_owned", r.id);
            rc = iocpnet_send_owned(a.x.port, r.id, l->bytes.data(), l->bytes.size(), release, l);
        }
        if (rc == IOCPNET_OK) a.x.owned_lent++;
        else delete l; // not called on failure: ours again
        return rc;
    }
    iocpnet_buf parts[4];
    size_t n = 1 + a.rng.below(4), off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t take = i + 1 == n ? m.size() - off : a.rng.range(0, uint32_t(m.size() - off));
        parts[i] = iocpnet_buf{take || a.rng.chance(50) ? m.data() + off : nullptr, take};
        off += take;
    }
    CallT ct("iocpnet_sendv", r.id);
    return iocpnet_sendv(a.x.port, r.id, parts, n);
}

void flow_final_checks(Ctx &x) {
    uint32_t n = std::min(x.ncposts.load(), Ctx::kConnPosts);
    for (uint32_t i = 0; i < n; ++i) {
        ConnPostTok &t = x.cposts[i];
        if (!t.rec) continue;
        if (t.rc.load() == IOCPNET_OK && t.ran.load() != 1)
            violation("conn_post #%u on %#" PRIx64 " returned OK but its function ran %d times before destroy returned",
                      i, t.rec->id, t.ran.load());
    }
    if (x.owned_lent.load() != x.owned_freed.load())
        violation("send_owned: %" PRIu64 " buffers lent, %" PRIu64 " released when destroy returned",
                  x.owned_lent.load(), x.owned_freed.load());
}

} // namespace fuzz
