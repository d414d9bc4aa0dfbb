// The OpenSSL 3 provider of TlsConfig and TlsSession: Debian's libssl on
// Linux, the same source cross-built and linked statically into iocpnet.dll
// on Windows (scripts/openssl-mingw.sh). A session runs its SSL over a BIO of
// its own: SSL reads what the socket received from the engine's buffer and
// writes its records into the send queue, so TLS never touches the socket and
// works with every backend.
#include <algorithm>
#include <cstring>

#ifdef _WIN32
// Before OpenSSL: its headers undo wincrypt.h's X509_NAME & co. macros.
#include <winsock2.h>
#include <windows.h>
#include <wincrypt.h>
#endif

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../errors.hpp"
#include "tls.hpp"

namespace iocpnet {
namespace {

SSL_CTX *ctx_of(TlsConfig *c) { return static_cast<SSL_CTX *>(c->impl); }

// The reason of the newest error on this thread's OpenSSL queue (which is
// cleared), or "" when there is none.
std::string openssl_reason() {
    unsigned long e, last = 0;
    while ((e = ERR_get_error()) != 0) last = e;
    if (!last) return std::string();
    const char *r = ERR_reason_error_string(last);
    if (r) return r;
    char buf[256];
    ERR_error_string_n(last, buf, sizeof buf);
    return buf;
}

int tls_fail(const char *what) {
    std::string r = openssl_reason();
    return fail(IOCPNET_E_TLS, "%s%s%s", what, r.empty() ? "" : ": ", r.c_str());
}

// Every certificate of a PEM text or file, in order; false if none could be read.
template <class Each> bool for_each_cert(const char *pem, const char *file, Each each) {
    BIO *b = pem ? BIO_new_mem_buf(pem, -1) : BIO_new_file(file, "r");
    if (!b) return false;
    int n = 0;
    while (X509 *x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) {
        bool ok = each(x, n++);
        X509_free(x);
        if (!ok) {
            BIO_free(b);
            return false;
        }
    }
    BIO_free(b);
    if (n) ERR_clear_error(); // the read past the last certificate
    return n > 0;
}

// Server: picks the first of our protocols the client offers; none in
// common goes on without ALPN.
int select_alpn(SSL *, const unsigned char **out, unsigned char *outlen, const unsigned char *in, unsigned inlen,
                void *arg) {
    auto *cfg = static_cast<TlsConfig *>(arg);
    unsigned char *o = nullptr;
    if (SSL_select_next_proto(&o, outlen, reinterpret_cast<const unsigned char *>(cfg->alpn_wire.data()),
                              unsigned(cfg->alpn_wire.size()), in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = o;
    return SSL_TLSEXT_ERR_OK;
}

// A client's trust when it names no CA: the system's store. On Windows that
// is the ROOT certificate store (OpenSSL's default paths mean nothing
// there): each certificate is copied into the context's X509_STORE.
int load_system_roots(SSL_CTX *ctx) {
#ifdef _WIN32
    HCERTSTORE store = CertOpenSystemStoreW(0, L"ROOT");
    if (!store) return fail(IOCPNET_E_TLS, "cannot open the Windows ROOT certificate store (error %lu)", GetLastError());
    X509_STORE *st = SSL_CTX_get_cert_store(ctx);
    int n = 0;
    PCCERT_CONTEXT c = nullptr;
    while ((c = CertEnumCertificatesInStore(store, c)) != nullptr) {
        if (!(c->dwCertEncodingType & X509_ASN_ENCODING)) continue;
        const unsigned char *p = c->pbCertEncoded;
        X509 *x = d2i_X509(nullptr, &p, long(c->cbCertEncoded));
        if (x && X509_STORE_add_cert(st, x) == 1) n++;
        X509_free(x);
    }
    CertCloseStore(store, 0);
    ERR_clear_error(); // a root OpenSSL cannot parse is skipped, not an error
    log(IOCPNET_LOG_DEBUG, "TLS: %d certificates from the Windows ROOT store", n);
    return IOCPNET_OK;
#else
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) return tls_fail("cannot load the system's CA store");
    return IOCPNET_OK;
#endif
}

// OpenSSL fills a certificate's extension cache (key identifiers, purpose
// flags) on first use, inside the X509 object; the handshakes of several
// workers share the configuration's certificates, and ThreadSanitizer saw
// one fill while another handshake compared its key identifiers. Filling
// them here, before any handshake, leaves the handshakes only reading.
void warm_certificates(SSL_CTX *ctx) {
    auto warm = [](X509 *x) {
        if (x) X509_check_purpose(x, -1, 0);
    };
    warm(SSL_CTX_get0_certificate(ctx));
    STACK_OF(X509) *chain = nullptr;
    if (SSL_CTX_get0_chain_certs(ctx, &chain) == 1 && chain)
        for (int i = 0; i < sk_X509_num(chain); i++) warm(sk_X509_value(chain, i));
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
    for (int i = 0; objs && i < sk_X509_OBJECT_num(objs); i++) warm(X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i)));
    ERR_clear_error();
}

int configure(const iocpnet_tls_options &o, TlsConfig *cfg, SSL_CTX *ctx) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // Records are built in memory: a write always completes.
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (o.cert_pem || o.cert_file) {
        bool ok = for_each_cert(o.cert_pem, o.cert_file, [&](X509 *x, int i) {
            return i == 0 ? SSL_CTX_use_certificate(ctx, x) == 1 : SSL_CTX_add1_chain_cert(ctx, x) == 1;
        });
        if (!ok) return tls_fail(o.cert_pem ? "cannot read the certificate PEM" : "cannot read cert_file");
    }
    if (o.key_pem || o.key_file) {
        BIO *b = o.key_pem ? BIO_new_mem_buf(o.key_pem, -1) : BIO_new_file(o.key_file, "r");
        EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr) : nullptr;
        BIO_free(b);
        if (!k) return tls_fail(o.key_pem ? "cannot read the private key PEM" : "cannot read key_file");
        int ok = SSL_CTX_use_PrivateKey(ctx, k);
        EVP_PKEY_free(k);
        if (ok != 1) return tls_fail("cannot use the private key");
        if (SSL_CTX_check_private_key(ctx) != 1) return tls_fail("the private key does not match the certificate");
    }
    bool have_ca = o.ca_pem || o.ca_file;
    if (have_ca) {
        X509_STORE *st = SSL_CTX_get_cert_store(ctx);
        bool ok = for_each_cert(o.ca_pem, o.ca_file, [&](X509 *x, int) {
            if (X509_STORE_add_cert(st, x) != 1) return false;
            return cfg->client || SSL_CTX_add_client_CA(ctx, x) == 1; // the server names them in its request
        });
        if (!ok) return tls_fail(o.ca_pem ? "cannot read the CA PEM" : "cannot read ca_file");
    }
    if (cfg->client) {
        if (o.verify_peer) {
            if (!have_ca) {
                int rc = load_system_roots(ctx);
                if (rc != IOCPNET_OK) return rc;
            }
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        } else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
        }
        if (!cfg->alpn_wire.empty() &&
            SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char *>(cfg->alpn_wire.data()),
                                    unsigned(cfg->alpn_wire.size())) != 0)
            return tls_fail("cannot set the ALPN list");
    } else {
        if (have_ca) SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
        if (!cfg->alpn_wire.empty()) SSL_CTX_set_alpn_select_cb(ctx, select_alpn, cfg);
    }
    warm_certificates(ctx);
    return IOCPNET_OK;
}

} // namespace

