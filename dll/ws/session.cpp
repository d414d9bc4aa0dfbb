#include "ws/session.hpp"

#include <chrono>
#include <cstring>
#include <new>
#include <random>

#include "errors.hpp"
#include "ws/sha1.hpp"

namespace iocpnet {
namespace ws {

namespace {
// p[i] ^= key[i % 4], eight bytes at a time: a server unmasks every byte it
// receives. The key repeated twice is the same 8 bytes in either byte order.
void unmask(uint8_t *p, size_t n, const uint8_t *key) {
    uint32_t k4;
    memcpy(&k4, key, 4);
    const uint64_t k8 = uint64_t(k4) << 32 | k4;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= k8;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++) p[i] ^= key[i & 3];
}
} // namespace

Session::Session(bool client, uint32_t max_message) : client_(client), max_(max_message) {
    // Masking keys must not be predictable by a script that controls the
    // payload (RFC 6455 10.3): seed from the system's entropy source.
    std::random_device rd;
    rng_.store((uint64_t(rd()) << 32 | rd()) ^ uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()),
               std::memory_order_relaxed);
    utf8_.reset();
}

// splitmix64 over an atomic counter: frame() runs under the connection's
// lock on any thread while the owner encodes pongs without it.
uint32_t Session::rand32() {
    uint64_t z = rng_.fetch_add(0x9E3779B97F4A7C15ull, std::memory_order_relaxed) + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return uint32_t((z ^ (z >> 31)) >> 32);
}

std::string Session::client_request(const std::string &host, const std::string &path) {
    uint8_t k[16];
    for (int i = 0; i < 16; i += 4) {
        uint32_t r = rand32();
        memcpy(k + i, &r, 4);
    }
    key_ = base64(k, 16);
    return ws::client_request(host, path, key_);
}

int Session::feed(uint8_t *p, size_t n, Events &ev, size_t *used) {
    *used = n; // unless the receiver pauses
    if (dead_) return IOCPNET_OK;
    // The head, a fragmented message and the replies grow with what the peer
    // sends: out of memory ends this connection (close code 1011), never the
    // worker's loop halfway through a completion.
    try {
        size_t head = 0;
        if (!open_.load(std::memory_order_relaxed)) {
            int rc = handshake(p, n, &head, ev);
            if (rc != IOCPNET_OK || !open_.load(std::memory_order_relaxed) || dead_) return rc;
            p += head, n -= head;
            if (!ev.upgraded()) return IOCPNET_OK;
        }
        size_t took = n;
        int rc = frames(p, n, ev, &took);
        *used = head + took;
        return rc;
    } catch (const std::bad_alloc &) {
        dead_ = true;
        *used = n;
        return IOCPNET_E_NO_MEMORY;
    }
}

// Collects the head (bounded by kMaxHead) and answers it. *used: bytes of p
// that belong to the head; what follows is frames.
int Session::handshake(const uint8_t *p, size_t n, size_t *used, Events &ev) {
    size_t before = hs_.size();
    size_t take = n < kMaxHead + 1 - before ? n : kMaxHead + 1 - before;
    hs_.insert(hs_.end(), p, p + take);
    HttpHead h;
    long got = parse_head(hs_.data(), hs_.size(), client_, kMaxHead, &h);
    if (got == 0) {
        *used = n;
        return IOCPNET_OK;
    }
    dead_ = true; // until proven otherwise
    if (got < 0) {
        if (!client_) {
            std::string r = reply_plain(400, "Bad Request", "text/plain", "bad request\n", 12);
            ev.output(reinterpret_cast<const uint8_t *>(r.data()), r.size());
        }
        return fail(IOCPNET_E_PROTOCOL, "malformed or oversized WebSocket handshake");
    }
    *used = size_t(got) - before;
    hs_.clear();
    hs_.shrink_to_fit();
    if (client_) {
        if (!response_accepts(h, key_))
            return fail(IOCPNET_E_PROTOCOL, "the server did not accept the WebSocket upgrade (status %d)", h.status);
    } else {
        std::string r;
        switch (judge_request(h)) {
        case Verdict::upgrade: r = reply_101(*h.find("Sec-WebSocket-Key")); break;
        case Verdict::plain_get:
            ev.plain_get(h, &r);
            ev.output(reinterpret_cast<const uint8_t *>(r.data()), r.size());
            ev.end(IOCPNET_OK);
            return IOCPNET_OK;
        case Verdict::bad_version:
            r = reply_plain(426, "Upgrade Required", "text/plain", "", 0);
            ev.output(reinterpret_cast<const uint8_t *>(r.data()), r.size());
            return fail(IOCPNET_E_PROTOCOL, "unsupported Sec-WebSocket-Version");
        case Verdict::bad:
            r = reply_plain(400, "Bad Request", "text/plain", "bad request\n", 12);
            ev.output(reinterpret_cast<const uint8_t *>(r.data()), r.size());
            return fail(IOCPNET_E_PROTOCOL, "not a WebSocket upgrade request");
        }
        ev.output(reinterpret_cast<const uint8_t *>(r.data()), r.size());
    }
    head_ = std::move(h);
    dead_ = false;
    open_.store(true, std::memory_order_release);
    return IOCPNET_OK;
}

