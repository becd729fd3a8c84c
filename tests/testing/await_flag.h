// Waiting for another thread's signal in tests that stall or hold threads on purpose, with a
// time-out far beyond any wake-up, so that a test fails instead of hanging.
//
//   std::atomic<bool> started{false};
//   ASSERT_TRUE(testing::AwaitFlag(started)) << "the worker never started";
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

namespace flow::testing {

// Waits (up to 30 s) until `flag` is set; false on time-out.
inline bool AwaitFlag(const std::atomic<bool>& flag) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!flag.load()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace flow::testing