void TlsConfig::unref() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    SSL_CTX_free(ctx_of(this));
    delete this;
}

int tls_config_create(const iocpnet_tls_options &o, TlsConfig **out) {
    auto *cfg = new (std::nothrow) TlsConfig;
    if (!cfg) return fail(IOCPNET_E_NO_MEMORY, "no memory for a TLS configuration");
    cfg->client = o.role == IOCPNET_TLS_CLIENT;
    if (o.alpn) { // "h2,http/1.1" -> "\x02h2\x08http/1.1"
        const char *p = o.alpn;
        while (*p) {
            const char *e = strchr(p, ',');
            size_t n = e ? size_t(e - p) : strlen(p);
            if (n == 0 || n > 255) {
                delete cfg;
                return fail(IOCPNET_E_INVALID_ARG, "malformed ALPN list \"%s\"", o.alpn);
            }
            cfg->alpn_wire.push_back(char(n));
            cfg->alpn_wire.append(p, n);
            p += n + (e ? 1 : 0);
        }
    }
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(cfg->client ? TLS_client_method() : TLS_server_method());
    if (!ctx) {
        delete cfg;
        return tls_fail("cannot create an SSL_CTX");
    }
    cfg->impl = ctx;
    int rc = configure(o, cfg, ctx);
    ERR_clear_error();
    if (rc != IOCPNET_OK) {
        cfg->unref();
        return rc;
    }
    *out = cfg;
    return IOCPNET_OK;
}

