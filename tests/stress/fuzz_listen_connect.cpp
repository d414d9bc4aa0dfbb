// The API fuzzer's listeners and connects (declared in fuzz_model.hpp):
// iocpnet_listen(_ex), iocpnet_unlisten, iocpnet_listener_port, and
// iocpnet_connect(_ex) to our own listeners and to closed ports, with invalid
// arguments now and then; the connect side's record is configured here.
#include "fuzz_model.hpp"

namespace fuzz {

// ------------------------------------------------------------- listeners

static void act_unlisten_one(Actor &a, ListenerRec &l, const char *why) {
    bool gone = l.unlisten_ok.load() > 0;
    int rc;
    {
        CallT ct("iocpnet_unlisten", l.id);
        rc = iocpnet_unlisten(a.x.port, l.id);
    }
    expect(rc, gone ? NF : (OK_ | NF), "iocpnet_unlisten", l.id, gone ? "listener already unlistened" : why);
    if (rc == IOCPNET_OK) {
        l.unlistened_in = a.where;
        if (l.unlisten_ok.fetch_add(1) != 0) violation("iocpnet_unlisten(%#" PRIx64 ") returned OK twice", l.id);
        std::lock_guard<std::mutex> lk(a.x.mu);
        a.x.closed_ports.push_back(l.port);
    }
}

void act_listen(Actor &a) {
    Ctx &x = a.x;
    if (live_listeners(x) >= 6) {
        if (auto l = pick_listener(x, a.rng, true)) act_unlisten_one(a, *l, "a live listener");
        return;
    }
    uint32_t v = a.rng.below(100);
    if (v < 5) { // invalid arguments
        iocpnet_conn_options o;
        iocpnet_conn_options_init(&o);
        iocpnet_listener id = 0;
        CallT ct("iocpnet_listen_ex(invalid)", 0);
        switch (a.rng.below(4)) {
        case 0: expect(iocpnet_listen(nullptr, "127.0.0.1", 0, &id), INV, "iocpnet_listen", 0, "port NULL"); break;
        case 1: expect(iocpnet_listen(x.port, "127.0.0.1", 0, nullptr), INV, "iocpnet_listen", 0, "out NULL"); break;
        case 2:
            o.struct_size = a.rng.below(8);
            expect(iocpnet_listen_ex(x.port, "127.0.0.1", 0, &o, &id), INV | SD, "iocpnet_listen_ex", 0,
                   "options struct_size below 8");
            break;
        default:
            o.framing = IOCPNET_FRAMING_WEBSOCKET + 1 + a.rng.below(100); // past the last framing
            expect(iocpnet_listen_ex(x.port, "127.0.0.1", 0, &o, &id), INV | SD, "iocpnet_listen_ex", 0,
                   "unknown framing");
        }
        return;
    }
    auto l = std::make_shared<ListenerRec>();
    l->mode = g_feat.chaos && a.rng.chance(25) ? CHAOS : VERIFIED;
    iocpnet_conn_options o;
    iocpnet_conn_options_init(&o);
    o.framing = g_feat.only_framing >= 0 ? uint32_t(g_feat.only_framing) : a.rng.below(3);
    o.max_message_size = pick_max(a.rng);
    o.idle_timeout_ms = pick_idle_opt(a.rng);
    if (a.rng.chance(20)) o.tcp_nodelay = a.rng.below(2);
    bool plain = o.framing == IOCPNET_FRAMING_RAW && o.max_message_size == 0 &&
                 o.idle_timeout_ms == IOCPNET_INHERIT && a.rng.chance(50);
    l->framing = o.framing;
    l->max = o.max_message_size ? o.max_message_size : 1u << 20;
    l->idle = o.idle_timeout_ms == IOCPNET_INHERIT ? x.cfg.idle_timeout_ms : o.idle_timeout_ms;
    iocpnet_listener id = 0;
    int rc;
    {
        CallT ct(plain ? "iocpnet_listen" : "iocpnet_listen_ex", 0);
        rc = plain ? iocpnet_listen(x.port, "127.0.0.1", 0, &id) : iocpnet_listen_ex(x.port, "127.0.0.1", 0, &o, &id);
    }
    bool destroying = x.destroy_started.load();
    expect(rc, OK_ | SYS | (destroying ? SD : 0), "iocpnet_listen", 0, "127.0.0.1 port 0");
    if (rc != IOCPNET_OK) return;
    if (id == 0) violation("iocpnet_listen returned OK with listener id 0");
    l->id = id;
    l->created_in = a.where;
    l->during_destroy = destroying;
    uint16_t port = 0;
    {
        CallT ct("iocpnet_listener_port", id);
        rc = iocpnet_listener_port(x.port, id, &port);
    }
    destroying = x.destroy_started.load();
    expect(rc, destroying ? (OK_ | NF) : OK_, "iocpnet_listener_port", id, "listener just created");
    if (rc == IOCPNET_OK && port == 0) violation("iocpnet_listener_port gave port 0");
    l->port = port;
    {
        std::lock_guard<std::mutex> lk(x.mu);
        if (x.lst_by_id.count(id)) violation("iocpnet_listen returned listener id %#" PRIx64 " twice", id);
        x.lst_by_id[id] = l;
        x.listeners.push_back(l);
        if (port) x.port_uses[port]++;
    }
    x.n_listens++;
    if (a.rng.chance(a.in_cb ? 30 : 12)) act_unlisten_one(a, *l, "right after listen, same thread");
}

void act_unlisten(Actor &a) {
    uint32_t v = a.rng.below(100);
    if (v < 75) {
        if (auto l = pick_listener(a.x, a.rng, v < 65)) act_unlisten_one(a, *l, "a listener");
        return;
    }
    uint64_t id = v < 88 ? 0 : garbage_id(a.rng);
    CallT ct("iocpnet_unlisten", id);
    expect(iocpnet_unlisten(a.x.port, id), NF, "iocpnet_unlisten", id, "listener 0 or never issued");
    if (a.rng.chance(20)) expect(iocpnet_unlisten(nullptr, id), INV, "iocpnet_unlisten", id, "port NULL");
}

void act_listener_port(Actor &a) {
    auto l = pick_listener(a.x, a.rng, false);
    uint64_t id = l ? l->id : garbage_id(a.rng);
    if (a.rng.chance(20)) id = a.rng.chance(50) ? 0 : garbage_id(a.rng), l = nullptr;
    bool gone = !l || l->unlisten_ok.load() > 0;
    uint16_t p = 0;
    CallT ct("iocpnet_listener_port", id);
    if (a.rng.chance(10)) {
        expect(iocpnet_listener_port(a.x.port, id, nullptr), INV | NF, "iocpnet_listener_port", id, "out NULL");
        return;
    }
    int rc = iocpnet_listener_port(a.x.port, id, &p);
    expect(rc, gone ? NF : (OK_ | NF), "iocpnet_listener_port", id, gone ? "unlistened or unknown" : "listener");
    if (rc == IOCPNET_OK && p != l->port)
        violation("iocpnet_listener_port(%#" PRIx64 ") = %u, it was %u", id, unsigned(p), unsigned(l->port));
}

// ------------------------------------------------------------- connect

static constexpr size_t kMaxLive = 48;
static constexpr uint64_t kMaxTotalConns = 2500;

// A connect in progress on this thread: lets a callback nested inside it
// (not expected, not forbidden) configure the record.
namespace {
struct Pending {
    bool active = false;
    int mode = MUTE;
    uint32_t framing = 0, max = 0, idle = 0, ct = 0;
    uint64_t listener = 0;
    uint16_t port = 0;
    int owner = -1;
};
} // namespace
static thread_local Pending t_pending;

static void configure(ConnRec &r, const Pending &p) {
    r.mode = p.mode;
    r.framing = p.framing;
    r.max = p.max;
    r.idle = p.idle;
    r.connect_to = p.ct;
    r.listener = p.listener;
    r.target_port = p.port;
    r.raw_owner = p.owner;
    r.client = true;
}
void ensure_configured(ConnRec &r) {
    if (r.cfg.load(std::memory_order_acquire) == 2) return;
    if (r.from_accept.load()) return; // configured inside on_accept: an overlap is caught by Busy
    if (t_pending.active) {
        int e = 0;
        if (r.cfg.compare_exchange_strong(e, 1)) {
            configure(r, t_pending);
            r.cfg.store(2, std::memory_order_release);
            return;
        }
    }
    int64_t end = now_us() + 3 * 1000000;
    while (r.cfg.load(std::memory_order_acquire) != 2) {
        if (now_us() > end)
            violation("a callback for conn %#" PRIx64 " waited 3 s for iocpnet_connect to return its id (a callback "
                      "for an id connect never returned?)",
                      r.id);
        std::this_thread::yield();
    }
}

void act_connect(Actor &a) {
    Ctx &x = a.x;
    if (live_count(x) >= kMaxLive || x.total_conns.load() >= kMaxTotalConns) return;
    uint32_t v = a.rng.below(100);
    iocpnet_conn_options o;
    iocpnet_conn_options_init(&o);
    if (v < 5) {
        iocpnet_conn id = 0;
        CallT ct("iocpnet_connect(invalid)", 0);
        switch (a.rng.below(5)) {
        case 0: expect(iocpnet_connect(nullptr, "127.0.0.1", 1, &id), INV, "iocpnet_connect", 0, "port NULL"); break;
        case 1: expect(iocpnet_connect(x.port, nullptr, 1, &id), INV | ADDRINV, "iocpnet_connect", 0, "host NULL"); break;
        case 2: expect(iocpnet_connect(x.port, "127.0.0.1", 1, nullptr), INV, "iocpnet_connect", 0, "out NULL"); break;
        case 3:
            o.struct_size = a.rng.below(8);
            expect(iocpnet_connect_ex(x.port, "127.0.0.1", 1, &o, &id), INV | SD, "iocpnet_connect_ex", 0,
                   "options struct_size below 8");
            break;
        default:
            o.framing = IOCPNET_FRAMING_WEBSOCKET + 1 + a.rng.below(50); // past the last framing
            expect(iocpnet_connect_ex(x.port, "127.0.0.1", 1, &o, &id), INV | SD, "iocpnet_connect_ex", 0,
                   "unknown framing");
        }
        return;
    }
    Pending p;
    p.owner = int(a.rng.below(uint32_t(x.nthreads)));
    std::shared_ptr<ListenerRec> l;
    if (v < 14) {
        std::lock_guard<std::mutex> lk(x.mu);
        if (x.closed_ports.empty()) return;
        p.port = x.closed_ports[a.rng.below(uint32_t(x.closed_ports.size()))];
        p.mode = PROBE;
    } else {
        l = pick_listener(x, a.rng, true);
        if (!l || l->port == 0) return;
        p.port = l->port;
        p.mode = l->mode;
        p.listener = l->id;
    }
    o.framing = p.mode == VERIFIED ? l->framing : a.rng.below(3);
    o.max_message_size = pick_max(a.rng);
    o.idle_timeout_ms = pick_idle_opt(a.rng);
    o.connect_timeout_ms = a.rng.chance(80) ? IOCPNET_INHERIT : a.rng.chance(50) ? 0 : a.rng.range(100, 2000);
    if (a.rng.chance(15)) o.keepalive_s = a.rng.chance(50) ? 0 : a.rng.range(1, 100);
    bool plain = o.framing == IOCPNET_FRAMING_RAW && o.max_message_size == 0 && o.idle_timeout_ms == IOCPNET_INHERIT &&
                 o.connect_timeout_ms == IOCPNET_INHERIT && a.rng.chance(50);
    p.framing = o.framing;
    p.max = o.max_message_size ? o.max_message_size : 1u << 20;
    p.idle = o.idle_timeout_ms == IOCPNET_INHERIT ? x.cfg.idle_timeout_ms : o.idle_timeout_ms;
    p.ct = o.connect_timeout_ms == IOCPNET_INHERIT ? x.cfg.connect_timeout_ms : o.connect_timeout_ms;
    p.active = true;
    iocpnet_conn id = 0;
    int rc;
    x.total_conns++;
    {
        t_pending = p;
        CallT ct(plain ? "iocpnet_connect" : "iocpnet_connect_ex", p.port);
        rc = plain ? iocpnet_connect(x.port, "127.0.0.1", p.port, &id)
                   : iocpnet_connect_ex(x.port, "127.0.0.1", p.port, &o, &id);
        t_pending.active = false;
    }
    bool destroying = x.destroy_started.load();
    expect(rc, OK_ | SYS | (x.cfg.max_connections ? LIM : 0) | (destroying ? SD : 0), "iocpnet_connect", p.port,
           "127.0.0.1 and a port of ours");
    if (rc != IOCPNET_OK) return;
    if (id == 0) violation("iocpnet_connect returned OK with id 0");
    bool created;
    auto r = get_or_create(x, id, &created);
    if (r->from_accept.load())
        violation("iocpnet_connect returned id %#" PRIx64 ", already announced by on_accept (ids are never reused)",
                  id);
    if (r->from_connect.exchange(true)) violation("iocpnet_connect returned id %#" PRIx64 " twice", id);
    int e = 0;
    if (r->cfg.compare_exchange_strong(e, 1)) {
        configure(*r, p);
        r->cfg.store(2, std::memory_order_release);
    }
    void *u = reinterpret_cast<void *>(1);
    {
        CallT ct("iocpnet_conn_get_user", id);
        bool dead = r->dead.load(); // before the call: the id may die while it runs
        int g = iocpnet_conn_get_user(x.port, id, &u);
        expect(g, dead ? NF : (OK_ | NF), "iocpnet_conn_get_user", id, "right after connect");
        if (g == IOCPNET_OK && !user_ok(id, u))
            violation("a new connection's user pointer is %p (never set on this id)", u);
    }
    if (p.mode == VERIFIED) send_hello(a, *r);
    add_live(x, *r);
    if (a.rng.chance(6)) act_close(a, r.get()); // a close while (probably) still connecting
}

} // namespace fuzz
