// The C ABI of TLS: argument checks behind the exception barrier (guarded,
// errors.hpp), as api.cpp does for the rest.
#include <cstring>
#include <new>

#include "../errors.hpp"
#include "../port.hpp"
#include "tls.hpp"

using namespace iocpnet;

namespace {

constexpr uint32_t kTlsOptionsMinSize = 8;

} // namespace

extern "C" {

void iocpnet_tls_options_init(iocpnet_tls_options *opt) {
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->struct_size = sizeof *opt;
    opt->role = IOCPNET_TLS_SERVER;
    opt->verify_peer = 1;
}

int iocpnet_tls_create(const iocpnet_tls_options *opt, iocpnet_tls **out) {
    return guarded([&]() -> int {
        if (!out) return fail(IOCPNET_E_INVALID_ARG, "out is NULL");
        *out = nullptr;
        if (!opt) return fail(IOCPNET_E_INVALID_ARG, "opt is NULL");
        if (opt->struct_size < kTlsOptionsMinSize)
            return fail(IOCPNET_E_INVALID_ARG, "iocpnet_tls_options.struct_size %u is too small", opt->struct_size);
        iocpnet_tls_options o;
        iocpnet_tls_options_init(&o);
        memcpy(&o, opt, opt->struct_size < sizeof o ? opt->struct_size : sizeof o);
        if (o.role != IOCPNET_TLS_SERVER && o.role != IOCPNET_TLS_CLIENT)
            return fail(IOCPNET_E_INVALID_ARG, "unknown TLS role %u", o.role);
        if (o.role == IOCPNET_TLS_SERVER && (!(o.cert_pem || o.cert_file) || !(o.key_pem || o.key_file)))
            return fail(IOCPNET_E_INVALID_ARG, "a TLS server needs a certificate and a key");
        if (!(o.cert_pem || o.cert_file) != !(o.key_pem || o.key_file))
            return fail(IOCPNET_E_INVALID_ARG, "a certificate needs its key and a key its certificate");
        TlsConfig *cfg = nullptr;
        int rc = tls_config_create(o, &cfg);
        if (rc == IOCPNET_OK) *out = cfg;
        return rc;
    });
}

int iocpnet_tls_release(iocpnet_tls *tls) {
    return guarded([&]() -> int {
        if (!tls) return fail(IOCPNET_E_INVALID_ARG, "tls is NULL");
        static_cast<TlsConfig *>(tls)->unref();
        return IOCPNET_OK;
    });
}

int iocpnet_conn_tls_info(iocpnet_port *port, iocpnet_conn conn, uint32_t what, char *buf, size_t buflen) {
    return guarded([&]() -> int {
        if (!port) return fail(IOCPNET_E_INVALID_ARG, "port is NULL");
        if (!buf || !buflen) return fail(IOCPNET_E_INVALID_ARG, "buf is NULL or empty");
        buf[0] = 0;
        if (what > IOCPNET_TLS_INFO_ERROR) return fail(IOCPNET_E_INVALID_ARG, "unknown TLS info %u", what);
        return static_cast<Port *>(port)->tls_info(conn, what, buf, buflen);
    });
}

} // extern "C"
