// SHA-1 and base64, only for the WebSocket handshake's Sec-WebSocket-Accept
// (RFC 6455 4.2.2): a fixed GUID appended to the client's key, hashed and
// encoded. SHA-1 is not used for anything secret here, so a small
// implementation of our own avoids a crypto dependency.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace iocpnet {
namespace ws {

void sha1(const void *data, size_t len, uint8_t out[20]);
std::string base64(const uint8_t *p, size_t n);
// base64(sha1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
std::string accept_key(const std::string &key);

} // namespace ws
} // namespace iocpnet
