// Support for the TLS tests: the test PKI (made by scripts/make-test-certs.sh
// at build time into IOCPNET_TEST_CERTS), TLS configurations from it, and
// real peers nobody here wrote — `openssl s_server` / `s_client` started on
// free loopback ports and stopped by PID (POSIX here; under Wine the host's
// openssl through proc_wine.hpp).
#pragma once
#include "support.hpp"

#ifdef _WIN32
#include "proc_wine.hpp"
#else
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <fstream>
#include <sstream>

#ifndef IOCPNET_TEST_CERTS
#error "IOCPNET_TEST_CERTS (the directory of scripts/make-test-certs.sh's output) must be defined"
#endif

namespace t {

inline std::string cert_path(const char *name) { return std::string(IOCPNET_TEST_CERTS) + "/" + name; }

inline std::string read_file(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

// A TLS configuration released at scope exit.
class Tls {
  public:
    Tls() = default;
    explicit Tls(const iocpnet_tls_options &o) {
        int rc = iocpnet_tls_create(&o, &p_);
        INFO("iocpnet_tls_create -> " << rc_name(rc) << " (" << iocpnet_last_error_message() << ")");
        REQUIRE(rc == IOCPNET_OK);
        REQUIRE(p_ != nullptr);
    }
    ~Tls() {
        if (p_) iocpnet_tls_release(p_);
    }
    Tls(const Tls &) = delete;
    Tls &operator=(const Tls &) = delete;
    operator iocpnet_tls *() const { return p_; }

  private:
    iocpnet_tls *p_ = nullptr;
};

// The test server: server.pem (CN=localhost, SAN localhost/127.0.0.1/::1).
// client_ca: require client certificates signed by the test CA.
inline iocpnet_tls_options server_options(bool client_ca = false, const char *alpn = nullptr,
                                          const char *cert = "server.pem", const char *key = "server.key") {
    static thread_local std::string c, k, ca; // kept for the create call only
    c = cert_path(cert), k = cert_path(key), ca = cert_path("ca.pem");
    iocpnet_tls_options o;
    iocpnet_tls_options_init(&o);
    o.role = IOCPNET_TLS_SERVER;
    o.cert_file = c.c_str();
    o.key_file = k.c_str();
    if (client_ca) o.ca_file = ca.c_str();
    o.alpn = alpn;
    return o;
}

// A client trusting ca (a file of the test PKI).
inline iocpnet_tls_options client_options(const char *ca = "ca.pem", const char *alpn = nullptr) {
    static thread_local std::string cap;
    cap = cert_path(ca);
    iocpnet_tls_options o;
    iocpnet_tls_options_init(&o);
    o.role = IOCPNET_TLS_CLIENT;
    o.ca_file = cap.c_str();
    o.alpn = alpn;
    return o;
}

inline iocpnet_conn_options tls_conn_options(iocpnet_tls *tls, const char *server_name = nullptr) {
    iocpnet_conn_options o = default_options();
    o.tls = tls;
    o.server_name = server_name;
    return o;
}

inline std::string tls_info(iocpnet_port *p, iocpnet_conn c, uint32_t what) {
    char buf[512];
    int rc = iocpnet_conn_tls_info(p, c, what, buf, sizeof buf);
    if (rc != IOCPNET_OK) return "<" + rc_name(rc) + ">";
    return buf;
}

#ifndef _WIN32
// A child process with its stdin and stdout on pipes (stderr goes to the
// test's stderr), killed by its PID at scope exit.
class Proc {
  public:
    explicit Proc(const std::vector<std::string> &argv) {
        signal(SIGPIPE, SIG_IGN); // a peer that exits must not kill the test
        int in[2], out[2];
        REQUIRE(pipe(in) == 0);
        REQUIRE(pipe(out) == 0);
        pid_ = fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            dup2(in[0], 0);
            dup2(out[1], 1);
            close(in[0]), close(in[1]), close(out[0]), close(out[1]);
            std::vector<char *> args;
            for (auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
            args.push_back(nullptr);
            execvp(args[0], args.data());
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        in_ = in[1];
        outfd_ = out[0];
    }
    ~Proc() {
        close_stdin();
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            int st;
            waitpid(pid_, &st, 0);
        }
        if (outfd_ >= 0) close(outfd_);
    }
    Proc(const Proc &) = delete;
    Proc &operator=(const Proc &) = delete;

    bool write(const std::string &s) {
        size_t off = 0;
        while (off < s.size()) {
            ssize_t k = ::write(in_, s.data() + off, s.size() - off);
            if (k <= 0) return false;
            off += size_t(k);
        }
        return true;
    }
    void close_stdin() {
        if (in_ >= 0) close(in_);
        in_ = -1;
    }
    // Reads stdout until it contains needle (true), or `seconds` pass, or EOF.
    bool read_until(const std::string &needle, double seconds = kDeadline) {
        auto t0 = std::chrono::steady_clock::now();
        while (out_.find(needle) == std::string::npos) {
            double left = seconds - seconds_since(t0);
            if (left <= 0) return false;
            pollfd p{outfd_, POLLIN, 0};
            if (poll(&p, 1, int(left * 1000) + 1) <= 0) continue;
            char buf[4096];
            ssize_t k = read(outfd_, buf, sizeof buf);
            if (k <= 0) return false;
            out_.append(buf, size_t(k));
        }
        return true;
    }
    const std::string &output() const { return out_; }
    // Waits for the process to exit by itself: its exit status, or -1.
    int wait_exit(double seconds = kDeadline) {
        int st = 0;
        bool done = wait_until([&] { return waitpid(pid_, &st, WNOHANG) == pid_; }, seconds);
        if (!done) return -1;
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }

  private:
    pid_t pid_ = -1;
    int in_ = -1, outfd_ = -1;
    std::string out_;
};
#endif

} // namespace t