// ------------------------------------------------------------------ session

// The session's one BIO (both directions) instead of two memory BIOs,
// which cost a clear (memset) of every byte written, a clear of the whole
// buffer on each reset and a memmove of every partial record left behind.
// Reading: SSL reads straight from the bytes the engine passes to
// handshake/recv (`span`); what SSL has not taken when the call returns is
// copied to `stash` (rare: a stopped feed, application data in the
// handshake's last flight; SSL itself keeps a partial record). Writing: a
// record goes straight into the send queue when one is given (send,
// take_output, close_notify) and nothing waits before it; otherwise into
// `obuf` until take_output moves it.
namespace {

struct SessionIo {
    const uint8_t *span = nullptr; // the caller's bytes, during handshake/recv only
    size_t span_n = 0;
    std::string stash; // received bytes SSL has not read yet: stash[stash_off..]
    size_t stash_off = 0;
    std::string obuf;  // records waiting for a queue
    SendQueue *q = nullptr; // set while a call that may write straight to it runs
    BlockCache *cache = nullptr;
    size_t direct = 0; // bytes written straight to q during that call

    size_t readable() const { return stash.size() - stash_off + span_n; }
    // End of a feeding call: the caller's bytes are about to go away.
    void keep_rest() {
        if (stash_off == stash.size()) {
            stash_off = 0;
            if (span_n) stash.assign(reinterpret_cast<const char *>(span), span_n);
            else std::string().swap(stash); // nothing held while idle
        } else if (span_n) { // cannot happen (the stash is read first), kept exact anyway
            stash.erase(0, stash_off);
            stash_off = 0;
            stash.append(reinterpret_cast<const char *>(span), span_n);
        }
        span = nullptr;
        span_n = 0;
    }
};

int bio_write(BIO *b, const char *p, int n) {
    auto *m = static_cast<SessionIo *>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    if (n <= 0) return 0;
    if (m->q && m->obuf.empty() && m->q->append(Frame{}, p, size_t(n), nullptr, m->cache)) {
        m->direct += size_t(n);
        return n;
    }
    try {
        m->obuf.append(p, size_t(n)); // no queue now, or no memory in it: a later take_output moves it
    } catch (...) {
        return -1; // no memory: SSL fails the call
    }
    return n;
}

int bio_read(BIO *b, char *out, int n) {
    auto *m = static_cast<SessionIo *>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    if (n <= 0 || !out) return 0;
    size_t want = size_t(n), got = 0;
    if (m->stash_off < m->stash.size()) {
        got = std::min(want, m->stash.size() - m->stash_off);
        memcpy(out, m->stash.data() + m->stash_off, got);
        m->stash_off += got;
        if (m->stash_off == m->stash.size()) {
            m->stash.clear();
            m->stash_off = 0;
        }
    }
    if (got < want && m->span_n) {
        size_t k = std::min(want - got, m->span_n);
        memcpy(out + got, m->span, k);
        m->span += k;
        m->span_n -= k;
        got += k;
    }
    if (!got) { // empty means "more to come", not EOF
        BIO_set_retry_read(b);
        return -1;
    }
    return int(got);
}

long bio_ctrl(BIO *b, int cmd, long, void *) {
    auto *m = static_cast<SessionIo *>(BIO_get_data(b));
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_PENDING: return m ? long(m->readable()) : 0;
    case BIO_CTRL_WPENDING: return m ? long(m->obuf.size()) : 0;
    case BIO_CTRL_GET_CLOSE: return BIO_get_shutdown(b);
    case BIO_CTRL_SET_CLOSE: return 1;
    default: return 0;
    }
}

