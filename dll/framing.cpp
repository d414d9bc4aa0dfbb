#include "framing.hpp"

#include "errors.hpp"

namespace iocpnet {

int frame_for(uint32_t framing, uint32_t max_message, const void *data, size_t len, Frame *out) {
    if (framing == IOCPNET_FRAMING_RAW) return IOCPNET_OK;
    if (len > max_message)
        return fail(IOCPNET_E_LIMIT, "message of %zu bytes exceeds max_message_size %u", len, max_message);
    if (framing == IOCPNET_FRAMING_LENGTH_PREFIX) {
        out->head[0] = uint8_t(len >> 24), out->head[1] = uint8_t(len >> 16);
        out->head[2] = uint8_t(len >> 8), out->head[3] = uint8_t(len);
        out->head_len = 4;
        return IOCPNET_OK;
    }
    if (len && memchr(data, '\n', len))
        return fail(IOCPNET_E_INVALID_ARG, "a LINE-framed message must not contain '\\n'");
    out->newline = true;
    return IOCPNET_OK;
}

} // namespace iocpnet
