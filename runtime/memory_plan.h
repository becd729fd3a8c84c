// Liveness-based buffer placement in one arena. Activations and gradients of a compiled job are
// requested with the op interval during which they must hold their value; buffers whose
// intervals do not overlap may share bytes. Greedy by size (largest first, lowest fitting
// offset), as TFLite's arena planner; `reuse = false` gives every buffer its own bytes, for
// debugging a suspected aliasing bug.
//
//   MemoryPlan plan = PlanMemory({{4096, 0, 2}, {4096, 3, 5}}, /*reuse=*/true);
//   // plan.offsets == {0, 0}, plan.arena_bytes == 4096
#pragma once

#include <cstdint>
#include <vector>

namespace flow {

struct BufferRequest {
  int64_t bytes = 0;
  int first_use = 0;  // index of the op that writes it first (or 0 for fed placeholders)
  int last_use = 0;   // index of the last op that reads it, inclusive
};

struct MemoryPlan {
  std::vector<int64_t> offsets;  // one per request, multiples of kArenaAlignment
  int64_t arena_bytes = 0;
};

inline constexpr int64_t kArenaAlignment = 64;

MemoryPlan PlanMemory(const std::vector<BufferRequest>& requests, bool reuse);

}  // namespace flow
