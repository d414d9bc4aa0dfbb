// Framed messages arrive whole, unmodified and, per sending thread, in order
// while several threads concurrently send and send_many (LINE and
// LENGTH_PREFIX, 1 byte to 300 KiB) to the same connections, send to and
// close other connections, and those connections are replaced all the time.
// Receivers: iocpnet connections of another port and raw sockets. Every
// message describes itself (see make_message), so a receiver checks each one
// and names the first wrong byte and where the bytes found there came from.
// (Regression hunt: in a fuzz run on io_uring a LINE-framed message of
// 268,544 bytes arrived with a foreign run of bytes from byte 699 on.)
// IOCPNET_STRESS_SECONDS (default 4) sets how long the senders run,
// IOCPNET_STRESS_WORKERS the worker threads of both ports and
// IOCPNET_STRESS_IDLE_MS an idle timeout for the churn connections,
// IOCPNET_STRESS_SPIN_US slow receiving callbacks (for hunting).
#include "support.hpp"

#include <algorithm>

using namespace t;

namespace {

constexpr unsigned kThreads = 4;     // sending threads: ids 0..3
constexpr unsigned kIds = 2 * kThreads; // ids 4..7: what thread id-4 posted (runs on a worker, order not promised)
constexpr size_t kRec = 16;
const char kHex[] = "0123456789abcdef";

void put_hex(char *p, uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; i--) {
        p[i] = kHex[v & 15];
        v >>= 4;
    }
}
// A message is a run of 16-byte records "T SSSSSS NNNNNNNN ;" (no spaces):
// sending thread (1 hex digit), its sequence number (6), and the record's
// index (8) — for record 0 the message's length instead. A shorter message
// (under 16 bytes) is the letter 'g' + thread, repeated. No '\n' or '\r':
// every message is a valid line.
void fill_message(char *out, unsigned tid, uint32_t seq, size_t len) {
    if (len < kRec) {
        memset(out, 'g' + int(tid), len);
        return;
    }
    char rec[kRec];
    rec[0] = kHex[tid & 15];
    put_hex(rec + 1, seq & 0xFFFFFF, 6);
    rec[15] = ';';
    for (size_t r = 0; r * kRec < len; r++) {
        put_hex(rec + 7, r == 0 ? uint64_t(len) : uint64_t(r), 8);
        size_t n = std::min(kRec, len - r * kRec);
        memcpy(out + r * kRec, rec, n);
    }
}
std::string make_message(unsigned tid, uint32_t seq, size_t len) {
    std::string s(len, '\0');
    fill_message(&s[0], tid, seq, len);
    return s;
}
int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}
bool parse_hex(const uint8_t *p, int digits, uint64_t *out) {
    uint64_t v = 0;
    for (int i = 0; i < digits; i++) {
        int h = hexval(char(p[i]));
        if (h < 0) return false;
        v = v << 4 | uint64_t(h);
    }
    *out = v;
    return true;
}
std::string printable(const uint8_t *p, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; i++) {
        char c = char(p[i]);
        if (c >= 32 && c < 127) s.push_back(c);
        else {
            char b[8];
            snprintf(b, sizeof b, "\\x%02x", unsigned(p[i]));
            s += b;
        }
    }
    return s;
}

// Everything one receiver (a connection or a raw socket) saw.
struct Stream {
    std::string name;
    bool target = false; // never closed: must get everything that was queued for it
    bool any[kIds] = {};
    uint32_t last_seq[kIds] = {};
    std::vector<uint32_t> seqs[kIds]; // messages of 16 bytes or more, in arrival order
    uint64_t tiny[kIds] = {};
    std::atomic<uint64_t> messages{0};
    std::atomic<uint64_t> direct{0}; // messages of the sending threads themselves (ids below kThreads)
    uint64_t bytes = 0;
};

