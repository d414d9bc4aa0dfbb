#include "ws/handshake.hpp"

#include <cstring>

#include "ws/sha1.hpp"

namespace iocpnet {
namespace ws {

namespace {
char lower(char c) { return c >= 'A' && c <= 'Z' ? char(c + 32) : c; }
bool ieq(const std::string &a, const char *b) {
    size_t n = strlen(b);
    if (a.size() != n) return false;
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}
std::string trim(const std::string &s) {
    size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\t')) b++;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) e--;
    return s.substr(b, e - b);
}
bool is_tchar(char c) { // RFC 7230 token characters
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c);
}
} // namespace

const std::string *HttpHead::find(const char *name) const {
    for (auto &h : headers)
        if (ieq(h.first, name)) return &h.second;
    return nullptr;
}

long parse_head(const uint8_t *p, size_t n, bool response, size_t max, HttpHead *out) {
    // Find the end of the head ("\r\n\r\n"; a bare "\n\n" is accepted too).
    size_t end = 0, lim = n < max ? n : max;
    for (size_t i = 0; i < lim; i++) {
        if (p[i] != '\n') continue;
        if (i >= 1 && p[i - 1] == '\n') { end = i + 1; break; }
        if (i >= 2 && p[i - 1] == '\r' && p[i - 2] == '\n') { end = i + 1; break; }
    }
    if (!end) return n >= max ? -1 : 0;
    *out = HttpHead{};
    std::string text(reinterpret_cast<const char *>(p), end);
    size_t pos = 0;
    bool first = true;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) break;
        for (char ch : line)
            if ((unsigned char)ch < 0x20 && ch != '\t') return -1; // no control bytes in a head
        if (first) {
            first = false;
            size_t s1 = line.find(' ');
            if (s1 == std::string::npos || s1 == 0) return -1;
            if (response) {
                if (line.compare(0, 5, "HTTP/") != 0 || line.size() < s1 + 4) return -1;
                int st = 0;
                for (size_t i = s1 + 1; i < s1 + 4; i++) {
                    if (line[i] < '0' || line[i] > '9') return -1;
                    st = st * 10 + (line[i] - '0');
                }
                out->status = st;
            } else {
                size_t s2 = line.find(' ', s1 + 1);
                if (s2 == std::string::npos || s2 == s1 + 1) return -1;
                out->method = line.substr(0, s1);
                out->target = line.substr(s1 + 1, s2 - s1 - 1);
                std::string ver = line.substr(s2 + 1);
                if (ver != "HTTP/1.1" && ver != "HTTP/1.0") return -1;
                for (char ch : out->method)
                    if (!is_tchar(ch)) return -1;
                if (out->target[0] != '/') return -1;
            }
            continue;
        }
        size_t colon = line.find(':');
        if (colon == std::string::npos || colon == 0) return -1;
        std::string name = line.substr(0, colon);
        for (char ch : name)
            if (!is_tchar(ch)) return -1;
        out->headers.emplace_back(name, trim(line.substr(colon + 1)));
        if (out->headers.size() > 100) return -1;
    }
    if (first) return -1;
    return long(end);
}

bool has_token(const std::string &value, const char *token) {
    size_t pos = 0;
    while (pos <= value.size()) {
        size_t comma = value.find(',', pos);
        if (comma == std::string::npos) comma = value.size();
        if (ieq(trim(value.substr(pos, comma - pos)), token)) return true;
        pos = comma + 1;
    }
    return false;
}

Verdict judge_request(const HttpHead &h) {
    const std::string *up = h.find("Upgrade");
    if (!up) return h.method == "GET" ? Verdict::plain_get : Verdict::bad;
    if (h.method != "GET" || !has_token(*up, "websocket")) return Verdict::bad;
    const std::string *conn = h.find("Connection"), *key = h.find("Sec-WebSocket-Key"),
                      *ver = h.find("Sec-WebSocket-Version");
    if (!conn || !has_token(*conn, "upgrade") || !key || key->size() != 24 || !h.find("Host")) return Verdict::bad;
    if (!ver || *ver != "13") return Verdict::bad_version;
    return Verdict::upgrade;
}

std::string reply_101(const std::string &client_key) {
    return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
           accept_key(client_key) + "\r\n\r\n";
}

std::string reply_plain(int status, const char *reason, const char *content_type, const void *body, size_t len) {
    std::string s = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
    if (status == 426) s += "Sec-WebSocket-Version: 13\r\n";
    s += "Content-Type: ";
    s += content_type;
    s += "\r\nContent-Length: " + std::to_string(len) + "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
    s.append(static_cast<const char *>(body), len);
    return s;
}

std::string client_request(const std::string &host, const std::string &path, const std::string &key) {
    return "GET " + path + " HTTP/1.1\r\nHost: " + host +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
           "\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

bool response_accepts(const HttpHead &h, const std::string &key) {
    const std::string *up = h.find("Upgrade"), *conn = h.find("Connection"), *acc = h.find("Sec-WebSocket-Accept");
    return h.status == 101 && up && has_token(*up, "websocket") && conn && has_token(*conn, "upgrade") && acc &&
           *acc == accept_key(key);
}

} // namespace ws
} // namespace iocpnet
