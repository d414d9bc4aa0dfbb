// Sends on the owner thread (written inline where the backend can, epoll)
// mixed with sends from foreign threads on the same connection, while the
// peer reads slowly so that inline writes are partial and the queue fills
// and empties again: nothing overtakes queued bytes, every message arrives
// whole, each sender's in its order. The owner uses every send call
// (send, sendv, send_owned, send_many); the foreign threads send and sendv.
// A send that returned before another was made arrives before it: the
// owner's messages name the foreign sends that had returned.
// Message: [u8 source][u32 seq][u32 len][payload].
#include "support.hpp"

using namespace t;

namespace {

// tags (the owner's): for each foreign source, how many of its sends had
// returned before this one was made; they must all arrive before it.
std::string message(uint8_t src, uint32_t seq, uint32_t len, const uint32_t *tags = nullptr) {
    std::string m;
    m.push_back(static_cast<char>(src));
    put_u32(m, seq);
    put_u32(m, len);
    for (uint32_t j = 0; j < len; j++) m.push_back(static_cast<char>((src * 31 + seq + j) & 0xff));
    if (tags) {
        std::string t;
        put_u32(t, tags[0]);
        put_u32(t, tags[1]);
        m.replace(9, 8, t);
    }
    return m;
}
uint32_t owner_len(uint32_t seq) { return 8 + (seq % 7 == 0 ? 20000 + seq * 13 % 9000 : (seq * 97) % 700); }
uint32_t foreign_len(uint32_t seq) { return (seq * 37) % 300; }

// "" or the problem; counts[src] = messages seen.
std::string parse(const std::string &s, std::map<uint8_t, uint32_t> *counts) {
    size_t off = 0;
    while (off < s.size()) {
        if (s.size() - off < 9) return "truncated header at " + std::to_string(off);
        uint8_t src = static_cast<uint8_t>(s[off]);
        uint32_t seq = get_u32(&s[off + 1]), len = get_u32(&s[off + 5]);
        uint32_t &expect = (*counts)[src];
        if (seq != expect) return "source " + std::to_string(src) + ": seq " + std::to_string(seq) + ", expected " + std::to_string(expect);
        uint32_t tags[2] = {0, 0};
        if (src == 0 && s.size() - off >= 17) {
            tags[0] = get_u32(&s[off + 9]);
            tags[1] = get_u32(&s[off + 13]);
            for (int t = 0; t < 2; t++)
                if ((*counts)[uint8_t(t + 1)] < tags[t])
                    return "owner message " + std::to_string(seq) + " overtook source " + std::to_string(t + 1) +
                           "'s message " + std::to_string((*counts)[uint8_t(t + 1)]);
        }
        std::string m = message(src, seq, len, src == 0 ? tags : nullptr);
        if (s.compare(off, m.size(), m) != 0) return "source " + std::to_string(src) + ": corrupt message " + std::to_string(seq);
        off += m.size();
        expect++;
    }
    return "";
}

std::atomic<int> g_frees{0};
void IOCPNET_CALL free_string(void *arg, const void *) {
    delete static_cast<std::string *>(arg);
    g_frees++;
}

} // namespace

