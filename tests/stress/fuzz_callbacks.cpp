// The API fuzzer's callbacks (declared in fuzz_model.hpp): the port's
// callbacks check each id's life (announced first, never overlapping, on_close
// exactly once and last, nothing after a close), feed on_data to the receiver
// and make random calls themselves; the log hook checks its arguments and
// calls back into the API.
#include "fuzz_model.hpp"

namespace fuzz {

// ------------------------------------------------------------- callbacks

static Ctx *ctx_of(void *user, int v, iocpnet_port *port, const char *cb) {
    Ctx *x = g_ctx.load();
    if (!x) violation("%s ran with no port alive (after iocpnet_port_destroy returned)", cb);
    if (user != &x->tags[v])
        violation("%s of callback set %d got user pointer %p, registered with it: %p", cb, v, user,
                  static_cast<void *>(&x->tags[v]));
    if (port != x->port) violation("%s got port %p, not %p", cb, static_cast<void *>(port), static_cast<void *>(x->port));
    if (x->destroy_returned.load()) violation("%s ran after iocpnet_port_destroy returned", cb);
    enter_engine(*x);
    return x;
}
namespace {
struct Busy {
    ConnRec &r;
    Busy(ConnRec &rr, const char *cb) : r(rr) {
        if (r.busy.exchange(1) != 0)
            violation("%s(%#" PRIx64 ") started while another callback of the same connection was running", cb, r.id);
    }
    ~Busy() { r.busy.store(0); }
};
} // namespace
static const char *state_name(int s) {
    static const char *const n[] = {"before on_accept/on_connect", "open", "after on_close began",
                                    "after a failed on_connect"};
    return s >= 0 && s < 4 ? n[s] : "?";
}
static void expect_open(ConnRec &r, const char *cb) {
    int s = r.state.load();
    if (s != 1) violation("%s(%#" PRIx64 ") %s", cb, r.id, state_name(s));
    if (r.close_ok_self.load())
        violation("%s(%#" PRIx64 ") after iocpnet_close returned OK inside one of its own callbacks (only on_close "
                  "may follow)",
                  cb, r.id);
    if (g_feat.strict_close && r.close_ok.load())
        violation("%s(%#" PRIx64 ") started after iocpnet_close returned OK on another thread (--strict-close: only "
                  "on_close may follow)",
                  cb, r.id);
}

static void h_accept(Ctx &x, iocpnet_port *, iocpnet_listener lid, iocpnet_conn c) {
    CbT tr("on_accept", c);
    if (c == 0) violation("on_accept with conn id 0 (listener %#" PRIx64 ")", lid);
    bool created;
    auto rp = get_or_create(x, c, &created);
    ConnRec &r = *rp;
    if (!created || r.from_connect.load())
        violation("on_accept(%#" PRIx64 "): id already known (%s)", c,
                  r.from_connect.load() ? "returned by iocpnet_connect" : "announced before");
    r.from_accept.store(true);
    Busy b(r, "on_accept");
    int s0 = 0;
    if (!r.state.compare_exchange_strong(s0, 1)) violation("on_accept(%#" PRIx64 ") %s", c, state_name(s0));
    r.n_accept++;
    x.n_accepts++;
    std::shared_ptr<ListenerRec> l;
    {
        std::lock_guard<std::mutex> lk(x.mu);
        auto it = x.lst_by_id.find(lid);
        if (it != x.lst_by_id.end()) l = it->second;
    }
    Origin &o = origin(x);
    r.listener = lid;
    r.client = false;
    r.raw_owner = int(o.rng.below(uint32_t(x.nthreads)));
    if (l) {
        r.mode = l->mode;
        r.framing = l->framing;
        r.max = l->max;
        r.idle = l->idle;
        r.target_port = l->port;
    } else {
        r.mode = MUTE;
        r.idle = UINT32_MAX; // unknown
    }
    r.cfg.store(2, std::memory_order_release);
    Actor a{x, o, o.rng, true, &r, "on_accept"};
    {
        void *u = reinterpret_cast<void *>(5);
        CallT ct("iocpnet_conn_get_user", c);
        expect(iocpnet_conn_get_user(x.port, c, &u), OK_, "iocpnet_conn_get_user", c, "inside on_accept");
        if (u) violation("on_accept(%#" PRIx64 "): the new connection's user pointer is %p, not NULL", c, u);
    }
    check_address(a, c, &r, true, true, "inside on_accept");
    check_address(a, c, &r, false, true, "inside on_accept");
    if (r.mode == VERIFIED) send_hello(a, r);
    add_live(x, r);
    random_actions(a, int(o.rng.below(3)));
}

static void h_connect_body(Ctx &x, iocpnet_port *, ConnRec &r, int status) {
    uint64_t c = r.id;
    int s0 = r.state.load();
    if (s0 != 0) violation("on_connect(%#" PRIx64 ", %s) %s", c, rc_name(status), state_name(s0));
    r.n_connect++;
    int close_ok = r.close_ok.load();
    if (!in_table(status) || status == IOCPNET_E_LAST_)
        violation("on_connect(%#" PRIx64 ") with status %d, not a code of the table", c, status);
    if (close_ok && g_feat.strict_close && status != IOCPNET_E_SHUTTING_DOWN)
        violation("on_connect(%#" PRIx64 ", %s) started after iocpnet_close returned OK on the connecting id "
                  "(--strict-close; the header: \"its on_connect comes with IOCPNET_E_SHUTTING_DOWN\")",
                  c, rc_name(status));
    if (status == IOCPNET_E_SHUTTING_DOWN && !r.close_calls.load() && !x.destroy_started.load())
        violation("on_connect(%#" PRIx64 ", SHUTTING_DOWN) with no close and no destroy", c);
    if (status == IOCPNET_E_TIMEOUT && r.connect_to == 0)
        violation("on_connect(%#" PRIx64 ", TIMEOUT) without a connect timeout", c);
    r.connect_status = status;
    r.connect_cb_destroy = x.destroy_started.load() ? 1 : 0;
    Origin &o = origin(x);
    Actor a{x, o, o.rng, true, &r, "on_connect"};
    if (status == IOCPNET_OK) {
        r.state.store(1);
        x.n_connect_ok++;
        check_user(a, c, &r, true, "inside on_connect(OK)");
        check_address(a, c, &r, true, true, "inside on_connect(OK)");
        check_address(a, c, &r, false, true, "inside on_connect(OK)");
        random_actions(a, int(o.rng.below(3)));
        return;
    }
    set_final_state(x, r, 3);
    x.n_connect_fail++;
    check_user(a, c, &r, true, "inside a failed on_connect (works until it returns)");
    {
        CallT ct("iocpnet_send", c);
        expect(iocpnet_send(x.port, c, "x", 1), NF, "iocpnet_send", c, "inside a failed on_connect");
        expect(iocpnet_conn_set_user(x.port, c, user_value(c, 1)), NF, "iocpnet_conn_set_user", c,
               "inside a failed on_connect");
    }
    random_actions(a, int(o.rng.below(2)));
}

static void h_connect(Ctx &x, iocpnet_port *p, iocpnet_conn c, int status) {
    CbT tr("on_connect", c);
    bool created;
    auto rp = get_or_create(x, c, &created);
    ConnRec &r = *rp;
    if (r.from_accept.load()) violation("on_connect(%#" PRIx64 ") for an id announced by on_accept", c);
    ensure_configured(r);
    {
        Busy b(r, "on_connect");
        h_connect_body(x, p, r, status);
    }
    if (status != IOCPNET_OK) origin(x).dying.push_back(rp);
}

static void h_data(Ctx &x, iocpnet_port *, iocpnet_conn c, const uint8_t *d, size_t n) {
    CbT tr("on_data", c);
    auto rp = find(x, c);
    if (!rp) violation("on_data(%#" PRIx64 ", %zu bytes) for an id never announced", c, n);
    ConnRec &r = *rp;
    ensure_configured(r);
    Busy b(r, "on_data");
    expect_open(r, "on_data");
    if (r.framing_error) violation("on_data(%#" PRIx64 ") after on_framing_error (the engine stops reading)", c);
    check_not_paused(r);
    receive(x, r, d, n);
    Origin &o = origin(x);
    Actor a{x, o, o.rng, true, &r, "on_data"};
    random_actions(a, int(o.rng.below(3)));
}

static void h_drain(Ctx &x, iocpnet_port *, iocpnet_conn c) {
    CbT tr("on_drain", c);
    auto rp = find(x, c);
    if (!rp) violation("on_drain(%#" PRIx64 ") for an id never announced", c);
    ConnRec &r = *rp;
    ensure_configured(r);
    Busy b(r, "on_drain");
    expect_open(r, "on_drain");
    r.drains++;
    x.n_drains++;
    Origin &o = origin(x);
    Actor a{x, o, o.rng, true, &r, "on_drain"};
    if (data_ok(a, r)) send_data(a, r);
    random_actions(a, int(o.rng.below(2)));
}

static void h_framing_error(Ctx &x, iocpnet_port *, iocpnet_conn c, int err) {
    CbT tr("on_framing_error", c);
    auto rp = find(x, c);
    if (!rp) violation("on_framing_error(%#" PRIx64 ") for an id never announced", c);
    ConnRec &r = *rp;
    ensure_configured(r);
    Busy b(r, "on_framing_error");
    expect_open(r, "on_framing_error");
    if (err != IOCPNET_E_MESSAGE_TOO_LARGE)
        violation("on_framing_error(%#" PRIx64 ") with %s, documented: MESSAGE_TOO_LARGE", c, rc_name(err));
    if (r.framing == IOCPNET_FRAMING_RAW) violation("on_framing_error(%#" PRIx64 ") on a RAW connection", c);
    if (r.framing_error) violation("on_framing_error(%#" PRIx64 ") twice", c);
    r.framing_error = true;
    x.n_framing++;
    Origin &o = origin(x);
    Actor a{x, o, o.rng, true, &r, "on_framing_error"};
    if (data_ok(a, r) && o.rng.chance(50)) send_data(a, r, true); // "a last reply may be sent"
    random_actions(a, int(o.rng.below(2)));
}

static void h_close(Ctx &x, iocpnet_port *, iocpnet_conn c, int reason) {
    CbT tr("on_close", c);
    auto rp = find(x, c);
    if (!rp && !g_feat.unannounced) {
        bool created;
        rp = get_or_create(x, c, &created);
        rp->tolerated = true;
        rp->from_accept = true;
        rp->n_close++;
        x.n_tolerated++;
        origin(x).dying.push_back(rp);
        return;
    }
    if (!rp)
        violation("on_close(%#" PRIx64 ", %s) for an id never announced (no on_accept; destroy %s)", c,
                  rc_name(reason), x.destroy_started.load() ? "running" : "not started");
    ConnRec &r = *rp;
    ensure_configured(r);
    {
        Busy b(r, "on_close");
        int s0 = r.state.load();
        if (s0 != 1)
            violation("on_close(%#" PRIx64 ", %s) %s%s", c, rc_name(reason), state_name(s0),
                      s0 == 0 ? (r.from_connect.load() ? " (connect side, before on_connect)"
                                                       : " (accept side: no on_accept)")
                              : "");
        set_final_state(x, r, 2);
        r.n_close++;
        r.close_reason = reason;
        x.n_closes++;
        int close_ok = r.close_ok.load();
        bool destroying = x.destroy_started.load();
        bool documented = reason == IOCPNET_OK || reason == IOCPNET_E_PEER_CLOSED ||
                          reason == IOCPNET_E_CONN_RESET || reason == IOCPNET_E_TIMEOUT ||
                          reason == IOCPNET_E_MESSAGE_TOO_LARGE;
        if (!documented)
            violation("on_close(%#" PRIx64 ") with reason %s (%d), documented: OK, PEER_CLOSED, CONN_RESET, TIMEOUT, "
                      "MESSAGE_TOO_LARGE",
                      c, rc_name(reason), reason);
        if (reason == IOCPNET_E_TIMEOUT) {
            x.n_timeouts++;
            if (r.idle == 0)
                violation("on_close(%#" PRIx64 ", TIMEOUT) on a connection without an idle timeout (%s side)", c,
                          r.client ? "connect" : "accept");
        }
        if (reason == IOCPNET_E_MESSAGE_TOO_LARGE && !r.framing_error)
            violation("on_close(%#" PRIx64 ", MESSAGE_TOO_LARGE) without on_framing_error", c);
        if (close_ok && reason != IOCPNET_OK && !(r.framing_error && reason == IOCPNET_E_MESSAGE_TOO_LARGE))
            violation("on_close(%#" PRIx64 ", %s) after iocpnet_close returned OK (documented: reason IOCPNET_OK)", c,
                      rc_name(reason));
        if (r.framing_error && !r.close_calls.load() && !destroying && reason != IOCPNET_E_MESSAGE_TOO_LARGE)
            violation("on_close(%#" PRIx64 ", %s) after on_framing_error (documented: \"on_close follows with err as "
                      "its reason\")",
                      c, rc_name(reason));
        Origin &o = origin(x);
        Actor a{x, o, o.rng, true, &r, "on_close"};
        check_user(a, c, &r, true, "inside on_close (works until it returns)");
        check_address(a, c, &r, true, true, "inside on_close (works until it returns)");
        check_address(a, c, &r, false, true, "inside on_close (works until it returns)");
        {
            CallT ct("iocpnet_send", c);
            expect(iocpnet_send(x.port, c, "", 0), NF, "iocpnet_send", c, "inside its own on_close");
            expect(iocpnet_conn_set_user(x.port, c, user_value(c, 2)), NF, "iocpnet_conn_set_user", c,
                   "inside its own on_close");
            expect(iocpnet_close(x.port, c, IOCPNET_CLOSE_ABORT), NF, "iocpnet_close", c, "inside its own on_close");
        }
        Actor other{x, o, o.rng, true, nullptr, "on_close"};
        random_actions(other, int(o.rng.below(3)));
    }
    origin(x).dying.push_back(rp);
}

namespace {
template <int V> struct Cbs {
    static void IOCPNET_CALL accept(void *u, iocpnet_port *p, iocpnet_listener l, iocpnet_conn c) {
        h_accept(*ctx_of(u, V, p, "on_accept"), p, l, c);
    }
    static void IOCPNET_CALL connect(void *u, iocpnet_port *p, iocpnet_conn c, int st) {
        h_connect(*ctx_of(u, V, p, "on_connect"), p, c, st);
    }
    static void IOCPNET_CALL data(void *u, iocpnet_port *p, iocpnet_conn c, const uint8_t *d, size_t n) {
        h_data(*ctx_of(u, V, p, "on_data"), p, c, d, n);
    }
    static void IOCPNET_CALL drain(void *u, iocpnet_port *p, iocpnet_conn c) {
        h_drain(*ctx_of(u, V, p, "on_drain"), p, c);
    }
    static void IOCPNET_CALL close(void *u, iocpnet_port *p, iocpnet_conn c, int reason) {
        h_close(*ctx_of(u, V, p, "on_close"), p, c, reason);
    }
    static void IOCPNET_CALL framing(void *u, iocpnet_port *p, iocpnet_conn c, int err) {
        h_framing_error(*ctx_of(u, V, p, "on_framing_error"), p, c, err);
    }
    static iocpnet_callbacks get() {
        iocpnet_callbacks cb;
        memset(&cb, 0, sizeof cb);
        cb.struct_size = sizeof cb;
        cb.on_accept = accept;
        cb.on_connect = connect;
        cb.on_data = data;
        cb.on_drain = drain;
        cb.on_close = close;
        cb.on_framing_error = framing;
        return cb;
    }
};
} // namespace
iocpnet_callbacks callback_set(int v) { return v == 0 ? Cbs<0>::get() : Cbs<1>::get(); }

// ------------------------------------------------------------- log hook

HookState g_hook;

void IOCPNET_CALL log_hook(void *user, uint32_t level, const char *msg) {
    CbT tr("log hook", 0);
    if (user != &g_hook) violation("the log hook got user pointer %p, not %p", user, static_cast<void *>(&g_hook));
    if (level > IOCPNET_LOG_DEBUG) violation("the log hook got level %u", level);
    if (!msg) violation("the log hook got a NULL message");
    thread_local Rng rng(std::hash<std::thread::id>()(std::this_thread::get_id()) ^ 0x1234);
    Ctx *x = g_ctx.load();
    if (x) x->n_hook++;
    int mode = g_hook.mode.load();
    if ((mode & 1) && rng.chance(25)) {
        CallT ct("iocpnet_set_log(from the hook)", 0);
        expect(iocpnet_set_log(IOCPNET_LOG_DEBUG, log_hook, &g_hook), OK_, "iocpnet_set_log", 0,
               "from inside the log hook");
    }
    iocpnet_port *port = g_hook.port.load();
    if (!(mode & 2) || !port) return;
    int found = 0;
    for (const char *p = msg; *p && found < 3;) {
        if (*p < '0' || *p > '9') {
            ++p;
            continue;
        }
        uint64_t id = 0;
        while (*p >= '0' && *p <= '9') id = id * 10 + uint64_t(*p++ - '0');
        found++;
        void *u = nullptr;
        CallT ct("iocpnet_conn_get_user(from the hook)", id);
        int rc = iocpnet_conn_get_user(port, id, &u);
        expect(rc, OK_ | NF, "iocpnet_conn_get_user", id, "from inside the log hook, an id it saw");
        if (rc == IOCPNET_OK && !user_ok(id, u))
            violation("get_user(%#" PRIx64 ") from the hook = %p, never set on this id", id, u);
    }
}

} // namespace fuzz
