// t::Proc under Wine (see proc_wine.hpp). Compiled on every platform (the
// tests' glob), built only for Windows.
#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>

#include <cstdlib>
#include <cstring>

#include "proc_wine.hpp"

namespace t {
namespace {

// One argument quoted as CommandLineToArgvW (and Wine, which splits the
// command line into the Unix program's argv the same way) reads it back.
std::string quote(const std::string &a) {
    std::string q = "\"";
    size_t bs = 0;
    for (char c : a) {
        if (c == '\\') {
            bs++;
            continue;
        }
        if (c == '"') {
            q.append(bs * 2 + 1, '\\');
            q += '"';
        } else {
            q.append(bs, '\\');
            q += c;
        }
        bs = 0;
    }
    q.append(bs * 2, '\\');
    q += '"';
    return q;
}

// Runs `/bin/sh -c script sh args...` on the host. io: the socket that
// becomes its stdin and stdout (0: none). Wine gives no process handle for
// a Unix program, so there is nothing to wait on here.
bool run_sh(const std::string &script, const std::vector<std::string> &args, intptr_t io) {
    std::string cl = "sh -c " + quote(script) + " sh";
    for (auto &a : args) cl += " " + quote(a);
    STARTUPINFOA si{};
    si.cb = sizeof si;
    if (io) {
        si.dwFlags = STARTF_USESTDHANDLES;
        si.hStdInput = si.hStdOutput = reinterpret_cast<HANDLE>(io);
        si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    }
    PROCESS_INFORMATION pi{};
    BOOL ok = CreateProcessA("Z:\\bin\\sh", &cl[0], nullptr, nullptr, FALSE, 0, nullptr, nullptr, &si, &pi);
    if (!ok) WARN("CreateProcess(Z:\\bin\\sh) failed: error " << GetLastError());
    if (pi.hProcess) CloseHandle(pi.hProcess);
    if (pi.hThread) CloseHandle(pi.hThread);
    return ok != 0;
}

// Takes the first complete line that starts with `tag` out of out; its number.
bool take_marker(std::string &out, const char *tag, long *value) {
    size_t tl = strlen(tag);
    for (size_t at = 0; (at = out.find(tag, at)) != std::string::npos; at += tl) {
        if (at != 0 && out[at - 1] != '\n') continue;
        size_t end = out.find('\n', at);
        if (end == std::string::npos) return false; // not complete yet
        *value = strtol(out.c_str() + at + tl, nullptr, 10);
        out.erase(at, end + 1 - at);
        return true;
    }
    return false;
}

} // namespace

Proc::Proc(const std::vector<std::string> &argv) {
    raw::Socket l = raw::Socket::listen("127.0.0.1", 0);
    REQUIRE(l.valid());
    child_ = raw::Socket::connect("127.0.0.1", l.local_port());
    REQUIRE(child_.valid());
    io_ = l.accept();
    REQUIRE(io_.valid());
    // The program runs in the background (so that its PID is known to the
    // shell) with the shell's stdin, which a non-interactive shell would
    // otherwise replace with /dev/null; Wine passes the host's PATH on only
    // in its own form, so PATH is set here.
    const char *script = "exec 3<&0; PATH=/usr/local/bin:/usr/bin:/bin; export PATH; "
                         "\"$@\" <&3 3<&- & echo \"@pid $!\"; wait $!; echo \"@exit $?\"";
    REQUIRE(run_sh(script, argv, child_.native_handle()));
    REQUIRE(pump_until(&Proc::has_pid, kDeadline));
}

Proc::~Proc() {
    if (pid_ > 0 && exit_ < 0) {
        run_sh("kill -TERM " + std::to_string(pid_), {}, 0);
        pump_until(&Proc::has_exit, 10.0); // its port is free once it reported
    }
}

bool Proc::write(const std::string &s) { return io_.send_all(s); }

void Proc::close_stdin() { io_.shutdown_write(); }

bool Proc::pump(double seconds) {
    if (ended_) return false;
    char buf[4096];
    long k = io_.recv_some(buf, sizeof buf, int(seconds * 1000) + 1);
    if (k == raw::kTimeout) return true;
    if (k <= 0) {
        ended_ = true;
        return false;
    }
    out_.append(buf, size_t(k));
    long v;
    if (take_marker(out_, "@pid ", &v)) pid_ = v;
    if (take_marker(out_, "@exit ", &v)) exit_ = int(v);
    return true;
}

bool Proc::pump_until(bool (Proc::*done)() const, double seconds) {
    auto t0 = std::chrono::steady_clock::now();
    while (!(this->*done)()) {
        double left = seconds - seconds_since(t0);
        if (left <= 0 || !pump(left)) return (this->*done)();
    }
    return true;
}

bool Proc::read_until(const std::string &needle, double seconds) {
    auto t0 = std::chrono::steady_clock::now();
    while (out_.find(needle) == std::string::npos) {
        double left = seconds - seconds_since(t0);
        if (left <= 0 || !pump(left)) return out_.find(needle) != std::string::npos;
    }
    return true;
}

int Proc::wait_exit(double seconds) { return pump_until(&Proc::has_exit, seconds) ? exit_ : -1; }

} // namespace t
#endif