struct Checker {
    std::mutex mu;
    std::vector<std::string> errors;
    std::atomic<uint64_t> messages{0}, bytes{0}, bad{0};
    void error(const std::string &e) {
        bad++;
        std::lock_guard<std::mutex> lk(mu);
        if (errors.size() < 20) errors.push_back(e);
    }
    // Checks one whole message as delivered to `s` (callers serialize per stream).
    void check(Stream &s, const uint8_t *m, size_t n) {
        messages++;
        bytes += n;
        s.messages++;
        s.bytes += n;
        if (n == 0) return error(s.name + ": an empty message (none was sent)");
        if (n < kRec) {
            unsigned tid = unsigned(m[0] - 'g');
            if (m[0] < 'g' || tid >= kIds) return error(s.name + ": short message \"" + printable(m, n) + "\"");
            for (size_t i = 1; i < n; i++)
                if (m[i] != m[0])
                    return error(s.name + ": short message of " + std::to_string(n) + " bytes corrupted: \"" +
                                 printable(m, n) + "\"");
            s.tiny[tid]++;
            if (tid < kThreads) s.direct++;
            return;
        }
        uint64_t tid, seq, len;
        if (!parse_hex(m, 1, &tid) || !parse_hex(m + 1, 6, &seq) || !parse_hex(m + 7, 8, &len) || m[15] != ';' ||
            tid >= kIds)
            return error(s.name + ": message of " + std::to_string(n) + " bytes with a broken first record: \"" +
                         printable(m, std::min<size_t>(n, 64)) + "\"");
        std::string what = s.name + ": message thread " + std::to_string(tid) + " seq " + std::to_string(seq) +
                           " (" + std::to_string(len) + " bytes)";
        if (len != n) return error(what + " arrived with " + std::to_string(n) + " bytes");
        std::string want = make_message(unsigned(tid), uint32_t(seq), n);
        if (memcmp(want.data(), m, n) != 0) {
            size_t at = 0;
            while (at < n && uint8_t(want[at]) == m[at]) at++;
            size_t end = at;
            while (end < n && uint8_t(want[end]) != m[end]) end++;
            size_t from = at - at % kRec;
            return error(what + ": wrong bytes from offset " + std::to_string(at) + " (first good byte again at " +
                         std::to_string(end) + "); records there: found \"" +
                         printable(m + from, std::min<size_t>(48, n - from)) + "\", expected \"" +
                         want.substr(from, std::min<size_t>(48, n - from)) + "\"");
        }
        if (tid < kThreads && s.any[tid] && seq <= s.last_seq[tid])
            error(what + " after seq " + std::to_string(s.last_seq[tid]) + ": out of order or repeated");
        s.any[tid] = true;
        s.last_seq[tid] = uint32_t(seq);
        if (s.target) s.seqs[tid].push_back(uint32_t(seq));
        if (tid < kThreads) s.direct++;
    }
};

// Splits a raw byte stream into messages of the given framing.
struct RawParser {
    uint32_t framing;
    std::string buf;
    size_t pos = 0;
    template <class F> void feed(const char *p, size_t n, F &&on_msg) {
        buf.append(p, n);
        for (;;) {
            if (framing == IOCPNET_FRAMING_LINE) {
                size_t nl = buf.find('\n', pos);
                if (nl == std::string::npos) break;
                on_msg(reinterpret_cast<const uint8_t *>(buf.data() + pos), nl - pos);
                pos = nl + 1;
            } else {
                if (buf.size() - pos < 4) break;
                uint32_t len = get_u32(buf.data() + pos);
                if (buf.size() - pos - 4 < len) break;
                on_msg(reinterpret_cast<const uint8_t *>(buf.data() + pos + 4), len);
                pos += 4 + len;
            }
        }
        if (pos > (1u << 20)) {
            buf.erase(0, pos);
            pos = 0;
        }
    }
};

// IOCPNET_STRESS_WORKERS: worker threads of both ports (default: one per core).
uint32_t stress_workers() {
    const char *e = std::getenv("IOCPNET_STRESS_WORKERS");
    return e ? uint32_t(std::atoi(e)) : 0;
}

// IOCPNET_STRESS_IDLE_MS: an idle timeout for the churn connections (both
// sides), so that timers close them too (default: none).
uint32_t stress_idle_ms() {
    const char *e = std::getenv("IOCPNET_STRESS_IDLE_MS");
    return e ? uint32_t(std::atoi(e)) : 0;
}

// IOCPNET_STRESS_SPIN_US: the receiving port's callbacks take this long each,
// so that received data piles up (io_uring: the provided buffers run out).
int stress_spin_us() {
    const char *e = std::getenv("IOCPNET_STRESS_SPIN_US");
    return e ? std::atoi(e) : 0;
}

