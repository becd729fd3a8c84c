#include "runtime/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace flow {
namespace {

int64_t AlignUp(int64_t bytes) {
  return (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
}

bool LiveTogether(const BufferRequest& a, const BufferRequest& b) {
  return a.first_use <= b.last_use && b.first_use <= a.last_use;
}

}  // namespace

MemoryPlan PlanMemory(const std::vector<BufferRequest>& requests, bool reuse) {
  MemoryPlan plan;
  plan.offsets.assign(requests.size(), 0);
  if (!reuse) {
    for (size_t i = 0; i < requests.size(); ++i) {
      plan.offsets[i] = plan.arena_bytes;
      plan.arena_bytes += AlignUp(requests[i].bytes);
    }
    return plan;
  }
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return requests[a].bytes > requests[b].bytes; });
  std::vector<size_t> placed;
  for (size_t i : order) {
    const int64_t size = AlignUp(requests[i].bytes);
    // Occupied ranges of already placed buffers that are live at the same time, by offset.
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (size_t j : placed) {
      if (LiveTogether(requests[i], requests[j])) {
        busy.emplace_back(plan.offsets[j], plan.offsets[j] + AlignUp(requests[j].bytes));
      }
    }
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (offset + size <= begin) break;
      offset = std::max(offset, end);
    }
    plan.offsets[i] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + size);
    placed.push_back(i);
  }
  return plan;
}

}  // namespace flow