int bio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

// Created once, on first use (thread-safe static), never freed.
const BIO_METHOD *session_bio_method() {
    static BIO_METHOD *meth = [] {
        BIO_METHOD *bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "iocpnet TLS session");
        if (bm && (!BIO_meth_set_write(bm, bio_write) || !BIO_meth_set_read(bm, bio_read) ||
                   !BIO_meth_set_ctrl(bm, bio_ctrl) || !BIO_meth_set_create(bm, bio_create))) {
            BIO_meth_free(bm);
            bm = nullptr;
        }
        return bm;
    }();
    return meth;
}

// Runs an SSL call that may write records with the queue at hand: they go
// straight into it (in order: only while nothing waits in obuf). Returns the
// bytes written straight to the queue; the caller then moves obuf after them.
template <class Call> size_t with_queue(SessionIo &io, SendQueue &out, BlockCache *cache, Call call) {
    io.q = &out;
    io.cache = cache;
    io.direct = 0;
    call();
    io.q = nullptr;
    io.cache = nullptr;
    return io.direct;
}

} // namespace

struct TlsSession::Impl {
    SSL *ssl = nullptr;
    BIO *bio = nullptr; // owned by ssl
    SessionIo io;
};

int TlsSession::create(TlsConfig *cfg, const char *server_name, TlsSession **out) {
    auto *s = new (std::nothrow) TlsSession;
    if (!s) return fail(IOCPNET_E_NO_MEMORY, "no memory for a TLS session");
    s->impl_ = new (std::nothrow) Impl;
    if (!s->impl_) {
        delete s;
        return fail(IOCPNET_E_NO_MEMORY, "no memory for a TLS session");
    }
    cfg->ref();
    s->cfg_ = cfg;
    ERR_clear_error();
    Impl &m = *s->impl_;
    m.ssl = SSL_new(ctx_of(cfg));
    const BIO_METHOD *meth = session_bio_method();
    m.bio = meth ? BIO_new(meth) : nullptr;
    if (!m.ssl || !m.bio) {
        BIO_free(m.bio);
        m.bio = nullptr;
        delete s;
        return tls_fail("cannot create a TLS session");
    }
    BIO_set_data(m.bio, &m.io);
    SSL_set_bio(m.ssl, m.bio, m.bio); // one reference, owned by ssl
    int rc = IOCPNET_OK;
    if (cfg->client) {
        SSL_set_connect_state(m.ssl);
        if (server_name && *server_name) {
            bool ip = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(m.ssl), server_name) == 1;
            ERR_clear_error();
            if (!ip && (SSL_set_tlsext_host_name(m.ssl, server_name) != 1 || SSL_set1_host(m.ssl, server_name) != 1))
                rc = tls_fail("cannot set the server name");
        }
    } else {
        SSL_set_accept_state(m.ssl);
    }
    ERR_clear_error();
    if (rc != IOCPNET_OK) {
        delete s;
        return rc;
    }
    *out = s;
    return IOCPNET_OK;
}

TlsSession::~TlsSession() {
    if (impl_) SSL_free(impl_->ssl); // frees the BIO
    delete impl_;
    if (cfg_) cfg_->unref();
}

void TlsSession::capture_info_locked() {
    SSL *ssl = impl_->ssl;
    version_ = SSL_get_version(ssl);
    const char *c = SSL_get_cipher_name(ssl);
    cipher_ = c ? c : "";
    const unsigned char *a = nullptr;
    unsigned an = 0;
    SSL_get0_alpn_selected(ssl, &a, &an);
    alpn_.assign(reinterpret_cast<const char *>(a ? a : reinterpret_cast<const unsigned char *>("")), an);
    if (X509 *pc = SSL_get1_peer_certificate(ssl)) {
        BIO *b = BIO_new(BIO_s_mem());
        if (b && X509_NAME_print_ex(b, X509_get_subject_name(pc), 0, XN_FLAG_RFC2253) >= 0) {
            char *p = nullptr;
            long n = BIO_get_mem_data(b, &p);
            if (n > 0) subject_.assign(p, size_t(n));
        }
        BIO_free(b);
        X509_free(pc);
    }
    ERR_clear_error();
}

