// User timers (iocpnet_timer_start/stop). The table says which timers live;
// each run is an entry in its worker's timer heap, beside the connections'
// deadlines. An entry is acted on only if the table still names that run
// (its `due`), so stopping never has to reach into a heap on another thread.
#include <algorithm>

#include "errors.hpp"
#include "port.hpp"

namespace iocpnet {

int Port::timer_start(uint64_t delay_ms, uint64_t repeat_ms, iocpnet_timer_fn fn, void *arg, uint64_t *out) {
    // Far-future values are clamped so that the sums below cannot overflow.
    const uint64_t kMaxMs = uint64_t(1) << 52;
    delay_ms = std::min(delay_ms, kMaxMs);
    repeat_ms = std::min(repeat_ms, kMaxMs);
    int64_t at = mono_ms() + int64_t(delay_ms);
    unsigned w = on_worker() ? t_worker.index : pick_worker();
    uint64_t id;
    {
        std::lock_guard<std::mutex> lk(tm_mu);
        if (stopping.load()) return fail(IOCPNET_E_SHUTTING_DOWN, "the port is being destroyed");
        id = next_timer++;
        UserTimer t{fn, arg, repeat_ms, at, w};
        try {
            user_timers.emplace(id, t);
        } catch (const std::bad_alloc &) {
            return fail(IOCPNET_E_NO_MEMORY, "no memory for a timer");
        }
    }
    if (on_owner(w)) {
        timer_push(*workers[w], id, at);
    } else {
        Task t{};
        t.kind = Task::timer;
        t.id = id;
        t.at = at;
        if (!push_task(w, t)) { // that worker has stopped: destroy is under way
            std::lock_guard<std::mutex> lk(tm_mu);
            user_timers.erase(id);
            return fail(IOCPNET_E_SHUTTING_DOWN, "the port is being destroyed");
        }
    }
    *out = id;
    return IOCPNET_OK;
}

int Port::timer_stop(uint64_t id) {
    std::lock_guard<std::mutex> lk(tm_mu);
    auto it = user_timers.find(id);
    if (it != user_timers.end() && it->second.running) {
        // fn is running (maybe this is fn): dropped when it returns. Also
        // when destroy has stopped it meanwhile: from inside fn the timer
        // is still there to stop.
        it->second.stopped = true;
        return IOCPNET_OK;
    }
    if (it == user_timers.end() || it->second.stopped)
        return fail(IOCPNET_E_NOT_FOUND, "no running timer %llu", (unsigned long long)id);
    workers[it->second.worker]->stale_timers.fetch_add(1, std::memory_order_relaxed);
    user_timers.erase(it);
    return IOCPNET_OK;
}

void Port::timer_push(Worker &wk, uint64_t id, int64_t at) {
    wk.timers.push_back(TimerEntry{at, nullptr, id});
    std::push_heap(wk.timers.begin(), wk.timers.end());
    timers_compact(wk);
}

void Port::timer_fire(uint64_t id, int64_t at) {
    iocpnet_timer_fn fn;
    void *arg;
    {
        std::lock_guard<std::mutex> lk(tm_mu);
        auto it = user_timers.find(id);
        if (it == user_timers.end() || it->second.due != at || it->second.stopped) return; // stale entry
        it->second.running = true;
        fn = it->second.fn;
        arg = it->second.arg;
    }
    fn(arg, this, id);
    Worker &wk = owner();
    int64_t next;
    {
        std::lock_guard<std::mutex> lk(tm_mu);
        auto it = user_timers.find(id);
        if (it == user_timers.end()) return; // destroy cleared the table
        UserTimer &t = it->second;
        t.running = false;
        if (t.stopped || !t.repeat_ms) {
            user_timers.erase(it);
            return;
        }
        // The next run on the same grid; runs missed while behind are skipped.
        int64_t now = mono_ms();
        next = at + int64_t(t.repeat_ms);
        if (next <= now) next = now + int64_t(t.repeat_ms) - (now - at) % int64_t(t.repeat_ms);
        t.due = next;
    }
    timer_push(wk, id, next);
}

// Stopped timers leave their entry in the heap until it is due; when those
// are many (long delays started and stopped often), they are swept out.
void Port::timers_compact(Worker &wk) {
    uint32_t stale = wk.stale_timers.load(std::memory_order_relaxed);
    if (stale < 1024 || stale < wk.timers.size() / 2) return;
    wk.stale_timers.store(0, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lk(tm_mu);
    auto dead = [&](const TimerEntry &e) {
        if (e.conn) return false;
        auto it = user_timers.find(e.id);
        return it == user_timers.end() || it->second.due != e.at;
    };
    wk.timers.erase(std::remove_if(wk.timers.begin(), wk.timers.end(), dead), wk.timers.end());
    std::make_heap(wk.timers.begin(), wk.timers.end());
}

// Destroy stops every timer. One whose fn is running stays in the table,
// stopped, until fn returns (timer_fire drops it then), so that a
// timer_stop inside fn still finds it.
void Port::timers_clear() {
    std::lock_guard<std::mutex> lk(tm_mu);
    for (auto it = user_timers.begin(); it != user_timers.end();) {
        if (it->second.running) {
            it->second.stopped = true;
            ++it;
        } else {
            it = user_timers.erase(it);
        }
    }
}

} // namespace iocpnet
