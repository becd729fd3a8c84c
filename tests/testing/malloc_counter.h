// Counts heap allocations (all threads) while a scope is open, by interposing malloc for the
// whole test binary — one interposer, so every test that proves "no allocation" shares it.
// Sanitizer builds own malloc, so there kMallocCounting is false and tests skip.
//
//   testing::MallocCounter counter;   // starts at 0
//   job.RunInPlace(feeds);
//   EXPECT_EQ(counter.allocations(), 0);
#pragma once

#include <cstdint>

namespace flow::testing {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kMallocCounting = false;
#else
inline constexpr bool kMallocCounting = true;
#endif

class MallocCounter {
 public:
  MallocCounter();   // resets the count and starts counting
  ~MallocCounter();  // stops counting
  int64_t allocations() const;
};

}  // namespace flow::testing
