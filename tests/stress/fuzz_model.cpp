// The API fuzzer's model (declared in fuzz_model.hpp): names, each thread's
// sender identity, the registry of connection ids (live, stale) and
// listeners, picking call targets, and the checks made once destroy returned.
#include "fuzz_model.hpp"

namespace fuzz {

// ------------------------------------------------------------ the model

const char *mode_name(int m) {
    static const char *const n[] = {"verified", "chaos", "probe", "mute"};
    return m >= 0 && m < 4 ? n[m] : "?";
}
const char *framing_name(uint32_t f) {
    static const char *const n[] = {"RAW", "LENGTH_PREFIX", "LINE"};
    return f < 3 ? n[f] : "unknown";
}
Features g_feat;
bool g_verbose = false;
std::atomic<Ctx *> g_ctx{nullptr};

static thread_local Origin t_origin;
Origin &origin(Ctx &x) {
    if (t_origin.tag != x.tag) {
        t_origin.tag = x.tag;
        t_origin.id = x.next_origin.fetch_add(1);
        t_origin.fuzz = -1;
        t_origin.rng = Rng(mix(x.seed, t_origin.id));
        t_origin.next.clear();
        t_origin.dying.clear();
        memset(t_origin.stats_last, 0, sizeof t_origin.stats_last);
    }
    return t_origin;
}

// ------------------------------------------------------------- registry

std::shared_ptr<ConnRec> find(Ctx &x, uint64_t id) {
    std::lock_guard<std::mutex> lk(x.mu);
    auto it = x.conns.find(id);
    return it == x.conns.end() ? nullptr : it->second;
}
std::shared_ptr<ConnRec> get_or_create(Ctx &x, uint64_t id, bool *created) {
    std::lock_guard<std::mutex> lk(x.mu);
    auto &p = x.conns[id];
    *created = !p;
    if (!p) p = std::make_shared<ConnRec>(id);
    return p;
}
void add_live(Ctx &x, ConnRec &r) {
    std::lock_guard<std::mutex> lk(x.mu);
    if (r.state.load() < 2 && !r.listed) {
        r.listed = true;
        x.live.push_back(r.id);
    }
}
void set_final_state(Ctx &x, ConnRec &r, int st) { // 2 or 3, and off the live list
    std::lock_guard<std::mutex> lk(x.mu);
    r.state.store(st);
    if (r.listed) {
        r.listed = false;
        auto it = std::find(x.live.begin(), x.live.end(), r.id);
        if (it != x.live.end()) {
            *it = x.live.back();
            x.live.pop_back();
        }
    }
}
static void mark_dead(Ctx &x, ConnRec &r) {
    std::lock_guard<std::mutex> lk(x.mu);
    r.dead.store(true);
    x.stale.push_back(r.id);
}
Origin &enter_engine(Ctx &x) {
    Origin &o = origin(x);
    for (auto &r : o.dying) mark_dead(x, *r);
    o.dying.clear();
    return o;
}

size_t live_count(Ctx &x) {
    std::lock_guard<std::mutex> lk(x.mu);
    return x.live.size();
}

uint64_t garbage_id(Rng &r) { return r.chance(10) ? UINT64_MAX : ((1ull << 63) | r.next()); }
Target pick_target(Ctx &x, Rng &rng, unsigned live_pct, bool hot) {
    Target t;
    unsigned v = rng.below(100);
    std::lock_guard<std::mutex> lk(x.mu);
    if (v < live_pct && !x.live.empty()) {
        uint32_t n = uint32_t(x.live.size());
        t.id = x.live[hot && rng.chance(40) ? rng.below(std::min<uint32_t>(n, 3)) : rng.below(n)];
        t.kind = T_LIVE;
    } else if (v < live_pct + (100 - live_pct) / 2 && !x.stale.empty()) {
        t.id = x.stale[rng.below(uint32_t(x.stale.size()))];
        t.kind = T_STALE;
    } else if (rng.chance(50)) {
        t.kind = T_ZERO;
        return t;
    } else {
        t.id = garbage_id(rng);
        t.kind = T_GARBAGE;
        return t;
    }
    t.rec = x.conns[t.id];
    return t;
}
std::shared_ptr<ListenerRec> pick_listener(Ctx &x, Rng &rng, bool live_only, int mode) {
    std::lock_guard<std::mutex> lk(x.mu);
    std::vector<std::shared_ptr<ListenerRec>> c;
    for (auto &l : x.listeners)
        if ((!live_only || l->unlisten_ok.load() == 0) && (mode < 0 || l->mode == mode)) c.push_back(l);
    return c.empty() ? nullptr : c[rng.below(uint32_t(c.size()))];
}
size_t live_listeners(Ctx &x) {
    std::lock_guard<std::mutex> lk(x.mu);
    size_t n = 0;
    for (auto &l : x.listeners) n += l->unlisten_ok.load() == 0;
    return n;
}

bool known_closing(const ConnRec &r) { return r.state.load() >= 2 || r.close_ok.load() > 0 || r.dead.load(); }

void *user_value(uint64_t id, unsigned k) { return reinterpret_cast<void *>(uintptr_t(mix(id, 77) ^ (k & 0xff))); }
bool user_ok(uint64_t id, void *u) { return !u || ((uintptr_t(u) ^ uintptr_t(mix(id, 77))) >> 8) == 0; }

// ---------------------------------------------------- after destroy returned

void final_checks(Ctx &x) {
    std::lock_guard<std::mutex> lk(x.mu);
    for (auto &kv : x.conns) {
        ConnRec &r = *kv.second;
        uint64_t c = r.id;
        if (r.tolerated) continue;
        bool fc = r.from_connect.load(), fa = r.from_accept.load();
        if (!fc && !fa) violation("on_connect(%#" PRIx64 ") for an id iocpnet_connect never returned", c);
        if (fa && r.n_close.load() != 1)
            violation("accepted conn %#" PRIx64 " (%s; close calls %d, OK %d): on_close fired %d times before destroy "
                      "returned",
                      c, mode_name(r.mode), r.close_calls.load(), r.close_ok.load(), r.n_close.load());
        if (fc) {
            if (r.n_connect.load() != 1)
                violation("conn %#" PRIx64 " returned by iocpnet_connect: on_connect fired %d times (destroy returned)",
                          c, r.n_connect.load());
            int want = r.connect_status == IOCPNET_OK ? 1 : 0;
            if (r.n_close.load() != want)
                violation("conn %#" PRIx64 " (%s, on_connect %s %s destroy began; close calls %d, OK %d): on_close "
                          "fired %d times before destroy returned, expected %d",
                          c, mode_name(r.mode), rc_name(r.connect_status),
                          r.connect_cb_destroy == 1 ? "after" : "before", r.close_calls.load(), r.close_ok.load(),
                          r.n_close.load(), want);
        }
        if (r.drains.load() > r.wouldblocks.load())
            violation("conn %#" PRIx64 ": %u on_drain but only %u WOULD_BLOCK", c, r.drains.load(),
                      r.wouldblocks.load());
        if (r.mode == VERIFIED && !r.bad_first.empty()) {
            uint16_t port = r.target_port;
            auto it = x.port_uses.find(port);
            if (it != x.port_uses.end() && it->second >= 2) {
                x.n_excused++; // two listeners of this run had this port: the peer may be a stranger
            } else {
                violation("conn %#" PRIx64 " (%s %s, %s side, listener %#" PRIx64 " port %u): %s", c,
                          mode_name(r.mode), framing_name(r.framing), r.client ? "connect" : "accept", r.listener,
                          unsigned(port), r.bad_first.c_str());
            }
        }
        if (fa && !x.lst_by_id.count(r.listener))
            violation("on_accept(%#" PRIx64 ") named listener %#" PRIx64 ", never returned by iocpnet_listen", c,
                      r.listener);
        if (r.mode == VERIFIED && r.got_hello && !r.recv_bad) {
            auto pit = x.conns.find(r.peer);
            if (pit == x.conns.end())
                violation("conn %#" PRIx64 ": the peer's hello named conn %#" PRIx64 ", not an id of this port", c,
                          r.peer);
            ConnRec &p = *pit->second;
            if (p.got_hello && !p.recv_bad && p.peer != c)
                violation("conns %#" PRIx64 " and %#" PRIx64 " disagree on their pairing (%#" PRIx64 ")", c, r.peer,
                          p.peer);
            if (r.remote[0] && p.local[0] && strcmp(r.remote, p.local) != 0)
                violation("conn %#" PRIx64 " peer address %s != its peer %#" PRIx64 "'s local address %s", c,
                          r.remote, p.id, p.local);
            if (r.framing_error && p.max_sent.load() <= r.max)
                violation("conn %#" PRIx64 " (%s, max %u): on_framing_error although its peer %#" PRIx64
                          " never queued a message longer than %" PRIu64,
                          c, framing_name(r.framing), r.max, p.id, p.max_sent.load());
        }
    }
    uint32_t n = std::min(x.nposts.load(), Ctx::kPosts);
    for (uint32_t i = 0; i < n; ++i) {
        int rc = x.posts[i].rc.load(), ran = x.posts[i].ran.load();
        if (rc == IOCPNET_OK && ran != 1)
            violation("post #%u returned OK but its function ran %d times before destroy returned", i, ran);
        if (rc != IOCPNET_OK && ran != 0) violation("post #%u returned %s but its function ran", i, rc_name(rc));
    }
    flow_final_checks(x);
}

void dump_state(FILE *f) {
    Ctx *x = g_ctx.load();
    if (!x) return;
    std::unique_lock<std::mutex> lk(x->mu, std::try_to_lock);
    if (!lk.owns_lock()) {
        fprintf(f, "    (model busy: no state dump)\n");
        return;
    }
    fprintf(f, "    model: destroy %s; posts %u made; listeners:\n",
            x->destroy_returned ? "returned" : x->destroy_started ? "running" : "not started", x->nposts.load());
    for (auto &l : x->listeners)
        fprintf(f, "      listener %#" PRIx64 " port %u %s %s, created in %s%s, %s%s\n", l->id, unsigned(l->port),
                mode_name(l->mode), framing_name(l->framing), l->created_in,
                l->during_destroy ? " (listen returned OK after destroy began)" : "",
                l->unlisten_ok.load() ? "unlistened in " : "never unlistened by us",
                l->unlisten_ok.load() && l->unlistened_in.load() ? l->unlistened_in.load() : "");
    int shown = 0, open = 0;
    for (auto &kv : x->conns) {
        ConnRec &r = *kv.second;
        int st = r.state.load();
        bool pending = (st == 0 && r.from_connect.load()) || st == 1;
        if (!pending) continue;
        open++;
        if (shown++ < 12)
            fprintf(f, "      conn %#" PRIx64 " %s side, %s, %s, close calls %d (OK %d)\n", r.id,
                    r.from_accept.load() ? "accept" : "connect", st == 0 ? "on_connect not yet" : "open, no on_close",
                    mode_name(r.mode), r.close_calls.load(), r.close_ok.load());
    }
    fprintf(f, "    %d connection(s) still waiting for on_connect/on_close\n", open);
    uint32_t n = std::min(x->nposts.load(), Ctx::kPosts), waiting = 0;
    for (uint32_t i = 0; i < n; ++i) waiting += x->posts[i].rc.load() == IOCPNET_OK && !x->posts[i].ran.load();
    fprintf(f, "    %u post(s) returned OK and have not run yet; barrier post %s\n", waiting,
            x->b_done ? "done" : x->b_running ? "running" : "not run yet");
}

} // namespace fuzz
