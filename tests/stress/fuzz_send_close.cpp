// The API fuzzer's sends and closes (declared in fuzz_model.hpp): message
// sizes and option picks, hello / verified data / random bytes to one
// connection, iocpnet_send, iocpnet_send_many(_ex), iocpnet_close, each
// result checked against the set the header documents.
#include "fuzz_model.hpp"

namespace fuzz {

// ------------------------------------------------------------- sending

bool data_ok(const Actor &a, const ConnRec &r) {
    if (r.cfg.load(std::memory_order_acquire) != 2 || r.mode != VERIFIED || !r.ready.load(std::memory_order_acquire))
        return false;
    if (r.framing == IOCPNET_FRAMING_RAW) return !a.in_cb && a.o.fuzz >= 0 && a.o.fuzz == r.raw_owner;
    return true;
}
static size_t pick_len(Rng &r) {
    uint32_t v = r.below(1000);
    if (v < 600) return r.range(0, 300);
    if (v < 900) return r.range(0, 4096);
    if (v < 985) return r.range(0, 65536);
    return r.range(65536, 300 * 1024);
}
uint32_t pick_max(Rng &r) { // max_message_size option (0 = default 1 MiB)
    uint32_t v = r.below(100);
    if (v < 50) return 0;
    if (v < 75) return 65536;
    if (v < 90) return r.range(4096, 32768);
    return r.range(300, 4096);
}
uint32_t pick_idle_opt(Rng &r) {
    uint32_t v = r.below(100);
    if (v < 70 || !g_feat.idle) return IOCPNET_INHERIT;
    if (v < 85) return 0;
    return r.range(60, 600);
}
// The send-size rule: LIMIT when len alone exceeds the queue limit; the
// framing overhead (<= 4 bytes) at the boundary may go either way.
static uint32_t size_codes(const Ctx &x, size_t len) {
    if (len > x.max_queue) return LIM;
    if (len + 8 > x.max_queue) return LIM | WB | OK_;
    return WB | OK_;
}
static void note_sent(ConnRec &r, size_t len) {
    uint64_t m = r.max_sent.load();
    while (len > m && !r.max_sent.compare_exchange_weak(m, len)) {
    }
}

// Hello: the first message of every verified connection, from whoever
// learned the id first (connect's caller, on_accept).
void send_hello(Actor &a, ConnRec &r) {
    std::string m = make_hello(a.o.id, r.id, r.listener, r.client ? 'C' : 'S', r.framing, a.rng);
    bool closing = known_closing(r);
    int rc;
    {
        CallT ct("iocpnet_send(hello)", r.id);
        rc = iocpnet_send(a.x.port, r.id, m.data(), m.size());
    }
    expect(rc, closing ? NF : (OK_ | NF | NOMEM), "iocpnet_send", r.id,
           closing ? "first send on a connection already closing" : "first send (hello) on a new connection");
    if (rc == IOCPNET_OK) {
        note_sent(r, m.size());
        r.ready.store(true, std::memory_order_release);
    }
}

// A verified data message to r (the caller checked data_ok).
void send_data(Actor &a, ConnRec &r, bool in_framing_error) {
    bool bad_nl = a.rng.chance(4);
    size_t len = pick_len(a.rng);
    uint32_t &seq = a.o.next[r.id];
    std::string m = make_data(a.o.id, {Entry{r.id, seq}}, len, a.rng, bad_nl);
    bool line_bad = bad_nl && r.framing == IOCPNET_FRAMING_LINE;
    bool closing = known_closing(r);
    int rc;
    if (a.rng.chance(20)) {
        rc = send_other_way(a, r, m); // sendv or send_owned: the same rules
    } else {
        CallT ct("iocpnet_send", r.id);
        rc = iocpnet_send(a.x.port, r.id, m.data(), m.size());
    }
    uint32_t allowed = closing ? NF : (NF | NOMEM | size_codes(a.x, m.size()));
    if (line_bad) allowed = (allowed & ~OK_) | INV;
    expect(rc, allowed, "iocpnet_send", r.id,
           line_bad  ? "a LINE message containing \"\\n\" must not be queued"
           : closing ? "the connection is closing (iocpnet_close returned OK or on_close began)"
                     : "send of a valid message to an open connection");
    if (in_framing_error && rc == IOCPNET_E_NOT_FOUND && r.close_calls.load() == 0 && !a.x.destroy_started.load())
        violation("iocpnet_send on conn %#" PRIx64 " inside its on_framing_error returned NOT_FOUND; the header "
                  "says the connection is still open during this call",
                  r.id);
    if (rc == IOCPNET_OK) {
        seq++;
        note_sent(r, m.size());
    } else if (rc == IOCPNET_E_WOULD_BLOCK) {
        r.wouldblocks++;
        a.x.n_wb++;
    }
}

static void send_chaos(Actor &a, ConnRec &r) {
    size_t len = a.rng.chance(3) ? a.rng.range(65536, 200000) : a.rng.range(0, 2000);
    std::string m(len, '\0');
    for (auto &c : m) c = char(a.rng.next());
    bool nl = false;
    if (r.framing == IOCPNET_FRAMING_LINE) {
        if (a.rng.chance(90))
            for (auto &c : m)
                if (c == '\n') c = ' ';
        nl = m.find('\n') != std::string::npos;
    }
    bool closing = known_closing(r);
    int rc;
    {
        CallT ct("iocpnet_send", r.id);
        rc = iocpnet_send(a.x.port, r.id, m.data(), m.size());
    }
    uint32_t allowed = closing ? NF : (NF | NOMEM | size_codes(a.x, m.size()));
    if (nl) allowed = (allowed & ~OK_) | INV;
    if (r.wr_shut.load()) allowed |= WS;
    expect(rc, allowed, "iocpnet_send", r.id, nl ? "LINE message containing \"\\n\"" : "random bytes");
    if (rc == IOCPNET_E_WOULD_BLOCK) r.wouldblocks++;
}

void act_send(Actor &a, ConnRec *target) {
    Ctx &x = a.x;
    Target t;
    if (target) {
        t.id = target->id;
        t.kind = T_LIVE;
    } else {
        t = pick_target(x, a.rng, 88, true);
    }
    ConnRec *r = target ? target : t.rec.get();
    uint32_t v = a.rng.below(100);
    int rc;
    if (v < 2) {
        CallT ct("iocpnet_send", t.id);
        rc = iocpnet_send(x.port, t.id, nullptr, 1 + a.rng.below(9));
        expect(rc, INV | NF, "iocpnet_send", t.id, "data NULL with len > 0");
        return;
    }
    if (v < 3) {
        CallT ct("iocpnet_send", t.id);
        expect(iocpnet_send(nullptr, t.id, "x", 1), INV, "iocpnet_send", t.id, "port NULL");
        return;
    }
    if (t.kind != T_LIVE) {
        bool zero = a.rng.chance(30);
        CallT ct("iocpnet_send", t.id);
        rc = iocpnet_send(x.port, t.id, zero ? nullptr : "abc", zero ? 0 : 3);
        expect(rc, NF, "iocpnet_send", t.id,
               t.kind == T_STALE ? "id whose on_close (or failed on_connect) returned" : "id 0 or never issued");
        return;
    }
    if (r->cfg.load(std::memory_order_acquire) != 2) return;
    if (data_ok(a, *r) && v < 94) {
        int burst = !a.in_cb && a.rng.chance(25) ? int(a.rng.range(2, 16)) : 1;
        for (int i = 0; i < burst; ++i) send_data(a, *r);
    } else if (r->mode == CHAOS && v < 94) {
        send_chaos(a, *r);
    } else if (r->framing != kUnknownFraming && (r->framing != IOCPNET_FRAMING_RAW || v >= 94)) {
        // a zero-length send: an empty message (framed) or nothing (RAW);
        // only where it cannot break the receiver's check
        bool verified = r->mode == VERIFIED;
        if (verified && r->framing != IOCPNET_FRAMING_RAW && !data_ok(a, *r)) return; // before the hello
        bool closing = known_closing(*r);
        {
            CallT ct("iocpnet_send", r->id);
            rc = iocpnet_send(x.port, r->id, a.rng.chance(50) ? nullptr : "", 0);
        }
        expect(rc, (closing ? NF : (OK_ | NF | WB | NOMEM)) | (r->wr_shut.load() ? WS : 0), "iocpnet_send", r->id,
               "zero-length send");
    }
}

void act_send_many(Actor &a) {
    Ctx &x = a.x;
    int k = 1 + int(a.rng.below(6));
    std::vector<uint64_t> ids;
    std::vector<std::shared_ptr<ConnRec>> recs; // null for dead/zero/garbage
    std::vector<int> is_data;
    std::vector<bool> closing;
    std::vector<Entry> entries;
    for (int i = 0; i < k; ++i) {
        Target t = pick_target(x, a.rng, 85, true);
        if (t.kind == T_LIVE) {
            ConnRec &r = *t.rec;
            if (r.cfg.load(std::memory_order_acquire) != 2) continue;
            if (data_ok(a, r)) {
                bool dup = false;
                for (auto &e : entries) dup |= e.conn == r.id;
                if (dup) continue;
                entries.push_back(Entry{r.id, 0});
                is_data.push_back(1);
            } else if (r.mode == CHAOS) {
                is_data.push_back(0);
            } else {
                continue; // a verified connection must only get messages addressed to it
            }
            ids.push_back(r.id);
            recs.push_back(t.rec);
            closing.push_back(known_closing(r));
        } else {
            ids.push_back(t.id);
            recs.push_back(nullptr);
            is_data.push_back(0);
            closing.push_back(true);
        }
    }
    bool ex = a.rng.chance(70);
    bool want_results = ex && a.rng.chance(90);
    bool want_queued = a.rng.chance(80);
    bool seqd = (ex && want_results) || (ids.size() == 1 && want_queued);
    std::string payload;
    bool nl = false;
    if (!entries.empty()) {
        for (auto &e : entries) e.seq = seqd ? a.o.next[e.conn] : kUnseq;
        nl = a.rng.chance(5);
        payload = make_data(a.o.id, entries, pick_len(a.rng), a.rng, nl);
    } else {
        payload.resize(a.rng.range(0, 3000));
        for (auto &c : payload) c = char('a' + a.rng.below(26));
        if (a.rng.chance(10) && !payload.empty()) payload[a.rng.below(uint32_t(payload.size()))] = '\n';
        nl = payload.find('\n') != std::string::npos;
    }
    if (a.rng.chance(3)) { // invalid arguments
        size_t q = 99;
        CallT ct("iocpnet_send_many", 0);
        int rc = a.rng.chance(50) ? iocpnet_send_many(x.port, nullptr, 1 + a.rng.below(3), "x", 1, &q)
                                  : iocpnet_send_many_ex(x.port, ids.data(), ids.size(), nullptr, 5, nullptr, &q);
        expect(rc, INV, "iocpnet_send_many", 0, "conns NULL with count > 0, or data NULL with len > 0");
        return;
    }
    std::vector<int> res(ids.size() + 1, 12345);
    size_t queued = 777777;
    int rc;
    {
        CallT ct(ex ? "iocpnet_send_many_ex" : "iocpnet_send_many", ids.empty() ? 0 : ids[0]);
        const char *d = payload.empty() && a.rng.chance(50) ? nullptr : payload.data();
        if (ex)
            rc = iocpnet_send_many_ex(x.port, ids.empty() && a.rng.chance(50) ? nullptr : ids.data(), ids.size(), d,
                                      payload.size(), want_results ? res.data() : nullptr,
                                      want_queued ? &queued : nullptr);
        else
            rc = iocpnet_send_many(x.port, ids.empty() && a.rng.chance(50) ? nullptr : ids.data(), ids.size(), d,
                                   payload.size(), want_queued ? &queued : nullptr);
    }
    expect(rc, OK_ | NOMEM, ex ? "iocpnet_send_many_ex" : "iocpnet_send_many", ids.size(), "valid arguments");
    if (rc != IOCPNET_OK) return;
    if (res[ids.size()] != 12345) violation("send_many_ex wrote past results[count]");
    if (want_queued && queued > ids.size())
        violation("send_many: *queued = %zu for %zu receivers", queued, ids.size());
    if (ex && want_results) {
        size_t oks = 0;
        for (size_t i = 0; i < ids.size(); ++i) {
            uint32_t allowed;
            bool line_bad = nl && recs[i] && recs[i]->framing == IOCPNET_FRAMING_LINE;
            if (!recs[i] || closing[i]) allowed = NF;
            else allowed = NF | NOMEM | size_codes(x, payload.size());
            if (line_bad) allowed = (allowed & ~OK_) | INV | LIM;
            if (recs[i] && recs[i]->wr_shut.load()) allowed |= WS;
            if (res[i] == 12345) violation("send_many_ex left results[%zu] unwritten", i);
            expect(res[i], allowed, "iocpnet_send_many_ex results[i]", ids[i],
                   !recs[i]    ? "dead, 0 or never-issued id"
                   : line_bad  ? "payload with \"\\n\" to a LINE connection"
                   : closing[i] ? "connection closing (close returned OK or on_close began)"
                                : "open connection");
            if (res[i] == IOCPNET_OK) {
                oks++;
                if (is_data[i]) a.o.next[ids[i]]++;
                note_sent(*recs[i], payload.size());
            } else if (res[i] == IOCPNET_E_WOULD_BLOCK) {
                recs[i]->wouldblocks++;
                x.n_wb++;
            }
        }
        if (want_queued && queued != oks)
            violation("send_many_ex: *queued = %zu but %zu results are IOCPNET_OK", queued, oks);
    } else {
        // Results unknown: WOULD_BLOCK may have happened on any receiver.
        for (size_t i = 0; i < ids.size(); ++i)
            if (recs[i]) {
                recs[i]->wouldblocks++;
                note_sent(*recs[i], payload.size());
            }
        if (seqd && queued == 1 && is_data[0]) a.o.next[ids[0]]++;
        bool any_open = false;
        for (size_t i = 0; i < ids.size(); ++i) any_open |= recs[i] && !closing[i];
        if (want_queued && !any_open && queued != 0)
            violation("send_many: *queued = %zu although every receiver was dead, closing, 0 or never issued",
                      queued);
    }
}

// ------------------------------------------------------------- close

void act_close(Actor &a, ConnRec *target) {
    Ctx &x = a.x;
    Target t;
    if (target) {
        t.id = target->id;
        t.kind = T_LIVE;
    } else {
        t = pick_target(x, a.rng, 85, a.rng.chance(30));
    }
    ConnRec *r = target ? target : t.rec.get();
    uint32_t v = a.rng.below(100);
    if (v < 8) {
        static const int bad[] = {2, -1, 7, INT_MIN, INT_MAX};
        int mode = bad[a.rng.below(5)];
        CallT ct("iocpnet_close(bad mode)", t.id);
        expect(iocpnet_close(x.port, t.id, mode), INV | NF, "iocpnet_close", t.id, "invalid close mode");
        return;
    }
    int mode = v < 54 ? IOCPNET_CLOSE_GRACEFUL : IOCPNET_CLOSE_ABORT;
    if (t.kind != T_LIVE) {
        CallT ct("iocpnet_close", t.id);
        expect(iocpnet_close(x.port, t.id, mode), NF, "iocpnet_close", t.id, "dead, 0 or never-issued id");
        return;
    }
    r->close_calls++;
    bool closing = known_closing(*r);
    int rc;
    {
        CallT ct("iocpnet_close", r->id);
        rc = iocpnet_close(x.port, r->id, mode);
    }
    expect(rc, closing ? NF : (OK_ | NF), "iocpnet_close", r->id,
           closing ? "connection already closing or closed" : "open connection");
    if (rc == IOCPNET_OK) {
        if (a.self == r) r->close_ok_self = true;
        if (r->close_ok.fetch_add(1) != 0) violation("iocpnet_close(%#" PRIx64 ") returned OK twice", r->id);
        if (a.rng.chance(30)) { // "later calls with the id give NOT_FOUND"
            CallT ct("iocpnet_send", r->id);
            expect(iocpnet_send(x.port, r->id, "", 0), NF, "iocpnet_send", r->id, "after iocpnet_close returned OK");
            expect(iocpnet_close(x.port, r->id, IOCPNET_CLOSE_ABORT), NF, "iocpnet_close", r->id,
                   "second close after iocpnet_close returned OK");
            expect(iocpnet_conn_set_user(x.port, r->id, user_value(r->id, 9)), NF, "iocpnet_conn_set_user", r->id,
                   "after iocpnet_close returned OK");
            void *u = nullptr;
            int g = iocpnet_conn_get_user(x.port, r->id, &u);
            expect(g, OK_ | NF, "iocpnet_conn_get_user", r->id, "closing connection (works until on_close returned)");
            if (g == IOCPNET_OK && !user_ok(r->id, u))
                violation("get_user(%#" PRIx64 ") returned %p, never set on this id", r->id, u);
        }
    }
}

} // namespace fuzz
