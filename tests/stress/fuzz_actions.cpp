// The API fuzzer's remaining calls and its action table (declared in
// fuzz_model.hpp): iocpnet_post and the posted function, user pointers,
// addresses with odd buffers, get_stats with odd struct sizes, set_log,
// set_callbacks, destroy where it must fail; the weights of the fuzz threads'
// and the callbacks' actions and the dispatch.
#include "fuzz_model.hpp"

namespace fuzz {

// ------------------------------------------------------------- posts

static void IOCPNET_CALL post_fn(void *arg);

static void act_post(Actor &a) {
    Ctx &x = a.x;
    uint32_t v = a.rng.below(100);
    if (v < 4) {
        CallT ct("iocpnet_post", 0);
        expect(iocpnet_post(v < 2 ? nullptr : x.port, v < 2 ? post_fn : nullptr, nullptr), INV, "iocpnet_post", 0,
               "port or fn NULL");
        return;
    }
    uint32_t i = x.nposts.fetch_add(1);
    if (i >= Ctx::kPosts) return;
    PostTok &t = x.posts[i];
    int rc;
    {
        CallT ct("iocpnet_post", i);
        rc = iocpnet_post(x.port, post_fn, &t);
    }
    bool destroying = x.destroy_started.load();
    t.rc.store(rc);
    expect(rc, OK_ | (destroying ? SD : 0), "iocpnet_post", i, "valid post");
    if (rc == IOCPNET_E_SHUTTING_DOWN && t.ran.load())
        violation("post #%u returned SHUTTING_DOWN but its function ran", i);
}

static void IOCPNET_CALL post_fn(void *arg) {
    Ctx *x = g_ctx.load();
    CbT tr("posted fn", 0);
    if (!x) violation("a posted function ran with no port alive (after destroy returned)");
    auto *t = static_cast<PostTok *>(arg);
    if (t < x->posts.get() || t >= x->posts.get() + Ctx::kPosts)
        violation("a posted function ran with an argument of an earlier port (after its destroy returned?)");
    if (x->destroy_returned.load()) violation("a posted function ran after iocpnet_port_destroy returned");
    if (t->ran.fetch_add(1) != 0) violation("posted function #%td ran twice", t - x->posts.get());
    if (t->rc.load() == IOCPNET_E_SHUTTING_DOWN)
        violation("posted function #%td ran although its post returned SHUTTING_DOWN", t - x->posts.get());
    x->n_posts_run++;
    Origin &o = enter_engine(*x);
    Actor a{*x, o, o.rng, true, nullptr, "posted fn"};
    if (o.rng.chance(10)) {
        CallT ct("iocpnet_port_destroy", 0);
        expect(iocpnet_port_destroy(x->port), INCB, "iocpnet_port_destroy", 0, "from a posted function");
    }
    random_actions(a, int(o.rng.below(3)));
}

// ------------------------------------------------------------- misc calls

void check_address(Actor &a, uint64_t id, ConnRec *r, bool peer, bool must_work, const char *why) {
    char buf[80];
    memset(buf, 0xA5, sizeof buf);
    static const size_t sizes[] = {0, 1, 2, 8, 11, 15, 16, 22, 64, 80};
    size_t n = must_work ? 64 : sizes[a.rng.below(10)];
    bool nullbuf = !must_work && a.rng.chance(8);
    bool dead = !r || r->dead.load();
    int rc;
    {
        CallT ct(peer ? "iocpnet_conn_peer_address" : "iocpnet_conn_local_address", id);
        rc = peer ? iocpnet_conn_peer_address(a.x.port, id, nullbuf ? nullptr : buf, n)
                  : iocpnet_conn_local_address(a.x.port, id, nullbuf ? nullptr : buf, n);
    }
    const char *fn = peer ? "iocpnet_conn_peer_address" : "iocpnet_conn_local_address";
    uint32_t allowed = (nullbuf || n == 0) ? (INV | NF | LIM) : dead ? NF : must_work ? OK_ : (OK_ | NF | LIM | SYS);
    if (!g_feat.addr && allowed != NF) allowed |= SYS;
    expect(rc, allowed, fn, id, nullbuf ? "buf NULL" : n == 0 ? "buflen 0" : why);
    size_t from = nullbuf ? 0 : n;
    for (size_t i = from; i < sizeof buf; ++i)
        if (uint8_t(buf[i]) != 0xA5) violation("%s(%#" PRIx64 ", buflen %zu) wrote byte %zu", fn, id, n, i);
    if (rc == IOCPNET_OK) {
        size_t len = strnlen(buf, n);
        if (len >= n) violation("%s(%#" PRIx64 ") returned OK without a NUL within buflen %zu", fn, id, n);
        unsigned port = 0;
        char tail = 0;
        if (g_feat.addr && (strncmp(buf, "127.0.0.1:", 10) != 0 || sscanf(buf + 10, "%u%c", &port, &tail) != 1 ||
                            port == 0 || port > 65535))
            violation("%s(%#" PRIx64 ") = \"%s\", not 127.0.0.1:<port>", fn, id, buf);
        if (r && must_work) {
            char *dst = peer ? r->remote : r->local;
            if (!dst[0]) memcpy(dst, buf, len + 1);
            else if (strcmp(dst, buf) != 0)
                violation("%s(%#" PRIx64 ") changed from \"%s\" to \"%s\"", fn, id, dst, buf);
        }
    }
}

void check_user(Actor &a, uint64_t id, ConnRec *r, bool must_work, const char *why) {
    void *u = reinterpret_cast<void *>(3);
    bool dead = !r || r->dead.load();
    int rc;
    {
        CallT ct("iocpnet_conn_get_user", id);
        rc = iocpnet_conn_get_user(a.x.port, id, &u);
    }
    expect(rc, dead ? NF : must_work ? OK_ : (OK_ | NF), "iocpnet_conn_get_user", id, why);
    if (rc == IOCPNET_OK && !user_ok(id, u))
        violation("iocpnet_conn_get_user(%#" PRIx64 ") = %p, a pointer never set on this id", id, u);
}

static void act_user(Actor &a) {
    Target t = pick_target(a.x, a.rng, 85);
    ConnRec *r = t.rec.get();
    uint32_t v = a.rng.below(100);
    if (v < 45) {
        bool closing = !r || known_closing(*r);
        CallT ct("iocpnet_conn_set_user", t.id);
        int rc = iocpnet_conn_set_user(a.x.port, t.id, user_value(t.id, a.rng.range(1, 255)));
        expect(rc, closing ? NF : (OK_ | NF), "iocpnet_conn_set_user", t.id,
               closing ? "closing, dead, 0 or never issued" : "open connection");
    } else if (v < 95) {
        check_user(a, t.id, r, false, "any id");
    } else {
        CallT ct("iocpnet_conn_get_user", t.id);
        expect(iocpnet_conn_get_user(a.x.port, t.id, nullptr), INV | NF, "iocpnet_conn_get_user", t.id, "out NULL");
        expect(iocpnet_conn_set_user(nullptr, t.id, nullptr), INV, "iocpnet_conn_set_user", t.id, "port NULL");
    }
}

static void act_addr(Actor &a) {
    Target t = pick_target(a.x, a.rng, 85);
    check_address(a, t.id, t.rec.get(), a.rng.chance(50), false, "any id, any buffer");
}

static void act_stats(Actor &a) {
    alignas(8) unsigned char raw[sizeof(iocpnet_stats) + 64];
    memset(raw, 0xA5, sizeof raw);
    static const uint32_t sizes[] = {0, 4, 7, 8, 12, 16, 24, 40, 48, 56, uint32_t(sizeof(iocpnet_stats)),
                                     uint32_t(sizeof(iocpnet_stats) + 16), uint32_t(sizeof(iocpnet_stats) + 64)};
    uint32_t sz = a.rng.chance(50) ? uint32_t(sizeof(iocpnet_stats)) : sizes[a.rng.below(13)];
    memcpy(raw, &sz, 4);
    int rc;
    {
        CallT ct("iocpnet_get_stats", sz);
        rc = iocpnet_get_stats(a.x.port, reinterpret_cast<iocpnet_stats *>(raw));
    }
    expect(rc, sz < 8 ? INV : OK_, "iocpnet_get_stats", sz, sz < 8 ? "struct_size below 8" : "struct_size >= 8");
    uint32_t after;
    memcpy(&after, raw, 4);
    if (after != sz) violation("iocpnet_get_stats changed struct_size from %u to %u", sz, after);
    size_t limit = rc == IOCPNET_OK ? sz : 4;
    for (size_t i = limit; i < sizeof raw; ++i)
        if (raw[i] != 0xA5) violation("iocpnet_get_stats (struct_size %u) wrote byte %zu", sz, i);
    if (rc != IOCPNET_OK) return;
    uint32_t backend;
    memcpy(&backend, raw + 4, 4);
    if (backend == IOCPNET_BACKEND_AUTO || (a.x.expect_backend && backend != a.x.expect_backend))
        violation("iocpnet_get_stats: backend %u, expected %u", backend, a.x.expect_backend);
    static const size_t offs[5] = {offsetof(iocpnet_stats, connections_accepted),
                                   offsetof(iocpnet_stats, connections_connected),
                                   offsetof(iocpnet_stats, connections_closed), offsetof(iocpnet_stats, bytes_received),
                                   offsetof(iocpnet_stats, bytes_sent)};
    static const char *const names[5] = {"connections_accepted", "connections_connected", "connections_closed",
                                         "bytes_received", "bytes_sent"};
    for (int i = 0; i < 5; ++i) {
        if (offs[i] + 8 > sz) continue;
        uint64_t val;
        memcpy(&val, raw + offs[i], 8);
        if (val < a.o.stats_last[i])
            violation("iocpnet_get_stats: %s went down from %" PRIu64 " to %" PRIu64, names[i], a.o.stats_last[i],
                      val);
        a.o.stats_last[i] = val;
    }
}

static void act_set_log(Actor &a) {
    uint32_t v = a.rng.below(100);
    CallT ct("iocpnet_set_log", 0);
    if (v < 30) {
        expect(iocpnet_set_log(4 + a.rng.below(100), log_hook, &g_hook), INV, "iocpnet_set_log", 0, "level > DEBUG");
    } else if (v < 40) {
        expect(iocpnet_set_log(a.rng.below(4), nullptr, nullptr), OK_, "iocpnet_set_log", 0, "hook off");
    } else if (a.x.hook_mode >= 0) {
        expect(iocpnet_set_log(a.rng.below(4), log_hook, &g_hook), OK_, "iocpnet_set_log", 0, "the hook");
    }
}

static void act_setcb(Actor &a) {
    Ctx &x = a.x;
    int v = int(a.rng.below(2));
    CallT ct("iocpnet_set_callbacks", v);
    if (a.rng.chance(10)) {
        iocpnet_callbacks bad = x.cbs[v];
        bad.struct_size = a.rng.below(8);
        expect(iocpnet_set_callbacks(x.port, &bad, &x.tags[v]), INV, "iocpnet_set_callbacks", 0,
               "struct_size below 8");
        expect(iocpnet_set_callbacks(nullptr, &x.cbs[v], &x.tags[v]), INV, "iocpnet_set_callbacks", 0, "port NULL");
        return;
    }
    expect(iocpnet_set_callbacks(x.port, &x.cbs[v], &x.tags[v]), OK_, "iocpnet_set_callbacks", v, "an equivalent set");
}

static void act_destroy(Actor &a) {
    CallT ct("iocpnet_port_destroy", 0);
    if (a.in_cb) {
        expect(iocpnet_port_destroy(a.x.port), INCB, "iocpnet_port_destroy", 0, "own port, from a worker thread");
    } else {
        expect(iocpnet_port_destroy(nullptr), INV, "iocpnet_port_destroy", 0, "NULL");
    }
}

// ------------------------------------------------------------- dispatch

//                         SEND SELF MANY CONN CLOSE CSELF LIST UNL LPORT POST USER ADDR STAT SETCB LOG DESTR SLEEP FLOW TIMER
const int kThreadW[A_N] = {300, 0, 60, 70, 40, 0, 12, 12, 12, 50, 50, 30, 20, 10, 5, 3, 120, 60, 20};
static const int kCbW[A_N] = {100, 150, 25, 25, 15, 20, 6, 6, 4, 40, 20, 15, 8, 4, 2, 6, 0, 40, 10};

void do_action(Actor &a, Act act) {
    a.x.n_calls++;
    switch (act) {
    case A_SEND: act_send(a); break;
    case A_SEND_SELF:
        if (a.self && a.self->state.load() == 1) act_send(a, a.self);
        break;
    case A_SEND_MANY: act_send_many(a); break;
    case A_CONNECT: act_connect(a); break;
    case A_CLOSE: act_close(a); break;
    case A_CLOSE_SELF:
        if (a.self && a.self->state.load() == 1) act_close(a, a.self);
        break;
    case A_LISTEN:
        if (!a.in_cb || g_feat.cb_listen) act_listen(a);
        break;
    case A_UNLISTEN:
        if (!a.in_cb || g_feat.cb_listen) act_unlisten(a);
        break;
    case A_LPORT: act_listener_port(a); break;
    case A_POST: act_post(a); break;
    case A_USER: act_user(a); break;
    case A_ADDR: act_addr(a); break;
    case A_STATS: act_stats(a); break;
    case A_SETCB: act_setcb(a); break;
    case A_SETLOG: act_set_log(a); break;
    case A_DESTROY: act_destroy(a); break;
    case A_SLEEP: sleep_us(a.rng.below(400)); break;
    case A_FLOW: act_flow(a); break;
    case A_TIMER: act_timer(a); break;
    case A_N: break;
    }
}
Act pick_act(Rng &rng, const int *w) {
    int total = 0;
    for (int i = 0; i < A_N; ++i) total += w[i];
    int v = int(rng.below(uint32_t(total)));
    for (int i = 0; i < A_N; ++i) {
        if (v < w[i]) return Act(i);
        v -= w[i];
    }
    return A_SLEEP;
}
void random_actions(Actor &a, int n) {
    for (int i = 0; i < n; ++i) do_action(a, pick_act(a.rng, kCbW));
}

} // namespace fuzz
