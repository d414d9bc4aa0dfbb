// A raw WebSocket peer for the WebSocket tests: it writes the handshake and
// frames byte by byte (so it can break every rule on purpose) and reads the
// engine's frames. Independent of the engine's own codec: the accept key is
// RFC 6455's worked example (section 1.3), not computed here.
#pragma once
#include "support.hpp"

namespace wst {

// RFC 6455 1.3: this key's Sec-WebSocket-Accept.
constexpr const char *kKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr const char *kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

inline std::string upgrade_request(const std::string &path = "/chat", const std::string &extra = "") {
    return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
           "Sec-WebSocket-Key: " + std::string(kKey) + "\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n";
}

// One frame as bytes. mask: a client's frame (key 0x37fa213d, RFC 6455 5.7).
inline std::string frame(int op, const std::string &payload, bool fin = true, bool mask = true, int rsv = 0) {
    std::string s;
    s += char((fin ? 0x80 : 0) | (rsv << 4) | op);
    size_t n = payload.size();
    char m = mask ? char(0x80) : 0;
    if (n < 126) s += char(m | char(n));
    else if (n < 65536) s += char(m | 126), s += char(n >> 8), s += char(n & 0xff);
    else {
        s += char(m | 127);
        for (int i = 7; i >= 0; i--) s += char((uint64_t(n) >> (8 * i)) & 0xff);
    }
    const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    if (mask) s.append(reinterpret_cast<const char *>(key), 4);
    for (size_t i = 0; i < n; i++) s += char(payload[i] ^ (mask ? key[i & 3] : 0));
    return s;
}

inline std::string close_payload(unsigned code, const std::string &reason = "") {
    std::string s;
    s += char(code >> 8), s += char(code & 0xff);
    return s + reason;
}

struct Frame {
    int op = -1;
    bool fin = false, masked = false;
    std::string payload;
    unsigned close_code() const {
        return payload.size() >= 2 ? (unsigned(uint8_t(payload[0])) << 8 | uint8_t(payload[1])) : 0;
    }
};

class Peer {
  public:
    raw::Socket s;
    std::string buf; // read but not yet parsed

    bool connect(uint16_t port) {
        s = raw::Socket::connect("127.0.0.1", port);
        return s.valid();
    }
    // Reads up to the end of the response head into *head; the rest stays in buf.
    bool read_head(std::string *head, double seconds = t::kDeadline) {
        auto t0 = std::chrono::steady_clock::now();
        for (;;) {
            size_t e = buf.find("\r\n\r\n");
            if (e != std::string::npos) {
                *head = buf.substr(0, e + 4);
                buf.erase(0, e + 4);
                return true;
            }
            if (!more(seconds - t::seconds_since(t0))) return false;
        }
    }
    // Sends the upgrade request and checks the 101 and its accept key.
    bool upgrade(const std::string &path = "/chat", const std::string &extra = "") {
        if (!s.send_all(upgrade_request(path, extra))) return false;
        std::string head;
        if (!read_head(&head)) return false;
        return head.rfind("HTTP/1.1 101 ", 0) == 0 && head.find(std::string("Sec-WebSocket-Accept: ") + kAccept) != std::string::npos;
    }
    bool read_frame(Frame *f, double seconds = t::kDeadline) {
        auto t0 = std::chrono::steady_clock::now();
        for (;;) {
            if (parse(f)) return true;
            if (!more(seconds - t::seconds_since(t0))) return false;
        }
    }
    // Reads frames until a close frame; false if the stream ended first.
    bool read_until_close(Frame *close, std::vector<Frame> *before = nullptr) {
        Frame f;
        while (read_frame(&f)) {
            if (f.op == 8) {
                *close = f;
                return true;
            }
            if (before) before->push_back(f);
        }
        return false;
    }
    // After a close frame: the engine ends the TCP stream (EOF).
    bool ends() {
        std::string rest;
        raw::End e = s.read_until_end(&rest, t::kDeadline);
        return e == raw::End::eof;
    }

  private:
    bool more(double seconds) {
        if (seconds <= 0) return false;
        char tmp[65536];
        long n = s.recv_some(tmp, sizeof tmp, int(seconds * 1000));
        if (n <= 0) return false;
        buf.append(tmp, size_t(n));
        return true;
    }
    bool parse(Frame *f) {
        if (buf.size() < 2) return false;
        const unsigned char *u = reinterpret_cast<const unsigned char *>(buf.data());
        size_t at = 2;
        uint64_t n = u[1] & 0x7f;
        if (n == 126) {
            if (buf.size() < 4) return false;
            n = uint64_t(u[2]) << 8 | u[3], at = 4;
        } else if (n == 127) {
            if (buf.size() < 10) return false;
            n = 0;
            for (int i = 0; i < 8; i++) n = n << 8 | u[2 + i];
            at = 10;
        }
        bool masked = u[1] & 0x80;
        if (masked) at += 4;
        if (buf.size() < at + n) return false;
        f->op = u[0] & 0x0f;
        f->fin = u[0] & 0x80;
        f->masked = masked;
        f->payload = buf.substr(at, size_t(n));
        if (masked)
            for (size_t i = 0; i < f->payload.size(); i++) f->payload[i] ^= char(u[at - 4 + (i & 3)]);
        buf.erase(0, at + size_t(n));
        return true;
    }
};

inline iocpnet_conn_options ws_options(uint32_t max_message = 0) {
    iocpnet_conn_options o = t::default_options();
    o.framing = IOCPNET_FRAMING_WEBSOCKET;
    o.max_message_size = max_message;
    return o;
}

// A WebSocket listener on 127.0.0.1; returns its port.
inline uint16_t ws_listen(iocpnet_port *p, iocpnet_listener *l = nullptr, uint32_t max_message = 0) {
    iocpnet_conn_options o = ws_options(max_message);
    return t::listen_on(p, l, "127.0.0.1", &o);
}

} // namespace wst
