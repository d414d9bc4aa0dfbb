// libFuzzer target: the WebSocket session (handshake parser + frame decoder)
// on arbitrary bytes cut at arbitrary points. Input layout: byte 0 picks
// server or client, a valid upgrade prefix or none, and max_message_size;
// bytes 1..8 are chunk sizes; the rest is the stream. Oracle: no crash, no
// UB, memory bounded by max_message_size (ASan's allocation limit catches a
// length trusted from the wire), and the same events whether the stream
// arrives whole or cut: messages, output bytes, the close decision and the
// error code do not depend on how TCP split the bytes.
#include <cstdlib>
#include <string>
#include <vector>

#include "ws/session.hpp"

namespace {
struct Rec : iocpnet::ws::Events {
    std::string log;
    bool ready() override { return true; }
    bool message(const uint8_t *p, size_t n) override {
        log += "M" + std::to_string(n) + ":";
        log.append(reinterpret_cast<const char *>(p), n);
        return true;
    }
    void output(const uint8_t *p, size_t n) override {
        // Client frames carry a random mask: record only what is not random.
        log += "O" + std::to_string(n);
        if (n && (p[0] & 0x0F) == 8) log += "close";
    }
    bool upgraded() override {
        log += "U";
        return true;
    }
    void plain_get(const iocpnet::ws::HttpHead &req, std::string *reply) override {
        log += "G" + req.target;
        *reply = "HTTP/1.1 404 Not Found\r\n\r\n";
    }
    void end(int reason) override { log += "E" + std::to_string(reason); }
};

// `in` by value: the session unmasks client frames in place (its input is
// the engine's writable receive buffer), so each run gets its own copy.
std::string run(bool client, uint32_t max, std::string in, const std::vector<size_t> &cuts) {
    iocpnet::ws::Session s(client, max);
    if (client) s.client_request("h", "/");
    Rec r;
    size_t at = 0, i = 0;
    while (at < in.size()) {
        size_t n = cuts.empty() ? in.size() : 1 + cuts[i++ % cuts.size()] % 64;
        if (n > in.size() - at) n = in.size() - at;
        size_t used = 0;
        int rc = s.feed(reinterpret_cast<uint8_t *>(&in[0]) + at, n, r, &used);
        if (used != n) abort(); // never paused here: every byte is taken
        if (rc != IOCPNET_OK) {
            std::string f = s.close_frame(rc); // a client's is masked: its length only
            r.log += "R" + std::to_string(rc) + (client || f.size() < 2 ? std::to_string(f.size()) : f.substr(2));
            break;
        }
        at += n;
    }
    return r.log;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 9) return 0;
    bool client = data[0] & 1;
    bool prefix = data[0] & 2;
    static const uint32_t maxes[] = {0, 1, 125, 126, 65535, 65536, 1u << 20, 0xFFFFFFFFu};
    uint32_t max = maxes[(data[0] >> 2) & 7];
    std::vector<size_t> cuts(data + 1, data + 9);
    std::string in;
    if (prefix && !client)
        in = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    in.append(reinterpret_cast<const char *>(data + 9), size - 9);
    std::string whole = run(client, max, in, {});
    std::string cut = run(client, max, in, cuts);
    if (whole != cut) abort();
    return 0;
}
