// The API fuzzer's messages (declared in fuzz_model.hpp): building hello
// and data messages, and checking what on_data delivers (framing invariants;
// for verified connections every message whole, unmodified, addressed to the
// receiver and in order per origin).
#include "fuzz_model.hpp"

namespace fuzz {

// ------------------------------------------------------------- messages
//
// All ASCII (no '\n', no '\r' unless on purpose), so one format serves RAW,
// LENGTH_PREFIX and LINE:
//   [0] 'Z'  [1] kind 'H' (hello) or 'D' (data)  [2..10) total length, hex
//   [10..18) FNV-1a of bytes [18, len), hex       [18..26) origin, hex
//   hello: [26..42) sender conn id  [42..58) listener id  [58] 'C'/'S'  [59] framing
//   data:  [26..28) n entries, then n x (16 hex conn id of the sending side,
//          8 hex sequence number of this origin on that connection)
//   then filler letters up to len.
static constexpr size_t kHelloMin = 60, kDataHead = 28, kEntry = 24;
static constexpr size_t kMaxMsg = 16u << 20;

static uint32_t fnv(const char *p, size_t n, uint32_t h = 2166136261u) {
    for (size_t i = 0; i < n; ++i) h = (h ^ uint8_t(p[i])) * 16777619u;
    return h;
}
static void put_hex(char *p, uint64_t v, int digits) {
    static const char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; --i, v >>= 4) p[i] = hex[v & 15];
}
static bool get_hex(const char *p, int digits, uint64_t *out) {
    uint64_t v = 0;
    for (int i = 0; i < digits; ++i) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return false;
        v = (v << 4) | unsigned(d);
    }
    *out = v;
    return true;
}
static void fill_letters(char *p, size_t n, uint64_t seed) {
    uint64_t x = seed | 1;
    for (size_t i = 0; i < n; ++i) {
        if ((i & 7) == 0) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        p[i] = char('a' + ((x >> ((i & 7) * 8)) & 0xff) % 26);
    }
}
static void seal(std::string &m) { put_hex(&m[10], fnv(m.data() + 18, m.size() - 18), 8); }

std::string make_data(uint32_t origin, const std::vector<Entry> &es, size_t len, Rng &rng, bool newline) {
    size_t head = kDataHead + kEntry * es.size();
    if (len < head + 1) len = head + 1;
    std::string m(len, 'x');
    m[0] = 'Z', m[1] = 'D';
    put_hex(&m[2], len, 8);
    put_hex(&m[18], origin, 8);
    put_hex(&m[26], es.size(), 2);
    for (size_t i = 0; i < es.size(); ++i) {
        put_hex(&m[kDataHead + kEntry * i], es[i].conn, 16);
        put_hex(&m[kDataHead + kEntry * i + 16], es[i].seq, 8);
    }
    fill_letters(&m[head], len - head, rng.next());
    if (newline) m[head + rng.below(uint32_t(len - head))] = '\n';
    seal(m);
    return m;
}
std::string make_hello(uint32_t origin, uint64_t conn, uint64_t listener, char role, uint32_t framing, Rng &rng) {
    size_t len = kHelloMin + rng.below(100);
    std::string m(len, 'x');
    m[0] = 'Z', m[1] = 'H';
    put_hex(&m[2], len, 8);
    put_hex(&m[18], origin, 8);
    put_hex(&m[26], conn, 16);
    put_hex(&m[42], listener, 16);
    m[58] = role;
    m[59] = char('0' + framing);
    fill_letters(&m[60], len - 60, rng.next());
    seal(m);
    return m;
}

namespace {
struct Msg {
    char kind = 0;
    size_t len = 0;
    uint32_t origin = 0;
    uint64_t conn = 0, listener = 0; // hello
    char role = 0;
    std::vector<Entry> entries; // data
};
} // namespace
// Parses one whole message of n bytes; "" or what is wrong.
static std::string parse_msg(const char *p, size_t n, Msg *m) {
    char buf[160];
    uint64_t v;
    if (n < kDataHead) return "message of " + std::to_string(n) + " bytes is shorter than any header";
    if (p[0] != 'Z' || (p[1] != 'H' && p[1] != 'D')) return "bad magic/kind";
    if (!get_hex(p + 2, 8, &v)) return "bad length field";
    if (v != n) {
        snprintf(buf, sizeof buf, "length field says %" PRIu64 " bytes, the message has %zu (boundary broken)", v, n);
        return buf;
    }
    m->kind = p[1];
    m->len = n;
    uint64_t sum;
    if (!get_hex(p + 10, 8, &sum)) return "bad checksum field";
    uint32_t want = fnv(p + 18, n - 18);
    if (sum != want) {
        snprintf(buf, sizeof buf, "checksum %08" PRIx64 " != %08x of the bytes received (content modified)", sum, want);
        return buf;
    }
    if (!get_hex(p + 18, 8, &v)) return "bad origin";
    m->origin = uint32_t(v);
    if (m->kind == 'H') {
        if (n < kHelloMin) return "hello too short";
        if (!get_hex(p + 26, 16, &m->conn) || !get_hex(p + 42, 16, &m->listener)) return "bad hello ids";
        m->role = p[58];
        return "";
    }
    if (!get_hex(p + 26, 2, &v)) return "bad entry count";
    if (kDataHead + kEntry * v > n) return "entries beyond the message";
    m->entries.resize(size_t(v));
    for (size_t i = 0; i < v; ++i) {
        uint64_t c, s;
        if (!get_hex(p + kDataHead + kEntry * i, 16, &c) || !get_hex(p + kDataHead + kEntry * i + 16, 8, &s))
            return "bad entry";
        m->entries[i] = Entry{c, uint32_t(s)};
    }
    return "";
}

