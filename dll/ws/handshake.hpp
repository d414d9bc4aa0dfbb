// The HTTP/1.1 part of a WebSocket connection (RFC 6455 section 4): parsing
// the request or response head (bounded: the caller gives the limit), and
// writing the Upgrade request, the 101 reply and the plain replies (400,
// 404, a registered page).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace iocpnet {
namespace ws {

struct HttpHead {
    std::string method, target;  // request line
    int status = 0;              // response line
    std::vector<std::pair<std::string, std::string>> headers; // in order, values trimmed
    // The first header of that name (ASCII case-insensitive), or NULL.
    const std::string *find(const char *name) const;
};

// Parses a head ending in an empty line. Returns the bytes it took (> 0),
// 0 when more bytes are needed (and fewer than max arrived so far), or -1
// when it is malformed or longer than max.
long parse_head(const uint8_t *p, size_t n, bool response, size_t max, HttpHead *out);

// Whether a comma-separated header value holds token (case-insensitive).
bool has_token(const std::string &value, const char *token);

enum class Verdict { upgrade, plain_get, bad, bad_version };
// What a parsed request asks for: a valid WebSocket upgrade, a plain GET
// (no Upgrade header), or neither.
Verdict judge_request(const HttpHead &h);

std::string reply_101(const std::string &client_key);
std::string reply_plain(int status, const char *reason, const char *content_type, const void *body, size_t len);
std::string client_request(const std::string &host, const std::string &path, const std::string &key);
// Whether a parsed response accepts our key.
bool response_accepts(const HttpHead &h, const std::string &key);

} // namespace ws
} // namespace iocpnet
