// The replaceable operator new / delete of core_tests (failing_new.hpp).
#include "failing_new.hpp"

#include <cstdlib>
#include <new>

namespace {
thread_local size_t t_fail_from = 0; // 0: allocations succeed

void *allocate(size_t n) {
    if (t_fail_from && n >= t_fail_from) throw std::bad_alloc();
    if (void *p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
} // namespace

failing_new::Scope::Scope(size_t from) : before_(t_fail_from) { t_fail_from = from; }
failing_new::Scope::~Scope() { t_fail_from = before_; }

void *operator new(size_t n) { return allocate(n); }
void *operator new[](size_t n) { return allocate(n); }
void *operator new(size_t n, const std::nothrow_t &) noexcept {
    try {
        return allocate(n);
    } catch (const std::bad_alloc &) {
        return nullptr;
    }
}
void *operator new[](size_t n, const std::nothrow_t &t) noexcept { return operator new(n, t); }
void operator delete(void *p) noexcept { std::free(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { std::free(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, size_t) noexcept { std::free(p); }
void operator delete[](void *p, size_t) noexcept { std::free(p); }