// ------------------------------------------------------------- receiving

static void defer_bad(ConnRec &r, const std::string &what) {
    r.recv_bad = true;
    if (r.bad_first.empty()) r.bad_first = what;
}

static void handle_msg(Ctx &x, ConnRec &r, const char *p, size_t n) {
    if (r.recv_bad) return;
    if (n == 0) { // an empty framed message
        if (!r.got_hello) defer_bad(r, "an empty message before the peer's hello");
        return;
    }
    Msg m;
    std::string err = parse_msg(p, n, &m);
    if (!err.empty()) {
        if (!r.got_hello) {
            defer_bad(r, "first message: " + err);
            return;
        }
        violation("conn %#" PRIx64 " (%s, %s, message #%" PRIu64 " from peer %#" PRIx64 "): %s", r.id,
                  framing_name(r.framing), r.client ? "connect side" : "accept side", r.msgs, r.peer, err.c_str());
    }
    if (!r.got_hello) {
        char want_role = r.client ? 'S' : 'C';
        if (m.kind != 'H' || m.role != want_role || m.listener != r.listener) {
            char buf[200];
            snprintf(buf, sizeof buf,
                     "first message is not the peer's hello (kind %c, role %c, listener %#" PRIx64
                     ", expected role %c listener %#" PRIx64 ")",
                     m.kind, m.role ? m.role : '?', m.listener, want_role, r.listener);
            defer_bad(r, buf);
            return;
        }
        r.got_hello = true;
        r.peer = m.conn;
        r.msgs++;
        return;
    }
    r.msgs++;
    if (m.kind == 'H')
        violation("conn %#" PRIx64 " (%s): a second hello (from conn %#" PRIx64 ") after the one from %#" PRIx64,
                  r.id, framing_name(r.framing), m.conn, r.peer);
    const Entry *mine = nullptr;
    for (auto &e : m.entries)
        if (e.conn == r.peer) mine = &e;
    if (!mine) {
        std::string to;
        for (auto &e : m.entries) {
            char b[24];
            snprintf(b, sizeof b, " %#" PRIx64, e.conn);
            to += b;
        }
        violation("conn %#" PRIx64 " (%s) got a message sent to conn(s)%s, but its peer is %#" PRIx64
                  " (foreign bytes)",
                  r.id, framing_name(r.framing), to.c_str(), r.peer);
    }
    if (mine->seq != kUnseq) {
        uint32_t &want = r.expect[m.origin];
        if (mine->seq != want)
            violation("conn %#" PRIx64 " (%s, peer %#" PRIx64 "): from origin %u got message #%u, expected #%u (%s)",
                      r.id, framing_name(r.framing), r.peer, m.origin, mine->seq, want,
                      mine->seq < want ? "duplicate or reordered" : "messages lost in the middle, or reordered");
        want = mine->seq + 1;
    }
    x.n_msgs++;
    x.n_bytes += n;
}

void receive(Ctx &x, ConnRec &r, const uint8_t *d, size_t n) {
    const char *p = reinterpret_cast<const char *>(d);
    // framing invariants (every mode)
    if (n > 0 && !d) violation("on_data(%#" PRIx64 ") with NULL data and len %zu", r.id, n);
    if (r.framing == IOCPNET_FRAMING_RAW) {
        if (n == 0) violation("on_data(%#" PRIx64 ") with len 0 on a RAW connection", r.id);
    } else if (r.framing != kUnknownFraming) {
        if (n > r.max)
            violation("on_data(%#" PRIx64 ", %s): a message of %zu bytes, max_message_size %u", r.id,
                      framing_name(r.framing), n, r.max);
        if (r.framing == IOCPNET_FRAMING_LINE && n && memchr(p, '\n', n))
            violation("on_data(%#" PRIx64 ", LINE): a message containing \"\\n\"", r.id);
    }
    if (r.mode != VERIFIED) return;
    if (r.framing != IOCPNET_FRAMING_RAW) {
        handle_msg(x, r, p, n);
        return;
    }
    if (r.recv_bad) return;
    r.raw.append(p, n);
    for (;;) {
        size_t have = r.raw.size() - r.raw_off;
        if (have < 10) break;
        const char *q = r.raw.data() + r.raw_off;
        uint64_t len = 0;
        if (q[0] != 'Z' || !get_hex(q + 2, 8, &len) || len < kDataHead || len > kMaxMsg) {
            std::string what = "RAW stream: no message header at stream offset ~" + std::to_string(r.raw_off);
            if (!r.got_hello) {
                defer_bad(r, what);
                return;
            }
            violation("conn %#" PRIx64 " (RAW, peer %#" PRIx64 ", after %" PRIu64 " messages): %s (bytes lost, "
                      "reordered or foreign)",
                      r.id, r.peer, r.msgs, what.c_str());
        }
        if (have < len) break;
        handle_msg(x, r, q, size_t(len));
        if (r.recv_bad) return;
        r.raw_off += size_t(len);
    }
    if (r.raw_off > 65536 && r.raw_off * 2 > r.raw.size()) {
        r.raw.erase(0, r.raw_off);
        r.raw_off = 0;
    }
}

} // namespace fuzz
