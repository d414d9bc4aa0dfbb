// The TLS provider of a platform without one yet (Windows, until its
// provider lands): no configuration can be created, so no session exists
// and the members below are never reached.
#include "../errors.hpp"
#include "tls.hpp"

namespace iocpnet {

struct TlsSession::Impl {};

void TlsConfig::unref() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

int tls_config_create(const iocpnet_tls_options &, TlsConfig **) {
    return fail(IOCPNET_E_UNSUPPORTED, "TLS is not available on this platform yet");
}

int TlsSession::create(TlsConfig *, const char *, TlsSession **) {
    return fail(IOCPNET_E_UNSUPPORTED, "TLS is not available on this platform yet");
}
TlsSession::~TlsSession() {
    delete impl_;
    if (cfg_) cfg_->unref();
}
TlsSession::Step TlsSession::handshake(const uint8_t *, size_t) { return kFailed; }
int TlsSession::recv(const uint8_t *, size_t, Up &) { return IOCPNET_E_TLS; }
int TlsSession::send(const Frame &, const IoVec *, size_t, SendQueue &, BlockCache *) { return IOCPNET_E_TLS; }
bool TlsSession::take_output(SendQueue &) { return false; }
size_t TlsSession::queued(const SendQueue &) const { return plain_q_ + plain_pending_; }
size_t TlsSession::sent(size_t) { return 0; }
void TlsSession::dropped() {}
void TlsSession::close_notify(SendQueue &) {}
std::string TlsSession::info(uint32_t) { return std::string(); }
void TlsSession::set_error(const char *) {}

} // namespace iocpnet