double stress_seconds() {
    const char *e = std::getenv("IOCPNET_STRESS_SECONDS");
    double s = e ? std::atof(e) : 0;
    return s > 0 ? s : 4.0;
}

} // namespace

TEST_CASE("framed messages stay whole and in order under concurrent send, send_many and closes",
          "[framing][send_many][threads][stress]") {
    const double kSeconds = stress_seconds();
    Checker chk;

    // ---- receiving side: an iocpnet port and two raw sockets
    Recorder srv;
    srv.keep_data = false;
    srv.keep_data_events = false;
    srv.spin_us = stress_spin_us();
    std::mutex streams_mu;
    std::map<iocpnet_conn, std::unique_ptr<Stream>> streams;
    iocpnet_listener l_line = 0, l_lp = 0, l_churn_line = 0, l_churn_lp = 0;
    std::atomic<iocpnet_port *> port_of_srv{nullptr};
    std::atomic<uint64_t> echoed{0}, echo_dropped{0};
    srv.on_data = [&](iocpnet_port *, iocpnet_conn c, const uint8_t *d, size_t n) {
        Stream *s;
        {
            std::lock_guard<std::mutex> lk(streams_mu);
            auto &p = streams[c];
            if (!p) {
                p.reset(new Stream);
                iocpnet_listener l = srv.with(c, [](const ConnLog &cl) { return cl.listener; });
                p->target = l == l_line || l == l_lp;
                p->name = std::string(l == l_line ? "iocpnet LINE target" : l == l_lp ? "iocpnet LENGTH_PREFIX target"
                                                                   : l == l_churn_line ? "iocpnet LINE churn conn"
                                                                                       : "iocpnet LENGTH_PREFIX churn conn") +
                          " " + std::to_string(c);
            }
            s = p.get();
        }
        chk.check(*s, d, n);
        // a target also echoes every message back, from inside the callback
        if (s->target) {
            int rc = iocpnet_send(port_of_srv.load(), c, d, n);
            if (rc == IOCPNET_OK) echoed++;
            else if (rc == IOCPNET_E_WOULD_BLOCK || rc == IOCPNET_E_NOT_FOUND) echo_dropped++;
            else chk.error(s->name + ": echo send -> " + rc_name(rc));
        }
    };
    iocpnet_config cfg = default_config();
    cfg.worker_threads = stress_workers();
    Port sp(&srv, &cfg);
    port_of_srv = sp.get();
    iocpnet_conn_options o_line = default_options(), o_lp = default_options();
    o_line.framing = IOCPNET_FRAMING_LINE;
    o_lp.framing = IOCPNET_FRAMING_LENGTH_PREFIX;
    o_line.max_message_size = o_lp.max_message_size = 1u << 20;
    uint16_t p_line = listen_on(sp, &l_line, "127.0.0.1", &o_line);
    uint16_t p_lp = listen_on(sp, &l_lp, "127.0.0.1", &o_lp);
    iocpnet_conn_options oc_line = o_line, oc_lp = o_lp;
    if (uint32_t idle = stress_idle_ms()) oc_line.idle_timeout_ms = oc_lp.idle_timeout_ms = idle;
    uint16_t p_churn_line = listen_on(sp, &l_churn_line, "127.0.0.1", &oc_line);
    uint16_t p_churn_lp = listen_on(sp, &l_churn_lp, "127.0.0.1", &oc_lp);
    raw::Socket raw_lis_line = raw::Socket::listen("127.0.0.1", 0);
    raw::Socket raw_lis_lp = raw::Socket::listen("127.0.0.1", 0);
    REQUIRE(raw_lis_line.valid());
    REQUIRE(raw_lis_lp.valid());

    // ---- sending side
    Recorder cli;
    cli.keep_data = false;
    cli.keep_data_events = false;
    std::mutex echo_mu;
    std::map<iocpnet_conn, std::unique_ptr<Stream>> echo_streams; // what the iocpnet targets echoed
    cli.on_data = [&](iocpnet_port *, iocpnet_conn c, const uint8_t *d, size_t n) {
        Stream *s;
        {
            std::lock_guard<std::mutex> lk(echo_mu);
            auto &p = echo_streams[c];
            if (!p) {
                p.reset(new Stream);
                p->name = "echo back to sending conn " + std::to_string(c);
            }
            s = p.get();
        }
        chk.check(*s, d, n);
    };
    Port cp(&cli, &cfg);
    // targets: 0 iocpnet LINE, 1 iocpnet LENGTH_PREFIX, 2 raw LINE, 3 raw LENGTH_PREFIX
    const size_t kTargets = 4;
    iocpnet_conn targets[kTargets] = {
        connect_to(cp, p_line, "127.0.0.1", &o_line),
        connect_to(cp, p_lp, "127.0.0.1", &o_lp),
        connect_to(cp, raw_lis_line.local_port(), "127.0.0.1", &o_line),
        connect_to(cp, raw_lis_lp.local_port(), "127.0.0.1", &o_lp),
    };
    raw::Socket raw_line = raw_lis_line.accept(10000), raw_lp = raw_lis_lp.accept(10000);
    REQUIRE(raw_line.valid());
    REQUIRE(raw_lp.valid());
    for (auto c : targets) REQUIRE(wait_until([&] { return cli.connect_status(c) == IOCPNET_OK; }, 10));

    Stream raw_streams[2];
    raw_streams[0].name = "raw LINE target";
    raw_streams[1].name = "raw LENGTH_PREFIX target";
    raw_streams[0].target = raw_streams[1].target = true;
    std::atomic<bool> readers_stop{false};
    auto reader = [&](raw::Socket *sock, Stream *st, uint32_t framing) {
        RawParser parser{framing, {}, 0};
        std::vector<char> buf(256 * 1024);
        for (;;) {
            long n = sock->recv_some(buf.data(), buf.size(), 100);
            if (n == raw::kTimeout) {
                if (readers_stop.load()) return;
                continue;
            }
            if (n <= 0) return;
            parser.feed(buf.data(), size_t(n), [&](const uint8_t *m, size_t len) { chk.check(*st, m, len); });
        }
    };
    std::thread r_line(reader, &raw_line, &raw_streams[0], uint32_t(IOCPNET_FRAMING_LINE));
    std::thread r_lp(reader, &raw_lp, &raw_streams[1], uint32_t(IOCPNET_FRAMING_LENGTH_PREFIX));
    JoinGuard jr1{r_line, [&] { readers_stop = true; raw_line.shutdown_both(); }};
    JoinGuard jr2{r_lp, [&] { readers_stop = true; raw_lp.shutdown_both(); }};

    // ---- churn: connections that receive too, closed and replaced all the time
    std::mutex churn_mu;
    std::vector<iocpnet_conn> churn;
    for (int i = 0; i < 6; i++)
        churn.push_back(connect_to(cp, i % 2 ? p_churn_lp : p_churn_line, "127.0.0.1", i % 2 ? &oc_lp : &oc_line));
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> churn_closes{0};
    std::thread churner([&] {
        std::mt19937 rng(7);
        while (!stop.load()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2 + rng() % 10));
            iocpnet_conn victim;
            size_t i;
            {
                std::lock_guard<std::mutex> lk(churn_mu);
                i = rng() % churn.size();
                victim = churn[i];
            }
            iocpnet_close(cp, victim, rng() % 3 == 0 ? IOCPNET_CLOSE_ABORT : IOCPNET_CLOSE_GRACEFUL);
            churn_closes++;
            iocpnet_conn fresh = 0;
            bool lp = rng() % 2;
            if (iocpnet_connect_ex(cp, "127.0.0.1", lp ? p_churn_lp : p_churn_line, lp ? &oc_lp : &oc_line, &fresh) ==
                IOCPNET_OK) {
                std::lock_guard<std::mutex> lk(churn_mu);
                churn[i] = fresh;
            }
        }
    });
    JoinGuard jc{churner, [&] { stop = true; }};

    // ---- posted sends: send_many from one of the sending port's workers
    struct Posted {
        iocpnet_port *port;
        std::string msg;
        std::vector<iocpnet_conn> to;
        std::atomic<int> *pending;
    };
    std::atomic<int> posted_pending{0};
    struct PostedRun {
        static void IOCPNET_CALL run(void *arg) {
            auto *p = static_cast<Posted *>(arg);
            iocpnet_send_many(p->port, p->to.data(), p->to.size(), p->msg.data(), p->msg.size(), nullptr);
            (*p->pending)--;
            delete p;
        }
    };

    // ---- senders
    struct Sent {
        std::vector<uint32_t> seqs[kTargets];
        uint64_t tiny[kTargets] = {};
        uint64_t ok = 0, would_block = 0, bytes = 0, many_calls = 0, send_calls = 0;
        int bad_rc = 0;
    };
    std::vector<Sent> sent(kThreads);
    auto sender = [&](unsigned tid) {
        Sent &me = sent[tid];
        std::mt19937 rng(1000 + tid);
        std::vector<char> msg;
        std::vector<iocpnet_conn> to;
        std::vector<int> results;
        auto t0 = std::chrono::steady_clock::now();
        uint32_t seq = 0;
        while (!stop.load() && seconds_since(t0) < kSeconds) {
            uint32_t r = rng() % 100;
            size_t len = r < 35 ? 1 + rng() % 15
                         : r < 65 ? 16 + rng() % 1009
                         : r < 88 ? 1024 + rng() % (31 * 1024)
                                  : 32 * 1024 + rng() % (268 * 1024);
            ++seq;
            msg.resize(len);
            fill_message(msg.data(), tid, seq, len);
            auto record = [&](size_t target) {
                if (len < kRec) me.tiny[target]++;
                else me.seqs[target].push_back(seq);
            };
            uint32_t how = rng() % 11;
            if (how == 10) { // posted: runs on a worker, as id tid + kThreads
                if (posted_pending.load() > 64) continue;
                auto *p = new Posted{cp.get(), make_message(tid + kThreads, seq, len), {}, &posted_pending};
                {
                    std::lock_guard<std::mutex> lk(churn_mu);
                    p->to = churn;
                }
                p->to.insert(p->to.end(), targets, targets + kTargets);
                posted_pending++;
                if (iocpnet_post(cp, &PostedRun::run, p) != IOCPNET_OK) {
                    posted_pending--;
                    delete p;
                    me.bad_rc = IOCPNET_E_SYSTEM;
                }
            } else if (how < 4) { // send to one target
                size_t t = rng() % kTargets;
                int rc = iocpnet_send(cp, targets[t], msg.data(), len);
                me.send_calls++;
                if (rc == IOCPNET_OK) {
                    record(t);
                    me.ok++;
                    me.bytes += len;
                } else if (rc == IOCPNET_E_WOULD_BLOCK) {
                    me.would_block++;
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                } else {
                    me.bad_rc = rc;
                }
            } else if (how < 6) { // send to a churn connection (may be closing: NOT_FOUND)
                iocpnet_conn c;
                {
                    std::lock_guard<std::mutex> lk(churn_mu);
                    c = churn[rng() % churn.size()];
                }
                int rc = iocpnet_send(cp, c, msg.data(), len);
                if (rc != IOCPNET_OK && rc != IOCPNET_E_NOT_FOUND && rc != IOCPNET_E_WOULD_BLOCK) me.bad_rc = rc;
            } else { // send_many to every target and every churn connection
                to.assign(targets, targets + kTargets);
                {
                    std::lock_guard<std::mutex> lk(churn_mu);
                    to.insert(to.end(), churn.begin(), churn.end());
                }
                std::shuffle(to.begin(), to.end(), rng);
                results.assign(to.size(), 1);
                size_t queued = 0;
                int rc = iocpnet_send_many_ex(cp, to.data(), to.size(), msg.data(), len, results.data(), &queued);
                me.many_calls++;
                if (rc != IOCPNET_OK) me.bad_rc = rc;
                bool blocked = false;
                for (size_t i = 0; i < to.size(); i++) {
                    size_t t = std::find(targets, targets + kTargets, to[i]) - targets;
                    if (t == kTargets) continue; // a churn connection
                    if (results[i] == IOCPNET_OK) {
                        record(t);
                        me.ok++;
                        me.bytes += len;
                    } else if (results[i] == IOCPNET_E_WOULD_BLOCK) {
                        me.would_block++;
                        blocked = true;
                    } else {
                        me.bad_rc = results[i];
                    }
                }
                if (blocked) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        }
    };
    std::vector<std::thread> senders;
    for (unsigned i = 0; i < kThreads; i++) senders.emplace_back(sender, i);
    for (auto &th : senders) th.join();

    // ---- everything queued for the targets arrives
    Stream *srv_target[2] = {nullptr, nullptr};
    auto target_stream = [&](size_t t) -> Stream * {
        if (t >= 2) return &raw_streams[t - 2];
        std::lock_guard<std::mutex> lk(streams_mu);
        for (auto &kv : streams)
            if (kv.second->target && kv.second->name.find(t == 0 ? "LINE" : "LENGTH_PREFIX") != std::string::npos &&
                (t == 1 || kv.second->name.find("LENGTH_PREFIX") == std::string::npos))
                return kv.second.get();
        return nullptr;
    };
    uint64_t expected_msgs[kTargets] = {};
    for (size_t t = 0; t < kTargets; t++)
        for (auto &s : sent) expected_msgs[t] += s.seqs[t].size() + s.tiny[t];
    auto arrived = [&](size_t t) -> uint64_t {
        Stream *s = target_stream(t);
        return s ? s->direct.load() : 0;
    };
    bool all = wait_until(
        [&] {
            for (size_t t = 0; t < kTargets; t++)
                if (arrived(t) < expected_msgs[t]) return false;
            return true;
        },
        20);
    stop = true;
    churner.join();
    srv_target[0] = target_stream(0);
    srv_target[1] = target_stream(1);
    int rc = 1;
    if (!cp.destroy_within(10, &rc)) FAIL("destroying the sending port did not return within 10 s; port leaked");
    readers_stop = true;
    r_line.join();
    r_lp.join();
    if (!sp.destroy_within(10, &rc)) FAIL("destroying the receiving port did not return within 10 s; port leaked");

    // ---- report
    uint64_t ok = 0, wb = 0, bytes = 0, many = 0, single = 0;
    for (auto &s : sent) {
        ok += s.ok, wb += s.would_block, bytes += s.bytes, many += s.many_calls, single += s.send_calls;
        CHECK(rc_name(s.bad_rc) == rc_name(IOCPNET_OK));
    }
    INFO(kThreads << " threads, " << kSeconds << " s: " << single << " send + " << many << " send_many calls, " << ok
                  << " messages queued to the targets (" << bytes / (1 << 20) << " MiB), " << wb
                  << " WOULD_BLOCK; " << churn_closes << " churn closes; " << echoed << " echoed back ("
                  << echo_dropped << " not: queue full); receivers checked " << chk.messages
                  << " messages (" << chk.bytes / (1 << 20) << " MiB), " << chk.bad << " bad");
    {
        std::lock_guard<std::mutex> lk(chk.mu);
        for (auto &e : chk.errors) FAIL_CHECK(e);
    }
    CHECK(chk.bad == 0);
    CHECK(all);
    const char *names[kTargets] = {"iocpnet LINE target", "iocpnet LENGTH_PREFIX target", "raw LINE target",
                                   "raw LENGTH_PREFIX target"};
    for (size_t t = 0; t < kTargets; t++) {
        Stream *s = t < 2 ? srv_target[t] : &raw_streams[t - 2];
        INFO(names[t]);
        REQUIRE(s != nullptr);
        for (unsigned tid = 0; tid < kThreads; tid++) {
            INFO("thread " << tid);
            CHECK(s->tiny[tid] == sent[tid].tiny[t]);
            if (s->seqs[tid] != sent[tid].seqs[t]) {
                size_t i = 0;
                auto &a = s->seqs[tid];
                auto &b = sent[tid].seqs[t];
                while (i < a.size() && i < b.size() && a[i] == b[i]) i++;
                FAIL_CHECK("received " << a.size() << " messages, queued " << b.size() << "; first difference at #"
                                       << i << ": got " << (i < a.size() ? std::to_string(a[i]) : "nothing")
                                       << ", queued " << (i < b.size() ? std::to_string(b[i]) : "nothing"));
            }
        }
    }
    CHECK(srv.overlaps() == 0);
}