TEST_CASE("inline sends on the owner keep order with sends from foreign threads", "[send][inline][threads]") {
    const uint32_t kTicks = 2000, kForeign = 1500;
    const int kThreads = 2;
    iocpnet_config cfg = default_config();
    cfg.worker_threads = 1;
    cfg.max_send_queue_bytes = 256u << 20; // never WOULD_BLOCK: every message is expected
    Recorder srv;
    uint32_t seq = 0; // the owner's; its callbacks never overlap
    std::atomic<uint32_t> seq_seen{0};
    std::atomic<uint32_t> returned[2] = {{0}, {0}}; // foreign sends that returned, per source
    int owned = 0;
    srv.on_data = [&](iocpnet_port *p, iocpnet_conn c, const uint8_t *, size_t n) {
        for (size_t i = 0; i < n; i++, seq++) {
            uint32_t tags[2] = {returned[0].load(), returned[1].load()};
            std::string m = message(0, seq, owner_len(seq), tags);
            int rc;
            switch (seq % 4) {
            case 0: rc = iocpnet_send(p, c, m.data(), m.size()); break;
            case 1: {
                iocpnet_buf parts[2] = {{m.data(), 3}, {m.data() + 3, m.size() - 3}};
                rc = iocpnet_sendv(p, c, parts, 2);
                break;
            }
            case 2: {
                auto *heap = new std::string(m);
                rc = iocpnet_send_owned(p, c, heap->data(), heap->size(), free_string, heap);
                if (rc == IOCPNET_OK) owned++;
                else delete heap;
                break;
            }
            default: {
                iocpnet_conn ids[2] = {c, c + (uint64_t(1) << 50)}; // a stale id beside it: the payload is shared
                int res[2];
                rc = iocpnet_send_many_ex(p, ids, 2, m.data(), m.size(), res, nullptr);
                if (rc == IOCPNET_OK) rc = res[0];
            }
            }
            if (rc != IOCPNET_OK) srv.fail("owner send " + std::to_string(seq) + " -> " + rc_name(rc));
        }
        seq_seen = seq;
    };
    g_frees = 0;
    Port sp(&srv, &cfg);
    Accepted a = accept_raw(srv, sp, nullptr, 8192);

    // The peer reads with pauses, so the engine's writes are often partial.
    std::string got;
    std::atomic<bool> stop{false}, reader_done{false};
    std::atomic<size_t> got_n{0};
    std::atomic<uint64_t> expect{UINT64_MAX}; // known once the senders stopped
    std::thread reader([&] {
        std::vector<char> buf(6000);
        unsigned k = 0;
        while (got.size() < expect.load() && !stop) {
            long r = a.peer.recv_some(buf.data(), buf.size(), 100);
            if (r > 0) {
                got.append(buf.data(), size_t(r));
                got_n = got.size();
            } else if (r != raw::kTimeout) {
                break;
            }
            if (++k % 64 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        reader_done = true;
    });
    JoinGuard rg{reader, [&] { stop = true; }};
    // Foreign threads send for as long as the owner does: their appends meet
    // the owner's inline writes.
    std::vector<std::thread> senders;
    std::atomic<int> failures{0};
    std::atomic<bool> ticking{true};
    uint32_t sent[kThreads + 1] = {};
    for (int t = 1; t <= kThreads; t++)
        senders.emplace_back([&, t] {
            uint32_t q = 0;
            for (; q < kForeign || ticking; q++) {
                std::string m = message(uint8_t(t), q, foreign_len(q));
                iocpnet_buf parts[2] = {{m.data(), m.size() / 2}, {m.data() + m.size() / 2, m.size() - m.size() / 2}};
                int rc = q % 2 ? iocpnet_sendv(sp, a.conn, parts, 2) : iocpnet_send(sp, a.conn, m.data(), m.size());
                if (rc != IOCPNET_OK) failures++;
                returned[t - 1] = q + 1;
                if (q % 4 == 0) std::this_thread::yield();
            }
            sent[t] = q;
        });
    // The ticks that drive the owner's sends, a few at a time.
    for (uint32_t q = 0; q < kTicks; q += 4) {
        REQUIRE(a.peer.send_all(std::string(4, 't')));
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    REQUIRE(wait_until([&] { return seq_seen.load() >= kTicks; }));
    ticking = false;
    for (auto &th : senders) th.join();
    CHECK(failures == 0);
    uint64_t total = 0;
    for (uint32_t q = 0; q < kTicks; q++) total += 9 + owner_len(q);
    for (int t = 1; t <= kThreads; t++)
        for (uint32_t q = 0; q < sent[t]; q++) total += message(uint8_t(t), q, foreign_len(q)).size();
    expect = total;
    bool all = wait_until([&] { return reader_done.load() || got_n.load() >= total; }, 60);
    stop = true;
    reader.join();
    INFO("peer got " << got.size() << " of " << total);
    REQUIRE(all);
    CHECK(got.size() == total);
    std::map<uint8_t, uint32_t> counts;
    CHECK(parse(got, &counts) == "");
    CHECK(counts[0] == kTicks);
    for (int t = 1; t <= kThreads; t++) CHECK(counts[uint8_t(t)] == sent[t]);
    CHECK(queues_drain(sp));
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    CHECK(g_frees.load() == owned);
    check_clean(srv, true);
}
