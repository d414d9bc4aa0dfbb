#include "errors.hpp"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace iocpnet {
namespace {
thread_local char t_detail[512];

struct LogHook {
    iocpnet_log_fn fn;
    void *user;
};
std::mutex g_log_mu;
LogHook g_log{nullptr, nullptr};
std::atomic<int> g_log_level{-1}; // -1 = off: the fast path is one relaxed load
} // namespace

int fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_detail, sizeof t_detail, fmt, ap);
    va_end(ap);
    return code;
}

const char *last_error() { return t_detail; }

bool log_enabled(uint32_t level) { return int(level) <= g_log_level.load(std::memory_order_relaxed); }

void log(uint32_t level, const char *fmt, ...) {
    if (!log_enabled(level)) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    LogHook hook;
    {
        std::lock_guard<std::mutex> lk(g_log_mu);
        hook = g_log;
    }
    // Called without any lock: the hook may call into the library, set_log included.
    if (hook.fn) hook.fn(hook.user, level, msg);
}

int set_log(uint32_t level, iocpnet_log_fn fn, void *user) {
    if (level > IOCPNET_LOG_DEBUG) return fail(IOCPNET_E_INVALID_ARG, "log level %u is above IOCPNET_LOG_DEBUG", level);
    std::lock_guard<std::mutex> lk(g_log_mu);
    g_log = {fn, user};
    g_log_level.store(fn ? int(level) : -1);
    return IOCPNET_OK;
}

} // namespace iocpnet
