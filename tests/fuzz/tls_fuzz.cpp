// libFuzzer target: arbitrary bytes from the network into the server side
// of the TLS layer (TlsSession), cut into arbitrary pieces, as a hostile
// client would send them: the handshake, then (if a real handshake ever
// came out of it) records. No crash, no leak, no UB; the plaintext
// accounting always returns to zero. Input layout: bytes 0..7 are piece
// sizes, the rest is the stream. The server's certificate is made once, in
// memory, at start.
#include <cstdlib>
#include <string>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tls/tls.hpp"

using namespace iocpnet;

namespace {

std::string pem_of(int (*write)(BIO *, void *), void *obj) {
    BIO *b = BIO_new(BIO_s_mem());
    write(b, obj);
    char *p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    std::string s(p, size_t(n));
    BIO_free(b);
    return s;
}

TlsConfig *make_server() {
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char *>("localhost"), -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, key, EVP_sha256());
    std::string cert = pem_of([](BIO *b, void *o) { return PEM_write_bio_X509(b, static_cast<X509 *>(o)); }, x);
    std::string k = pem_of(
        [](BIO *b, void *o) {
            return PEM_write_bio_PrivateKey(b, static_cast<EVP_PKEY *>(o), nullptr, nullptr, 0, nullptr, nullptr);
        },
        key);
    X509_free(x);
    EVP_PKEY_free(key);
    iocpnet_tls_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.role = IOCPNET_TLS_SERVER;
    o.cert_pem = cert.c_str();
    o.key_pem = k.c_str();
    o.alpn = "h2,http/1.1";
    TlsConfig *cfg = nullptr;
    if (tls_config_create(o, &cfg) != IOCPNET_OK) abort();
    return cfg;
}

struct Sink : Layer::Up {
    size_t bytes = 0;
    bool put(const uint8_t *, size_t n) override {
        bytes += n;
        return true;
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static TlsConfig *cfg = make_server(); // kept for the process: one certificate
    if (size < 8) return 0;
    TlsSession *s = nullptr;
    if (TlsSession::create(cfg, nullptr, &s) != IOCPNET_OK) abort();
    SendQueue q;
    const uint8_t *p = data + 8;
    size_t left = size - 8;
    bool done = false, dead = false;
    for (unsigned i = 0; left && !dead; i++) {
        size_t k = 1 + data[i % 8] * (i % 3 + 1);
        if (k > left) k = left;
        if (!done) {
            TlsSession::Step st = s->handshake(p, k);
            if (st == TlsSession::kFailed) dead = true;
            done = st == TlsSession::kDone;
        } else {
            Sink up;
            if (s->recv(p, k, up) != IOCPNET_OK) dead = true;
        }
        s->take_output(q);
        p += k, left -= k;
    }
    // a graceful close after whatever happened, then everything "sent"
    s->close_notify(q);
    if (s->sent(q.bytes()) != 0 || s->queued(q) != 0) abort(); // no payload was ever queued
    q.clear();
    s->dropped();
    delete s;
    return 0;
}
