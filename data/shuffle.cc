#include "data/shuffle.h"

#include <numeric>
#include <utility>

#include "runtime/status.h"

namespace flow::data {
namespace {

// SplitMix64's output function: a bijective avalanche mix of 64 bits.
uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t SplitMix64::Next() {
  state_ += 0x9E3779B97F4A7C15ULL;
  return Mix64(state_);
}

uint64_t SplitMix64::Below(uint64_t bound) {
  FLOWRT_CHECK_GT(bound, uint64_t{0});
  // Lemire, "Fast Random Integer Generation in an Interval" (2019): reject the few low products
  // that would make some results one draw more likely than others.
  unsigned __int128 product = static_cast<unsigned __int128>(Next()) * bound;
  uint64_t low = static_cast<uint64_t>(product);
  if (low < bound) {
    const uint64_t threshold = (0 - bound) % bound;
    while (low < threshold) {
      product = static_cast<unsigned __int128>(Next()) * bound;
      low = static_cast<uint64_t>(product);
    }
  }
  return static_cast<uint64_t>(product >> 64);
}

std::vector<int64_t> EpochPermutation(int64_t n, uint64_t seed, int64_t epoch) {
  FLOWRT_CHECK_GE(n, int64_t{0});
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t{0});
  SplitMix64 rng(Mix64(seed) ^ Mix64(static_cast<uint64_t>(epoch) + 0x632BE59BD9B4E019ULL));
  // Fisher-Yates from the back: position i takes a uniform pick of the i+1 not yet placed.
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(i) + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

}  // namespace flow::data
