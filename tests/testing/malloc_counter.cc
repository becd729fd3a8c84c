#include "tests/testing/malloc_counter.h"

#include <atomic>
#include <cstddef>

namespace {
std::atomic<bool> counting{false};
std::atomic<int64_t> allocation_count{0};
}  // namespace

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
extern "C" void* __libc_malloc(size_t);
extern "C" void* malloc(size_t size) {
  if (counting.load(std::memory_order_relaxed)) allocation_count.fetch_add(1);
  return __libc_malloc(size);
}
#endif

namespace flow::testing {

MallocCounter::MallocCounter() {
  allocation_count = 0;
  counting = true;
}
MallocCounter::~MallocCounter() { counting = false; }
int64_t MallocCounter::allocations() const { return allocation_count.load(); }

}  // namespace flow::testing
