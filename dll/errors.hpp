// Error detail and logging shared by every layer. The codes themselves are
// the one table in iocpnet.h (IOCPNET_ERRNO_MAP).
#pragma once
#include <exception>
#include <new>

#include "iocpnet/iocpnet.h"

namespace iocpnet {

// Records a printf-style detail for this thread's iocpnet_last_error_message
// and returns `code`, so a failure path reads `return fail(E, "...", ...)`.
#if defined(__MINGW32__)
#define IOCPNET_PRINTF_LIKE(f, a) __attribute__((format(gnu_printf, f, a))) // mingw's own vsnprintf
#elif defined(__GNUC__)
#define IOCPNET_PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define IOCPNET_PRINTF_LIKE(f, a)
#endif

int fail(int code, const char *fmt, ...) IOCPNET_PRINTF_LIKE(2, 3);
const char *last_error();

// The process-wide log hook (iocpnet_set_log). Cheap when nothing listens.
bool log_enabled(uint32_t level);
void log(uint32_t level, const char *fmt, ...) IOCPNET_PRINTF_LIKE(2, 3);
int set_log(uint32_t level, iocpnet_log_fn fn, void *user);

// The exception barrier of every exported function: nothing is thrown across
// the C ABI; an exception becomes an error code with its detail recorded.
template <class F> int guarded(F &&f) noexcept {
    try {
        return f();
    } catch (const std::bad_alloc &) {
        return fail(IOCPNET_E_NO_MEMORY, "out of memory");
    } catch (const std::exception &e) {
        return fail(IOCPNET_E_SYSTEM, "internal error: %s", e.what());
    } catch (...) {
        return fail(IOCPNET_E_SYSTEM, "internal error");
    }
}

} // namespace iocpnet