void TlsSession::capture_error_locked(int rc) {
    failed_ = true;
    int e = SSL_get_error(impl_->ssl, rc);
    std::string r = openssl_reason();
    long vr = SSL_get_verify_result(impl_->ssl);
    if (vr != X509_V_OK) {
        if (r.empty()) r = "certificate verify failed";
        r += ": ";
        r += X509_verify_cert_error_string(vr);
    }
    if (r.empty()) r = e == SSL_ERROR_ZERO_RETURN ? "the peer closed the session" : "TLS protocol error";
    if (error_.empty()) error_ = r;
}

void TlsSession::set_error(const char *why) {
    std::lock_guard<std::mutex> lk(mu_);
    failed_ = true;
    if (error_.empty()) error_ = why;
}

TlsSession::Step TlsSession::handshake(const uint8_t *p, size_t n) {
    std::lock_guard<std::mutex> lk(mu_);
    if (failed_) return kFailed;
    if (done_) return kDone;
    ERR_clear_error();
    impl_->io.span = p;
    impl_->io.span_n = n;
    int r = SSL_do_handshake(impl_->ssl);
    impl_->io.keep_rest(); // application data after the last flight waits for recv
    if (r == 1) {
        done_ = true;
        capture_info_locked();
        return kDone;
    }
    int e = SSL_get_error(impl_->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return kMore;
    }
    capture_error_locked(r);
    return kFailed;
}

int TlsSession::recv(const uint8_t *p, size_t n, Up &up) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (failed_) return IOCPNET_E_TLS;
        impl_->io.span = p; // read by SSL_read below; the rest is kept on every return
        impl_->io.span_n = n;
    }
    struct KeepRest { // p is the caller's: what SSL has not read is copied before it returns
        TlsSession *s;
        ~KeepRest() {
            std::lock_guard<std::mutex> lk(s->mu_);
            s->impl_->io.keep_rest();
        }
    } keep{this};
    for (;;) {
        int k, e = SSL_ERROR_NONE;
        bool last;
        {
            // Unlocked between reads: up runs user code, which may send here.
            std::lock_guard<std::mutex> lk(mu_);
            ERR_clear_error();
            k = SSL_read(impl_->ssl, rd_, int(sizeof rd_));
            if (k <= 0) {
                e = SSL_get_error(impl_->ssl, k);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                    ERR_clear_error();
                    return IOCPNET_OK;
                }
                if (e == SSL_ERROR_ZERO_RETURN) {
                    ERR_clear_error();
                    return IOCPNET_E_PEER_CLOSED;
                }
                capture_error_locked(k);
                return IOCPNET_E_TLS;
            }
            // All fed bytes consumed and nothing buffered inside SSL: the
            // next SSL_read could only say WANT_READ. Skipping it saves a
            // call per record (a tenth of a 64 B TLS echo's user time).
            last = impl_->io.readable() == 0 && !SSL_has_pending(impl_->ssl);
        }
        if (!up.put(rd_, size_t(k)) || last) return IOCPNET_OK;
    }
}

bool TlsSession::encrypt_locked(const uint8_t *p, size_t n) {
    while (n) {
        int k = n > (1u << 30) ? 1 << 30 : int(n);
        ERR_clear_error();
        int w = SSL_write(impl_->ssl, p, k);
        if (w <= 0) {
            capture_error_locked(w);
            return false;
        }
        p += w;
        n -= size_t(w);
    }
    return true;
}

size_t TlsSession::move_output_locked(SendQueue &out, BlockCache *cache) {
    std::string &o = impl_->io.obuf;
    if (o.empty()) return 0;
    if (!out.append(Frame{}, o.data(), o.size(), nullptr, cache)) return 0; // stays inside: a later call moves it
    size_t n = o.size();
    std::string().swap(o); // rare (handshake, tickets, alerts): nothing held while idle
    cipher_q_ += n;
    return n;
}

