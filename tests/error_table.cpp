// The error table: strerror and err_name for every code of the header's
// table, for OK, and for values not in it; the version.
#include "support.hpp"

#include <climits>

using namespace t;

TEST_CASE("strerror and err_name cover every code of the table", "[errors]") {
    int n = 0;
#define T_XX(name, value, msg)                                                                                         \
    {                                                                                                                  \
        INFO("code " << value);                                                                                        \
        REQUIRE(iocpnet_strerror(value) != nullptr);                                                                   \
        REQUIRE(iocpnet_err_name(value) != nullptr);                                                                   \
        CHECK(std::string(iocpnet_strerror(value)) == msg);                                                            \
        CHECK(std::string(iocpnet_err_name(value)) == "IOCPNET_E_" #name);                                             \
        CHECK(value < 0);                                                                                              \
        CHECK(value > IOCPNET_E_LAST_);                                                                                \
        n++;                                                                                                           \
    }
    IOCPNET_ERRNO_MAP(T_XX)
#undef T_XX
    CHECK(n == -IOCPNET_E_LAST_ - 1); // the table is dense: -1 .. LAST_+1
    CHECK(std::string(iocpnet_err_name(IOCPNET_OK)) == "IOCPNET_OK");
    REQUIRE(iocpnet_strerror(IOCPNET_OK) != nullptr);
    CHECK(std::string(iocpnet_strerror(IOCPNET_OK)) != "unknown error");
    // the names issue 2 fixed
    CHECK(IOCPNET_E_CONN_REFUSED == -7);
    CHECK(std::string(iocpnet_err_name(IOCPNET_E_CONN_REFUSED)) == "IOCPNET_E_CONN_REFUSED");
    CHECK(std::string(iocpnet_strerror(IOCPNET_E_CONN_REFUSED)) == "connection refused");
}

TEST_CASE("unknown codes give 'unknown error' and IOCPNET_E_UNKNOWN", "[errors]") {
    for (int v : std::vector<int>{int(IOCPNET_E_LAST_), int(IOCPNET_E_LAST_) - 1, -1000, 1, 42, INT_MIN, INT_MAX}) {
        INFO("code " << v);
        REQUIRE(iocpnet_strerror(v) != nullptr);
        REQUIRE(iocpnet_err_name(v) != nullptr);
        CHECK(std::string(iocpnet_strerror(v)) == "unknown error");
        CHECK(std::string(iocpnet_err_name(v)) == "IOCPNET_E_UNKNOWN");
    }
}

TEST_CASE("strerror and err_name are static strings usable from any thread", "[errors][threads]") {
    const char *a = iocpnet_strerror(IOCPNET_E_TIMEOUT);
    const char *b = iocpnet_err_name(IOCPNET_E_TIMEOUT);
    std::atomic<int> bad{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; i++)
        ts.emplace_back([&] {
            for (int k = 0; k < 1000; k++)
                if (iocpnet_strerror(IOCPNET_E_TIMEOUT) != a || iocpnet_err_name(IOCPNET_E_TIMEOUT) != b) bad++;
        });
    for (auto &th : ts) th.join();
    CHECK(bad == 0);
    CHECK(std::string(a) == "timed out");
}

TEST_CASE("version of the loaded library matches the header", "[version]") {
    uint32_t v = iocpnet_version();
    CHECK((v >> 16) == IOCPNET_VERSION_MAJOR);
    CHECK(((v >> 8) & 0xff) == IOCPNET_VERSION_MINOR);
    CHECK((v & 0xff) == IOCPNET_VERSION_PATCH);
    CHECK((v >> 24) == 0);
}
