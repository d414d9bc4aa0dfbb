// 200 connections x 1,000 messages each, echoed: every message arrives whole
// and in order on both sides. RAW framing, so the test parses the stream
// itself (TCP merges and splits chunks): [u32 index][u32 seq][u8 len][payload].
#include "support.hpp"

using namespace t;

namespace {

const uint32_t kConns = 200, kMsgs = 1000;

std::string message(uint32_t idx, uint32_t seq) {
    std::string m;
    put_u32(m, idx);
    put_u32(m, seq);
    uint8_t len = static_cast<uint8_t>((idx * 13 + seq) % 48);
    m.push_back(static_cast<char>(len));
    for (uint8_t j = 0; j < len; j++) m.push_back(static_cast<char>((idx * 31 + seq * 7 + j) & 0xff));
    return m;
}

// Parses a stream that must hold messages 0..kMsgs-1 of one index, in order.
// Returns "" or the first problem.
std::string check_stream(const std::string &s, uint32_t *index_out) {
    size_t off = 0;
    uint32_t expect = 0, idx = 0;
    while (off < s.size()) {
        if (s.size() - off < 9) return "truncated header at offset " + std::to_string(off);
        uint32_t i = get_u32(&s[off]), seq = get_u32(&s[off + 4]);
        if (expect == 0) idx = i;
        if (i != idx) return "message of index " + std::to_string(i) + " in the stream of " + std::to_string(idx);
        if (seq != expect)
            return "seq " + std::to_string(seq) + " where " + std::to_string(expect) + " was expected";
        std::string m = message(idx, seq);
        if (s.size() - off < m.size()) return "truncated message " + std::to_string(seq);
        if (s.compare(off, m.size(), m) != 0) return "corrupt message " + std::to_string(seq);
        off += m.size();
        expect++;
    }
    if (expect != kMsgs) return "got " + std::to_string(expect) + " messages";
    if (index_out) *index_out = idx;
    return "";
}

} // namespace

TEST_CASE("200 connections x 1000 messages each arrive complete and in order", "[order][load]") {
    Recorder srv, cli;
    make_echo(srv);
    Port sp(&srv), cp(&cli);
    uint16_t port = listen_on(sp);

    std::vector<iocpnet_conn> conns;
    std::vector<uint64_t> expected_bytes;
    for (uint32_t i = 0; i < kConns; i++) {
        conns.push_back(connect_to(cp, port));
        uint64_t b = 0;
        for (uint32_t s = 0; s < kMsgs; s++) b += message(i, s).size();
        expected_bytes.push_back(b);
    }
    REQUIRE(wait_until([&] { return cli.n_connected() + cli.n_connect_failed() == kConns; }));
    REQUIRE(cli.n_connected() == kConns);

    // interleave the connections: message s of every connection, then s+1
    for (uint32_t s = 0; s < kMsgs; s++)
        for (uint32_t i = 0; i < kConns; i++) {
            std::string m = message(i, s);
            int rc = iocpnet_send(cp, conns[i], m.data(), m.size());
            if (rc != IOCPNET_OK) {
                INFO("send of message " << s << " on connection " << i);
                REQUIRE(rc_name(rc) == rc_name(IOCPNET_OK));
            }
        }

    uint64_t total = 0;
    for (auto b : expected_bytes) total += b;
    bool all = wait_until([&] { return cli.total_bytes() >= total; }, 90);
    INFO("client got " << cli.total_bytes() << " of " << total << " bytes back");
    REQUIRE(all);

    int bad = 0;
    for (uint32_t i = 0; i < kConns; i++) {
        uint32_t idx = 0;
        std::string problem = check_stream(cli.data(conns[i]), &idx);
        if (problem.empty() && idx != i) problem = "echo carries index " + std::to_string(idx);
        if (!problem.empty() && bad++ < 5) FAIL_CHECK("client connection " << i << ": " << problem);
    }
    CHECK(bad == 0);
    auto acc = srv.accepted();
    CHECK(acc.size() == kConns);
    std::set<uint32_t> seen;
    int sbad = 0;
    for (auto a : acc) {
        uint32_t idx = 0;
        std::string problem = check_stream(srv.data(a), &idx);
        if (!problem.empty() && sbad++ < 5) FAIL_CHECK("server connection " << a << ": " << problem);
        seen.insert(idx);
    }
    CHECK(sbad == 0);
    CHECK(seen.size() == kConns);

    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    REQUIRE(wait_until([&] { return srv.n_closed() == kConns; }));
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
}
