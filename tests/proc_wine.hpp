// The TLS tests' peer process (t::Proc) for the Windows build under Wine:
// the host's own `openssl` (a Linux program nobody here wrote), as the Linux
// tests use it. Wine's CreateProcess runs a Unix binary directly, giving it
// the Unix descriptors behind the standard handles. Wine's pipes have none
// (they live in wineserver), sockets do: so the child's stdin and stdout are
// one end of a loopback TCP connection whose other end the test reads and
// writes. A /bin/sh wrapper starts the program, reports its Unix PID first
// (stopped by that PID: `kill` run the same way) and its exit status last.
// stderr goes to the test's stderr. Windows only (proc_wine.cpp).
#pragma once
#include <string>
#include <vector>

#include "rawsock.hpp"
#include "support.hpp"

namespace t {

class Proc {
  public:
    // argv[0] is looked up in the host's /usr/local/bin, /usr/bin, /bin.
    explicit Proc(const std::vector<std::string> &argv);
    ~Proc();
    Proc(const Proc &) = delete;
    Proc &operator=(const Proc &) = delete;

    bool write(const std::string &s);
    // The child reads EOF on its stdin.
    void close_stdin();
    // Reads the child's stdout until it contains needle (true), or `seconds`
    // pass, or it ends.
    bool read_until(const std::string &needle, double seconds = kDeadline);
    const std::string &output() const { return out_; }
    // Waits for the program to exit by itself: its exit status, or -1.
    int wait_exit(double seconds = kDeadline);

  private:
    // Reads what arrives within `seconds` (false at EOF or on error) and
    // takes the wrapper's "@pid N" / "@exit N" lines out of the output.
    bool pump(double seconds);
    bool pump_until(bool (Proc::*done)() const, double seconds);
    bool has_pid() const { return pid_ > 0; }
    bool has_exit() const { return exit_ >= 0; }

    raw::Socket io_;    // the test's end
    raw::Socket child_; // the child's end (kept open: closing it could end the connection)
    long pid_ = -1;
    int exit_ = -1;
    bool ended_ = false;
    std::string out_;
};

} // namespace t
