// A connect that cannot get a socket fails at once with LIMIT, and the
// thread's last error message names the system's reason.
#include "support.hpp"

// POSIX only: Windows sockets are handles with no per-process limit a test
// could lower the way RLIMIT_NOFILE is lowered here.
#ifndef _WIN32
#include <sys/resource.h>
#include <unistd.h>

using namespace t;

TEST_CASE("connect out of descriptors fails with LIMIT and says why", "[connect]") {
    uint16_t closed = raw::unused_port();
    Recorder cli;
    Port cp(&cli);
    rlimit old{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &old) == 0);
    // Every descriptor below a low limit taken, so the connect's socket() gets EMFILE.
    rlimit low = old;
    low.rlim_cur = 256;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
    std::vector<int> fill;
    for (int fd; (fd = dup(0)) >= 0;) fill.push_back(fd);
    int dup_errno = errno;
    iocpnet_conn c = 0;
    int rc = iocpnet_connect(cp, "127.0.0.1", closed, &c);
    std::string why = iocpnet_last_error_message();
    for (int fd : fill) close(fd);
    REQUIRE(setrlimit(RLIMIT_NOFILE, &old) == 0);
    REQUIRE(dup_errno == EMFILE);
    INFO(why);
    CHECK(rc_name(rc) == rc_name(IOCPNET_E_LIMIT));
    CHECK(c == 0);
    CHECK(why.find("Too many open files") != std::string::npos);
    CHECK(stats(cp).connections_open == 0);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    check_clean(cli, true);
}
#endif
