// The backend asked for (IOCPNET_BACKEND, as ctest sets it per run) is the
// one in use: a silent fallback would make the per-backend runs meaningless.
#include "support.hpp"

using namespace t;

TEST_CASE("backend in use is the one IOCPNET_BACKEND asks for", "[backend]") {
    uint32_t want = env_backend();
    INFO("IOCPNET_BACKEND=" << (std::getenv("IOCPNET_BACKEND") ? std::getenv("IOCPNET_BACKEND") : "(unset)"));
    REQUIRE(want != 0xFFFFu); // an unknown name in the environment is a setup error
    Port p(nullptr);
    iocpnet_stats s = stats(p);
    CHECK(s.backend != IOCPNET_BACKEND_AUTO);
    CHECK(s.backend <= IOCPNET_BACKEND_EPOLL);
    if (want != IOCPNET_BACKEND_AUTO) CHECK(s.backend == want);
}

TEST_CASE("an explicit config backend is used as asked", "[backend]") {
    uint32_t want = env_backend();
    if (want == IOCPNET_BACKEND_AUTO || want == 0xFFFFu) want = stats(Port(nullptr)).backend;
    iocpnet_config cfg = default_config();
    cfg.backend = want;
    Port p(nullptr, &cfg);
    CHECK(stats(p).backend == want);
}

TEST_CASE("a backend that does not exist here is UNSUPPORTED, an unknown value INVALID_ARG", "[backend]") {
    iocpnet_config cfg = default_config();
#ifdef _WIN32
    cfg.backend = IOCPNET_BACKEND_EPOLL;
#else
    cfg.backend = IOCPNET_BACKEND_IOCP;
#endif
    iocpnet_port *p = nullptr;
    CHECK_RC(iocpnet_port_create(&cfg, nullptr, nullptr, &p), IOCPNET_E_UNSUPPORTED);
    CHECK(p == nullptr);
    cfg.backend = 99;
    CHECK_RC(iocpnet_port_create(&cfg, nullptr, nullptr, &p), IOCPNET_E_INVALID_ARG);
    CHECK(p == nullptr);
}
