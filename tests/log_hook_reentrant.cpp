// The log hook runs under no engine lock: "every function may be called from
// any thread", the hook's thread included. A hook may call iocpnet_set_log,
// and a DEBUG hook may ask about the connection a message names.
// (Regression: log() held its own mutex while calling the hook, and the
// "connection N closed" message was logged with the connection's mutex
// held: both calls deadlocked.)
//
// If a call deadlocks the test fails after 5 s; the hook's thread then holds
// the engine's log lock for good, so the port is leaked and the hook is left
// set (clearing it would block too): run this test in its own process (as
// ctest does).
#include "support.hpp"

using namespace t;

namespace {
struct Switch {
    std::atomic<int> first_calls{0}, second_calls{0};
    std::atomic<int> set_rc{1};
};
void IOCPNET_CALL second_hook(void *user, uint32_t, const char *) { static_cast<Switch *>(user)->second_calls++; }
// On its first message, moves logging to second_hook from inside the hook.
void IOCPNET_CALL switching_hook(void *user, uint32_t, const char *) {
    auto *s = static_cast<Switch *>(user);
    if (s->first_calls++ == 0) s->set_rc = iocpnet_set_log(IOCPNET_LOG_DEBUG, &second_hook, s);
}

struct Asker {
    std::atomic<iocpnet_port *> port{nullptr};
    std::atomic<int> asked{0}, answered{0};
    std::atomic<int> bad_rc{0};
    std::mutex mu;
    std::vector<std::string> messages;
};
// Parses "connection <id>" from a message and asks the port about that id.
void IOCPNET_CALL asking_hook(void *user, uint32_t, const char *msg) {
    auto *a = static_cast<Asker *>(user);
    {
        std::lock_guard<std::mutex> lk(a->mu);
        if (a->messages.size() < 100) a->messages.push_back(msg);
    }
    iocpnet_port *p = a->port.load();
    const char *at = strstr(msg, "connection ");
    if (!p || !at) return;
    at += strlen("connection ");
    if (*at < '0' || *at > '9') return;
    iocpnet_conn id = std::strtoull(at, nullptr, 10);
    a->asked++;
    void *u = nullptr;
    int rc = iocpnet_conn_get_user(p, id, &u);
    if (rc != IOCPNET_OK && rc != IOCPNET_E_NOT_FOUND) a->bad_rc = rc;
    char buf[IOCPNET_ADDRSTRLEN];
    rc = iocpnet_conn_peer_address(p, id, buf, sizeof buf);
    if (rc != IOCPNET_OK && rc != IOCPNET_E_NOT_FOUND) a->bad_rc = rc;
    a->answered++;
}
} // namespace

TEST_CASE("a log hook may call iocpnet_set_log", "[log]") {
    auto *sw = new Switch; // leaked if the hook deadlocks
    REQUIRE_RC(iocpnet_set_log(IOCPNET_LOG_DEBUG, &switching_hook, sw), IOCPNET_OK);
    // a port's life logs (INFO "port created" / "port destroyed")
    bool returned = finishes_within(
        [] {
            iocpnet_port *p = nullptr;
            if (iocpnet_port_create(nullptr, nullptr, nullptr, &p) == IOCPNET_OK) iocpnet_port_destroy(p);
        },
        5.0);
    if (!returned)
        FAIL("iocpnet_set_log called inside the log hook did not return within 5 s (the hook runs under the "
             "log lock); the hook is left set and the process is stuck in logging");
    CHECK(sw->first_calls >= 1);
    CHECK(rc_name(sw->set_rc) == rc_name(IOCPNET_OK));
    // and the switch took effect
    returned = finishes_within(
        [] {
            iocpnet_port *p = nullptr;
            if (iocpnet_port_create(nullptr, nullptr, nullptr, &p) == IOCPNET_OK) iocpnet_port_destroy(p);
        },
        5.0);
    REQUIRE(returned);
    CHECK(sw->second_calls >= 1);
    REQUIRE_RC(iocpnet_set_log(IOCPNET_LOG_DEBUG, nullptr, nullptr), IOCPNET_OK);
    delete sw;
}

TEST_CASE("a DEBUG log hook may ask about the connection its message names", "[log]") {
    auto *a = new Asker; // leaked if the hook deadlocks
    REQUIRE_RC(iocpnet_set_log(IOCPNET_LOG_DEBUG, &asking_hook, a), IOCPNET_OK);
    Recorder srv;
    Port sp(&srv);
    a->port = sp.get();
    uint16_t tcp_port = listen_on(sp);
    auto log_text = [&] {
        std::lock_guard<std::mutex> lk(a->mu);
        std::string all;
        for (auto &m : a->messages) all += m + "\n";
        return all;
    };
    for (int i = 0; i < 3; i++) {
        INFO("connection " << i);
        raw::Socket peer = raw::Socket::connect("127.0.0.1", tcp_port, 5000);
        REQUIRE(peer.valid());
        iocpnet_conn s = srv.wait_accepted(size_t(i), 10);
        REQUIRE(s != 0);
        if (i == 1) peer.set_linger0();
        if (i == 2) CHECK_RC(iocpnet_close(sp, s, IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
        peer.close();
        REQUIRE(srv.wait_closed(s, 10));
        // the engine logs a connection's end at DEBUG, naming its id
        bool asked = wait_until([&] { return a->asked.load() >= i + 1; }, 5.0);
        if (!asked) {
            INFO("log messages so far:\n" << log_text());
            WARN("no DEBUG message named connection " << s << ": the call from the hook was not tried");
        }
        bool answered = wait_until([&] { return a->answered.load() == a->asked.load(); }, 5.0);
        if (!answered) {
            sp.leak();
            INFO("log messages so far:\n" << log_text());
            FAIL("iocpnet_conn_get_user / peer_address called by a DEBUG log hook on the id its message names "
                 "did not return within 5 s (the message is logged with the connection's lock held); port "
                 "leaked, hook left set");
        }
    }
    CHECK(rc_name(a->bad_rc) == rc_name(IOCPNET_OK));
    int rc = 1;
    if (!sp.destroy_within(5.0, &rc)) FAIL("iocpnet_port_destroy did not return within 5 s; port leaked");
    CHECK(rc_name(rc) == rc_name(IOCPNET_OK));
    CHECK(a->answered.load() == a->asked.load());
    REQUIRE_RC(iocpnet_set_log(IOCPNET_LOG_DEBUG, nullptr, nullptr), IOCPNET_OK);
    check_clean(srv, true);
    delete a;
}
