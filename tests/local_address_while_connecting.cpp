// iocpnet_conn_local_address on a connection that is still connecting gives
// SYSTEM ("not connected yet") or a real bound address — never OK with a
// placeholder such as "0.0.0.0:0".
// (Regression: before the connect was submitted the socket was unbound and
// getsockname's all-zero answer was returned as OK.)
#include "support.hpp"

using namespace t;

namespace {
// The port number of "a.b.c.d:PORT" / "[v6]:PORT", or -1.
long port_of(const std::string &s) {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos || colon + 1 >= s.size()) return -1;
    return std::strtol(s.c_str() + colon + 1, nullptr, 10);
}
} // namespace

TEST_CASE("local_address while connecting is SYSTEM or a real address", "[address][connect]") {
    Recorder cli;
    Port cp(&cli);
    raw::Socket lis = raw::Socket::listen("127.0.0.1", 0, 1024);
    REQUIRE(lis.valid());
    const int kConnects = 200;
    int system = 0, real = 0;
    std::vector<std::string> bad;
    std::vector<iocpnet_conn> ids;
    for (int i = 0; i < kConnects; i++) {
        // right after connect returns: the connect may not be submitted yet
        iocpnet_conn c = connect_to(cp, lis.local_port());
        ids.push_back(c);
        char buf[IOCPNET_ADDRSTRLEN];
        memset(buf, 'Z', sizeof buf);
        int rc = iocpnet_conn_local_address(cp, c, buf, sizeof buf);
        if (rc == IOCPNET_E_SYSTEM) {
            system++;
        } else if (rc == IOCPNET_OK) {
            std::string a(buf);
            if (port_of(a) > 0 && a.compare(0, 8, "0.0.0.0:") != 0) real++;
            else if (bad.size() < 5) bad.push_back("conn " + std::to_string(c) + ": OK with \"" + a + "\"");
        } else if (rc != IOCPNET_E_NOT_FOUND) { // NOT_FOUND: already failed (not expected on loopback)
            if (bad.size() < 5) bad.push_back("conn " + std::to_string(c) + ": " + rc_name(rc));
        }
        if (i % 50 == 49) { // keep the listener's backlog drained
            for (;;) {
                raw::Socket s = lis.accept(0);
                if (!s.valid()) break;
            }
        }
    }
    INFO(system << " SYSTEM, " << real << " real addresses, " << kConnects - system - real << " other");
    for (auto &s : bad) FAIL_CHECK(s);
    CHECK(bad.empty());
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    check_clean(cli, true);
}
