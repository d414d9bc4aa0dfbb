// A send on a connection with nothing queued is written at once from the
// caller's buffer where the backend can (epoll); what the socket does not
// take is queued behind it and follows byte-exact, before anything sent
// later. The first message here is far larger than the peer's window, so
// the write is partial: the rest is a copy (send, sendv), a shared payload
// (send_many) or the lent buffer itself (send_owned). LENGTH_PREFIX framing,
// so the rest also carries the frame's header and the boundaries show.
#include "support.hpp"

using namespace t;

namespace {

enum class Via { send, sendv, send_many, send_owned };

struct Job {
    Via via;
    std::vector<std::string> msgs; // sent in this order from the owner
    std::atomic<int> frees{0};     // send_owned's free_fn calls
    std::atomic<bool> done{false};
    std::vector<int> rcs;
    uint64_t queued_after_first = 0;
    int stats_backend = 0;
};

void IOCPNET_CALL count_free(void *arg, const void *) { static_cast<Job *>(arg)->frees++; }

int send_one(Job *j, iocpnet_port *p, iocpnet_conn c, const std::string &m) {
    switch (j->via) {
    case Via::send: return iocpnet_send(p, c, m.data(), m.size());
    case Via::sendv: {
        size_t a = m.size() / 3, b = m.size() / 2;
        iocpnet_buf parts[3] = {{m.data(), a}, {m.data() + a, b - a}, {m.data() + b, m.size() - b}};
        return iocpnet_sendv(p, c, parts, 3);
    }
    case Via::send_many: {
        // A second, unknown receiver: the payload is shared, not copied.
        iocpnet_conn ids[2] = {c, c + (uint64_t(1) << 50)}; // another generation of its slot
        int res[2] = {-1, -1};
        int rc = iocpnet_send_many_ex(p, ids, 2, m.data(), m.size(), res, nullptr);
        return rc != IOCPNET_OK ? rc : res[0];
    }
    case Via::send_owned: return iocpnet_send_owned(p, c, m.data(), m.size(), count_free, j);
    }
    return IOCPNET_E_INVALID_ARG;
}

// On the owner: the first message while nothing is queued, then the others.
void IOCPNET_CALL send_all(void *arg, iocpnet_port *p, iocpnet_conn c) {
    auto *j = static_cast<Job *>(arg);
    for (size_t i = 0; i < j->msgs.size(); i++) {
        j->rcs.push_back(send_one(j, p, c, j->msgs[i]));
        if (i == 0) iocpnet_conn_queued_bytes(p, c, &j->queued_after_first);
    }
    j->done = true;
}

const char *via_name(Via v) {
    switch (v) {
    case Via::send: return "send";
    case Via::sendv: return "sendv";
    case Via::send_many: return "send_many";
    case Via::send_owned: return "send_owned";
    }
    return "?";
}

} // namespace

TEST_CASE("a partial inline write queues the rest of the frame, in order, byte-exact", "[send][inline]") {
    for (Via via : {Via::send, Via::sendv, Via::send_many, Via::send_owned}) {
        INFO("via " << via_name(via));
        iocpnet_config cfg = default_config();
        cfg.worker_threads = 1;
        cfg.max_send_queue_bytes = 64u << 20;
        Recorder srv;
        Port sp(&srv, &cfg);
        iocpnet_conn_options o = default_options();
        o.framing = IOCPNET_FRAMING_LENGTH_PREFIX;
        Accepted a = accept_raw(srv, sp, &o, 4096); // a small window: the first write is partial

        auto job = std::make_unique<Job>();
        job->via = via;
        const size_t sizes[] = {8u << 20, 1, 300, 70000, 5, 1u << 20};
        uint64_t off = 0;
        for (size_t n : sizes) {
            job->msgs.push_back(pattern(off, n));
            off += n;
        }
        REQUIRE_RC(iocpnet_conn_post(sp, a.conn, send_all, job.get()), IOCPNET_OK);
        REQUIRE(wait_until([&] { return job->done.load(); }));
        for (int rc : job->rcs) CHECK(rc_name(rc) == rc_name(IOCPNET_OK));
        uint64_t first_total = job->msgs[0].size() + 4;
        // Nothing was queued before the first message: on epoll it went out
        // in part at once, the rest waits; elsewhere it waits as a whole.
        CHECK(job->queued_after_first > 0);
        CHECK(job->queued_after_first <= first_total);
        if (stats(sp).backend == IOCPNET_BACKEND_EPOLL) CHECK(job->queued_after_first < first_total);

        // The peer reads every frame back: header, then payload.
        for (size_t i = 0; i < job->msgs.size(); i++) {
            INFO("message " << i);
            std::string hdr, body;
            REQUIRE(a.peer.read_exact(&hdr, 4));
            uint32_t len = get_u32(hdr.data());
            REQUIRE(len == job->msgs[i].size());
            REQUIRE(a.peer.read_exact(&body, len));
            CHECK(first_mismatch(body, job->msgs[i]) == -1);
        }
        if (via == Via::send_owned) {
            CHECK(wait_until([&] { return job->frees.load() == int(job->msgs.size()); }));
        }
        CHECK(queues_drain(sp));
        REQUIRE_RC(sp.destroy(), IOCPNET_OK);
        if (via == Via::send_owned) CHECK(job->frees.load() == int(job->msgs.size())); // once each, not more
        check_clean(srv, true);
    }
}
