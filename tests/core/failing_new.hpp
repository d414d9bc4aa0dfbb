// core_tests replaces operator new (every form but the aligned ones) so that
// a test can make large allocations fail on its own thread, as a machine out
// of memory would. delete pairs with it through malloc/free, so sanitizers
// see matching calls.
#pragma once
#include <cstddef>

namespace failing_new {
// While one lives, allocations of `from` bytes or more on this thread fail
// (std::bad_alloc, or nullptr for the nothrow forms).
class Scope {
  public:
    explicit Scope(size_t from);
    ~Scope();
    Scope(const Scope &) = delete;
    Scope &operator=(const Scope &) = delete;

  private:
    size_t before_;
};
} // namespace failing_new