int TlsSession::send(const Frame &f, const IoVec *parts, size_t n, SendQueue &out, BlockCache *cache) {
    std::lock_guard<std::mutex> lk(mu_);
    if (failed_ || shut_) return IOCPNET_E_TLS;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) len += parts[i].len;
    size_t total = f.total(len);
    // Kept until the handshake is done and take_output has encrypted what
    // was kept before (a client may send before on_connect): the handshake
    // finishes on the owner a moment before take_output runs, and a send in
    // between must not overtake the kept bytes.
    bool keep = !done_ || !pending_.empty();
    // One record run for header, parts and line end: gathered unless it is one piece.
    std::string buf;
    const uint8_t *p;
    if (keep || f.head_len || f.tail_len || n != 1) {
        std::string &dst = keep ? pending_ : buf;
        dst.reserve(dst.size() + total);
        dst.append(reinterpret_cast<const char *>(f.head), f.head_len);
        for (size_t i = 0; i < n; i++) dst.append(static_cast<const char *>(parts[i].base), parts[i].len);
        if (f.tail_len) dst.push_back('\n');
        if (keep) {
            plain_pending_ += total;
            return IOCPNET_OK;
        }
        p = reinterpret_cast<const uint8_t *>(buf.data());
    } else {
        p = static_cast<const uint8_t *>(parts[0].base);
    }
    bool ok = true;
    size_t direct = with_queue(impl_->io, out, cache, [&] { ok = encrypt_locked(p, total); });
    cipher_q_ += direct;
    if (!ok) return IOCPNET_E_TLS;
    size_t moved = direct + move_output_locked(out, cache);
    plain_q_ += total;
    if (!moved) return IOCPNET_E_NO_MEMORY;
    return IOCPNET_OK;
}

bool TlsSession::take_output(SendQueue &out) {
    std::lock_guard<std::mutex> lk(mu_);
    size_t moved = move_output_locked(out, nullptr); // the handshake's records first
    if (done_ && !failed_ && !shut_ && !pending_.empty()) {
        bool ok = true;
        size_t direct = with_queue(impl_->io, out, nullptr, [&] {
            ok = encrypt_locked(reinterpret_cast<const uint8_t *>(pending_.data()), pending_.size());
        });
        cipher_q_ += direct;
        moved += direct + move_output_locked(out, nullptr);
        if (ok) plain_q_ += plain_pending_;
        plain_pending_ = 0;
        std::string().swap(pending_);
    }
    return moved != 0;
}

size_t TlsSession::queued(const SendQueue &) const { return plain_q_ + plain_pending_; }

size_t TlsSession::sent(size_t cipher) {
    size_t dec;
    if (cipher >= cipher_q_) {
        dec = plain_q_;
        cipher_q_ = 0;
    } else {
        dec = size_t((long double)plain_q_ * (long double)cipher / (long double)cipher_q_);
        if (dec > plain_q_) dec = plain_q_;
        cipher_q_ -= cipher;
    }
    plain_q_ -= dec;
    return dec;
}

void TlsSession::dropped() {
    std::lock_guard<std::mutex> lk(mu_);
    plain_q_ = cipher_q_ = plain_pending_ = 0;
    std::string().swap(pending_);
}

void TlsSession::close_notify(SendQueue &out) {
    std::lock_guard<std::mutex> lk(mu_);
    if (done_ && !failed_ && !shut_) {
        ERR_clear_error();
        (void)SSL_shutdown(impl_->ssl); // 0: ours is queued, the peer's not yet seen: fine
        ERR_clear_error();
    }
    shut_ = true;
    move_output_locked(out, nullptr);
}

std::string TlsSession::info(uint32_t what) {
    std::lock_guard<std::mutex> lk(mu_);
    switch (what) {
    case IOCPNET_TLS_INFO_VERSION: return version_;
    case IOCPNET_TLS_INFO_CIPHER: return cipher_;
    case IOCPNET_TLS_INFO_ALPN: return alpn_;
    case IOCPNET_TLS_INFO_PEER_SUBJECT: return subject_;
    case IOCPNET_TLS_INFO_ERROR: return error_;
    }
    return std::string();
}

} // namespace iocpnet
