#include "framing.hpp"

#include "errors.hpp"

namespace iocpnet {

int frame_for(uint32_t framing, const void *data, size_t len, Frame *out) {
    IoVec part{data, len};
    return frame_for(framing, &part, 1, len, out);
}

int frame_for(uint32_t framing, const IoVec *parts, size_t n, size_t len, Frame *out) {
    // No max_message_size here: it bounds what the peer may send us; our own
    // sends are bounded by what the frame can express and max_send_queue_bytes.
    if (framing == IOCPNET_FRAMING_RAW) return IOCPNET_OK;
    if (framing == IOCPNET_FRAMING_LENGTH_PREFIX) {
        if (uint64_t(len) > 0xFFFFFFFFull)
            return fail(IOCPNET_E_LIMIT, "a LENGTH_PREFIX message of %zu bytes does not fit its 4-byte header", len);
        out->head[0] = uint8_t(len >> 24), out->head[1] = uint8_t(len >> 16);
        out->head[2] = uint8_t(len >> 8), out->head[3] = uint8_t(len);
        out->head_len = 4;
        return IOCPNET_OK;
    }
    for (size_t i = 0; i < n; i++)
        if (parts[i].len && memchr(parts[i].base, '\n', parts[i].len))
            return fail(IOCPNET_E_INVALID_ARG, "a LINE-framed message must not contain '\\n'");
    out->tail_len = 1;
    return IOCPNET_OK;
}

} // namespace iocpnet
