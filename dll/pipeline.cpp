// The pipeline's rare paths, out of line so that the per-message code in
// pipeline.hpp stays small: setting a connection's pipeline up and tearing
// it down, and holding received bytes for a paused receiver.
#include "pipeline.hpp"

#include <new>

namespace iocpnet {

bool Pipeline::reset(uint32_t framing, uint32_t max_message, Layer *layer, bool client) {
    dec_.reset(framing, max_message);
    held_.reset();
    ext_.reset();
    if (!layer && framing != IOCPNET_FRAMING_WEBSOCKET) return true; // a plain connection: no Ext
    ext_.reset(new (std::nothrow) Ext);
    if (ext_ && framing == IOCPNET_FRAMING_WEBSOCKET) {
        ext_->ws.reset(new (std::nothrow) ws::Session(client, max_message));
        if (!ext_->ws) ext_.reset();
        else ext_->announced = false;
    }
    if (!ext_) {
        dec_.reset(IOCPNET_FRAMING_RAW, 0);
        return false;
    }
    ext_->layer = layer;
    return true;
}

int Pipeline::hold(const uint8_t *p, size_t n) {
    if (!n) return IOCPNET_OK;
    if (!held_) held_.reset(new (std::nothrow) ByteBuf);
    if (held_ && held_->append(p, n)) return IOCPNET_OK;
    if (held_ && held_->empty()) held_.reset(); // holding() means bytes are held
    return IOCPNET_E_NO_MEMORY;
}

void Pipeline::unhold(size_t used) {
    if (used >= held_->size()) held_.reset();
    else held_->consume(used);
}

} // namespace iocpnet