int Session::violation(uint16_t code) {
    dead_ = true;
    err_code_ = code;
    if (code == 1009) return fail(IOCPNET_E_MESSAGE_TOO_LARGE, "WebSocket message larger than max_message_size");
    return fail(IOCPNET_E_PROTOCOL, "WebSocket protocol violation (close code %u)", unsigned(code));
}

int Session::frames(uint8_t *p, size_t n, Events &ev, size_t *used) {
    const size_t total = n;
    while (n || (in_payload_ && left_ == 0)) {
        if (!in_payload_ && have_ == 0 && !ev.ready()) { // paused (or closed): the rest waits
            *used = total - n;
            return IOCPNET_OK;
        }
        if (!in_payload_) {
            // Header: 2 bytes, then as many as they announce.
            while (have_ < hlen_ && n) {
                h_[have_++] = *p++, --n;
                if (have_ == 2) {
                    fin_ = h_[0] & 0x80;
                    op_ = h_[0] & 0x0F;
                    masked_ = h_[1] & 0x80;
                    unsigned l7 = h_[1] & 0x7F;
                    hlen_ = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + (masked_ ? 4 : 0);
                    if (h_[0] & 0x70) return violation(1002); // no extension was negotiated
                    if (masked_ == client_) return violation(1002); // clients mask, servers do not
                    bool ctl = op_ & 0x08;
                    if (ctl ? (op_ > kPong || !fin_ || l7 > 125) : op_ > kBinary) return violation(1002);
                    if (!ctl && (op_ == kCont) == (msg_type_ == 0)) return violation(1002); // bad fragment order
                }
            }
            if (have_ < hlen_) return IOCPNET_OK;
            unsigned l7 = h_[1] & 0x7F, at = 2;
            if (l7 == 126) left_ = uint64_t(h_[2]) << 8 | h_[3], at = 4;
            else if (l7 == 127) {
                left_ = 0;
                for (int i = 0; i < 8; i++) left_ = left_ << 8 | h_[2 + i];
                at = 10;
                if (left_ >> 63) return violation(1002);
            } else left_ = l7;
            have_ = 0, hlen_ = 2, koff_ = 0, in_payload_ = true;
            if (!(op_ & 0x08)) {
                if (op_ != kCont) msg_type_ = op_, utf8_.reset();
                if (left_ > uint64_t(max_) - msg_.size()) return violation(1009); // the whole message counts
                // A whole single-frame message already here: delivered where it
                // is, no copy; a client's is unmasked in place first (the bytes
                // are ours, see feed).
                if (fin_ && msg_.empty() && n >= left_) {
                    uint8_t *m = p;
                    size_t len = size_t(left_);
                    if (masked_) unmask(m, len, h_ + at);
                    p += len, n -= len, left_ = 0, in_payload_ = false;
                    if (msg_type_ == kText && (!utf8_.feed(m, len) || !utf8_.complete())) return violation(1007);
                    rx_type.store(msg_type_, std::memory_order_relaxed);
                    msg_type_ = 0;
                    if (!ev.message(m, len)) return IOCPNET_OK;
                    continue;
                }
            } else {
                ctl_.clear();
            }
        }
        size_t take = left_ < n ? size_t(left_) : n;
        std::vector<uint8_t> &dst = (op_ & 0x08) ? ctl_ : msg_;
        size_t at = dst.size();
        dst.resize(at + take); // grows only with bytes received
        if (take) {
            memcpy(&dst[at], p, take);
            if (masked_) { // the key turned to where this part starts in the frame
                const uint8_t *k = h_ + ((h_[1] & 0x7F) == 126 ? 4 : (h_[1] & 0x7F) == 127 ? 10 : 2);
                const uint8_t rk[4] = {k[koff_ & 3], k[(koff_ + 1) & 3], k[(koff_ + 2) & 3], k[(koff_ + 3) & 3]};
                unmask(&dst[at], take, rk);
            }
        }
        koff_ += take, left_ -= take, p += take, n -= take;
        if (take && !(op_ & 0x08) && msg_type_ == kText && !utf8_.feed(&dst[at], take)) return violation(1007);
        if (left_) return IOCPNET_OK;
        in_payload_ = false;
        if (op_ & 0x08) {
            int rc = control(ev);
            if (rc != IOCPNET_OK || dead_) return rc;
            continue;
        }
        if (!fin_) continue;
        if (msg_type_ == kText && !utf8_.complete()) return violation(1007);
        rx_type.store(msg_type_, std::memory_order_relaxed);
        msg_type_ = 0;
        bool go = ev.message(msg_.data(), msg_.size());
        msg_.clear();
        if (msg_.capacity() > 65536) msg_.shrink_to_fit(); // a large message does not pin its buffer
        if (!go) return IOCPNET_OK;
    }
    return IOCPNET_OK;
}

