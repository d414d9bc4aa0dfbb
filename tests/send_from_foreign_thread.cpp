// Sends from threads that are not the engine's, on the same connections
// whose callbacks are running (and sending) at that moment: every send's
// bytes arrive contiguous, and each thread's sends in its order.
// Message: [u8 source][u32 seq][u16 len][payload].
#include "support.hpp"

using namespace t;

namespace {

std::string message(uint8_t src, uint32_t seq) {
    std::string m;
    m.push_back(static_cast<char>(src));
    put_u32(m, seq);
    uint16_t len = static_cast<uint16_t>((seq * 37 + src) % 300);
    m.push_back(static_cast<char>(len >> 8));
    m.push_back(static_cast<char>(len & 0xff));
    for (uint16_t j = 0; j < len; j++) m.push_back(static_cast<char>((src + seq + j) & 0xff));
    return m;
}

// Checks a stream of interleaved messages: whole, and per source in order.
// Returns "" or the problem; counts[src] gets the number seen.
std::string parse(const std::string &s, std::map<uint8_t, uint32_t> *counts) {
    size_t off = 0;
    while (off < s.size()) {
        if (s.size() - off < 7) return "truncated header at " + std::to_string(off);
        uint8_t src = static_cast<uint8_t>(s[off]);
        uint32_t seq = get_u32(&s[off + 1]);
        uint32_t &expect = (*counts)[src];
        if (seq != expect)
            return "source " + std::to_string(src) + ": seq " + std::to_string(seq) + ", expected " +
                   std::to_string(expect);
        std::string m = message(src, seq);
        if (s.compare(off, m.size(), m) != 0) return "source " + std::to_string(src) + ": corrupt message";
        off += m.size();
        expect++;
    }
    return "";
}

} // namespace

TEST_CASE("sends from foreign threads while callbacks of the same connection run", "[threads]") {
    const int kThreads = 3;
    const uint32_t kPerThread = 3000;
    Recorder srv, cli;
    // The server echoes whole messages on its worker while foreign threads
    // also send on that connection. RAW chunks may end inside a message, so
    // it buffers until a message is complete (one connection: on_data calls
    // never overlap, so the buffer needs no lock).
    std::string pending;
    srv.on_data = [&](iocpnet_port *p, iocpnet_conn c, const uint8_t *d, size_t n) {
        pending.append(reinterpret_cast<const char *>(d), n);
        size_t off = 0;
        while (pending.size() - off >= 7) {
            size_t len = 7 + ((static_cast<uint8_t>(pending[off + 5]) << 8) | static_cast<uint8_t>(pending[off + 6]));
            if (pending.size() - off < len) break;
            int rc = iocpnet_send(p, c, pending.data() + off, len);
            if (rc != IOCPNET_OK) srv.fail("echo -> " + rc_name(rc));
            off += len;
        }
        pending.erase(0, off);
    };
    Port sp(&srv), cp(&cli);
    uint16_t port = listen_on(sp);
    iocpnet_conn c = connect_to(cp, port);
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    REQUIRE(wait_until([&] { return cli.n_connected() == 1; }));

    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    uint64_t expect_bytes = 0;
    for (int t = 0; t < kThreads; t++) {
        for (uint32_t q = 0; q < kPerThread; q++)
            expect_bytes += message(static_cast<uint8_t>(t), q).size() + message(static_cast<uint8_t>(10 + t), q).size();
        // client-side foreign threads: their messages come back as echoes
        threads.emplace_back([&, t] {
            for (uint32_t q = 0; q < kPerThread; q++) {
                std::string m = message(static_cast<uint8_t>(t), q);
                if (iocpnet_send(cp, c, m.data(), m.size()) != IOCPNET_OK) failures++;
            }
        });
        // server-side foreign threads: sending on the connection whose
        // on_data is echoing right now
        threads.emplace_back([&, t] {
            for (uint32_t q = 0; q < kPerThread; q++) {
                std::string m = message(static_cast<uint8_t>(10 + t), q);
                if (iocpnet_send(sp, s, m.data(), m.size()) != IOCPNET_OK) failures++;
            }
        });
    }
    for (auto &th : threads) th.join();
    CHECK(failures == 0);
    bool all = cli.wait_bytes(c, expect_bytes, 60);
    INFO("client got " << cli.bytes(c) << " of " << expect_bytes);
    REQUIRE(all);
    CHECK(cli.bytes(c) == expect_bytes);

    std::map<uint8_t, uint32_t> counts;
    std::string problem = parse(cli.data(c), &counts);
    CHECK(problem == "");
    for (int t = 0; t < kThreads; t++) {
        CHECK(counts[static_cast<uint8_t>(t)] == kPerThread);
        CHECK(counts[static_cast<uint8_t>(10 + t)] == kPerThread);
    }
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
}
