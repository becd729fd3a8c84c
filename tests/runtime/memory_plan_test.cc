#include "runtime/memory_plan.h"

#include <gtest/gtest.h>

namespace flow {
namespace {

bool Overlap(int64_t a, int64_t a_bytes, int64_t b, int64_t b_bytes) {
  return a < b + b_bytes && b < a + a_bytes;
}

TEST(MemoryPlanTest, DisjointLifetimesShareBytes) {
  MemoryPlan plan = PlanMemory({{4096, 0, 2}, {4096, 3, 5}}, /*reuse=*/true);
  EXPECT_EQ(plan.offsets, (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(plan.arena_bytes, 4096);
}

TEST(MemoryPlanTest, OverlappingLifetimesNeverShareAndOffsetsAreAligned) {
  std::vector<BufferRequest> requests;
  for (int i = 0; i < 40; ++i) requests.push_back({100 + 37 * (i % 7), i % 9, i % 9 + i % 4});
  MemoryPlan plan = PlanMemory(requests, true);
  for (size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(plan.offsets[i] % kArenaAlignment, 0);
    EXPECT_LE(plan.offsets[i] + requests[i].bytes, plan.arena_bytes);
    for (size_t j = 0; j < i; ++j) {
      const bool live_together = requests[i].first_use <= requests[j].last_use &&
                                 requests[j].first_use <= requests[i].last_use;
      if (live_together) {
        EXPECT_FALSE(
            Overlap(plan.offsets[i], requests[i].bytes, plan.offsets[j], requests[j].bytes))
            << i << " and " << j;
      }
    }
  }
  MemoryPlan no_reuse = PlanMemory(requests, false);
  EXPECT_LT(plan.arena_bytes, no_reuse.arena_bytes);
}

TEST(MemoryPlanTest, NoReuseGivesEveryBufferItsOwnBytes) {
  MemoryPlan plan = PlanMemory({{10, 0, 0}, {10, 5, 5}, {100, 9, 9}}, false);
  EXPECT_EQ(plan.offsets, (std::vector<int64_t>{0, 64, 128}));
  EXPECT_EQ(plan.arena_bytes, 256);
}

}  // namespace
}  // namespace flow
