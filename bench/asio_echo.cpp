// asio_echo — the Boost.Asio reference (standalone Asio from Debian's
// libasio-dev, no Boost needed): one io_context run by one thread, the
// textbook proactor-style echo. Each session reads with async_read_some into
// its own 16 KiB buffer and writes those bytes back with async_write (which
// loops over short writes), then reads again: one read and one write in
// flight at most. Options as ref_common.h describes (--threads and --backend
// are accepted and ignored); prints "listening on HOST:PORT"; exits 0 on
// SIGTERM/SIGINT.
#include <asio.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

using asio::ip::tcp;

class session : public std::enable_shared_from_this<session> {
public:
    explicit session(tcp::socket s) : sock_(std::move(s)) {}
    void start() { read(); }

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
    tcp::socket sock_;
    char buf_[16384];
};

static void accept_loop(tcp::acceptor &acc) {
    acc.async_accept([&acc](std::error_code ec, tcp::socket s) {
        if (!ec) {
            s.set_option(tcp::no_delay(true));
            std::make_shared<session>(std::move(s))->start();
        }
        if (acc.is_open()) accept_loop(acc);
    });
}

int main(int argc, char **argv) {
    const char *host = "0.0.0.0";
    int port = 9034;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) { std::fprintf(stderr, "missing value for %s\n", argv[i]); return 2; }
        const char *a = argv[i], *v = argv[++i];
        if (!std::strcmp(a, "--host")) host = v;
        else if (!std::strcmp(a, "--port")) port = std::atoi(v);
        else if (std::strcmp(a, "--threads") && std::strcmp(a, "--backend")) {
            std::fprintf(stderr, "unknown option %s\n", a);
            return 2;
        }
    }
    asio::io_context io(1); // concurrency hint 1: one thread, Asio may skip its locks
    tcp::acceptor acc(io);
    tcp::endpoint ep(asio::ip::make_address(host), static_cast<unsigned short>(port));
    acc.open(ep.protocol());
    acc.set_option(tcp::acceptor::reuse_address(true));
    acc.bind(ep);
    acc.listen(4096); // 1,000 clients connect at once
    std::printf("listening on %s:%u\n", acc.local_endpoint().address().to_string().c_str(),
                static_cast<unsigned>(acc.local_endpoint().port()));
    std::fflush(stdout);
    asio::signal_set sigs(io, SIGTERM, SIGINT);
    sigs.async_wait([&](std::error_code, int) { io.stop(); });
    accept_loop(acc);
    io.run();
    return 0;
}