int Session::control(Events &ev) {
    if (op_ == kPing) {
        std::string f = encode(kPong, ctl_.data(), ctl_.size());
        ev.output(reinterpret_cast<const uint8_t *>(f.data()), f.size());
        return IOCPNET_OK;
    }
    if (op_ == kPong) return IOCPNET_OK;
    // Close: check its code and reason, answer with the same code, end.
    if (ctl_.size() == 1) return violation(1002);
    if (ctl_.size() >= 2) {
        unsigned code = unsigned(ctl_[0]) << 8 | ctl_[1];
        bool ok = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
        if (!ok) return violation(1002);
        Utf8 u;
        u.reset();
        if (!u.feed(ctl_.data() + 2, ctl_.size() - 2) || !u.complete()) return violation(1007);
    }
    dead_ = true;
    if (!close_sent_.exchange(true)) {
        std::string f = encode(kClose, ctl_.data(), ctl_.size() >= 2 ? 2 : 0);
        ev.output(reinterpret_cast<const uint8_t *>(f.data()), f.size());
    }
    ev.end(IOCPNET_E_PEER_CLOSED);
    return IOCPNET_OK;
}

int Session::frame(size_t len, Frame *f) {
    uint8_t *h = f->head;
    unsigned i = 0;
    h[i++] = uint8_t(0x80 | send_type.load(std::memory_order_relaxed));
    uint8_t m = client_ ? 0x80 : 0;
    if (len < 126) h[i++] = uint8_t(m | len);
    else if (len < 65536) h[i++] = uint8_t(m | 126), h[i++] = uint8_t(len >> 8), h[i++] = uint8_t(len);
    else {
        h[i++] = uint8_t(m | 127);
        for (int s = 56; s >= 0; s -= 8) h[i++] = uint8_t(uint64_t(len) >> s);
    }
    if (client_) {
        uint32_t k = rand32();
        memcpy(h + i, &k, 4);
        i += 4;
    }
    f->head_len = uint8_t(i);
    return IOCPNET_OK;
}

void Session::mask(const Frame &f, uint8_t *dst, const uint8_t *src, size_t n, size_t off) {
    const uint8_t *k = f.head + f.head_len - 4;
    for (size_t i = 0; i < n; i++) dst[i] = src[i] ^ k[(off + i) & 3];
}

std::string Session::encode(uint8_t op, const uint8_t *p, size_t n) {
    // Control frames only (n <= 125).
    std::string s;
    s += char(0x80 | op);
    s += char((client_ ? 0x80 : 0) | n);
    uint8_t k[4] = {};
    if (client_) {
        uint32_t r = rand32();
        memcpy(k, &r, 4);
        s.append(reinterpret_cast<char *>(k), 4);
    }
    for (size_t i = 0; i < n; i++) s += char(p[i] ^ k[i & 3]);
    return s;
}

std::string Session::close_frame(int reason) {
    // No frame when the peer is gone or the stream below is broken (a TLS
    // error: the layer carries nothing more, and its alert goes out alone).
    if (!open_.load(std::memory_order_acquire) || reason == IOCPNET_E_PEER_CLOSED || reason == IOCPNET_E_CONN_RESET ||
        reason == IOCPNET_E_TLS)
        return {};
    if (close_sent_.exchange(true)) return {};
    uint16_t code = 1000;
    if (reason == IOCPNET_E_MESSAGE_TOO_LARGE) code = 1009;
    else if (reason == IOCPNET_E_PROTOCOL) code = err_code_;
    else if (reason == IOCPNET_E_TIMEOUT || reason == IOCPNET_E_SHUTTING_DOWN) code = 1001;
    else if (reason != IOCPNET_OK) code = 1011;
    uint8_t b[2] = {uint8_t(code >> 8), uint8_t(code)};
    return encode(kClose, b, 2);
}

} // namespace ws
} // namespace iocpnet
