// asio_ssl_echo — the Boost.Asio TLS reference (standalone Asio from
// Debian's libasio-dev with asio::ssl over OpenSSL 3, no Boost needed): the
// textbook asio_echo.cpp with an ssl::stream around each socket. One
// io_context run by one thread; each session does async_handshake, then
// async_read_some into its own 16 KiB buffer and async_write of those bytes
// (which loops over short writes), then reads again. The context takes
// OpenSSL's defaults (TLS 1.2 and 1.3, the default cipher list), as iocpnet's
// TLS layer does.
//
//   asio_ssl_echo --tls-cert FILE --tls-key FILE [--host H] [--port P]
//
// --threads and --backend are accepted and ignored (ref_common.h's CLI);
// prints "listening on HOST:PORT"; exits 0 on SIGTERM/SIGINT.
#include <asio.hpp>
#include <asio/ssl.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

using asio::ip::tcp;
using ssl_socket = asio::ssl::stream<tcp::socket>;

class session : public std::enable_shared_from_this<session> {
public:
    session(tcp::socket s, asio::ssl::context &ctx) : sock_(std::move(s), ctx) {}
    void start() {
        auto self = shared_from_this();
        sock_.async_handshake(asio::ssl::stream_base::server, [this, self](std::error_code ec) {
            if (!ec) read();
        });
    }

private:
    void read() {
        auto self = shared_from_this();
        sock_.async_read_some(asio::buffer(buf_), [this, self](std::error_code ec, std::size_t n) {
            if (!ec) write(n); // an error or EOF: the last reference goes, the socket closes
        });
    }
    void write(std::size_t n) {
        auto self = shared_from_this();
        asio::async_write(sock_, asio::buffer(buf_, n), [this, self](std::error_code ec, std::size_t) {
            if (!ec) read();
        });
    }
    ssl_socket sock_;
    char buf_[16384];
};

static void accept_loop(tcp::acceptor &acc, asio::ssl::context &ctx) {
    acc.async_accept([&acc, &ctx](std::error_code ec, tcp::socket s) {
        if (!ec) {
            s.set_option(tcp::no_delay(true));
            std::make_shared<session>(std::move(s), ctx)->start();
        }
        if (acc.is_open()) accept_loop(acc, ctx);
    });
}

int main(int argc, char **argv) {
    const char *host = "0.0.0.0", *cert = nullptr, *key = nullptr;
    int port = 9034;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) { std::fprintf(stderr, "missing value for %s\n", argv[i]); return 2; }
        const char *a = argv[i], *v = argv[++i];
        if (!std::strcmp(a, "--host")) host = v;
        else if (!std::strcmp(a, "--port")) port = std::atoi(v);
        else if (!std::strcmp(a, "--tls-cert")) cert = v;
        else if (!std::strcmp(a, "--tls-key")) key = v;
        else if (std::strcmp(a, "--threads") && std::strcmp(a, "--backend")) {
            std::fprintf(stderr, "unknown option %s\n", a);
            return 2;
        }
    }
    if (!cert || !key) { std::fprintf(stderr, "usage: %s --tls-cert FILE --tls-key FILE [--host H] [--port P]\n", argv[0]); return 2; }
    asio::ssl::context ctx(asio::ssl::context::tls_server);
    try {
        ctx.use_certificate_chain_file(cert);
        ctx.use_private_key_file(key, asio::ssl::context::pem);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "certificate or key: %s\n", e.what());
        return 1;
    }
    asio::io_context io(1); // concurrency hint 1: one thread, Asio may skip its locks
    tcp::acceptor acc(io);
    tcp::endpoint ep(asio::ip::make_address(host), static_cast<unsigned short>(port));
    acc.open(ep.protocol());
    acc.set_option(tcp::acceptor::reuse_address(true));
    acc.bind(ep);
    acc.listen(4096);
    std::printf("listening on %s:%u\n", acc.local_endpoint().address().to_string().c_str(),
                static_cast<unsigned>(acc.local_endpoint().port()));
    std::fflush(stdout);
    asio::signal_set sigs(io, SIGTERM, SIGINT);
    sigs.async_wait([&](std::error_code, int) { io.stop(); });
    accept_loop(acc, ctx);
    io.run();
    return 0;
}
