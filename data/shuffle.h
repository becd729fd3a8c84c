// Deterministic per-epoch permutations for dataset shuffling.
//
//   std::vector<int64_t> order = flow::data::EpochPermutation(60000, /*seed=*/7, /*epoch=*/3);
//   // order[k] is the file index of the k-th example of epoch 3; the same on every machine.
//
// Why not std::shuffle + std::uniform_int_distribution: the distributions are implementation-
// defined, so orders would differ between standard libraries. Here the generator is SplitMix64
// (Steele et al. 2014) and the bounded draw is Lemire's unbiased multiply-shift, both fixed
// arithmetic, driving a Fisher-Yates shuffle: an order depends only on (n, seed, epoch).
#pragma once

#include <cstdint>
#include <vector>

namespace flow::data {

// A tiny, stable 64-bit generator; one stream per (seed, stream) pair.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t state) : state_(state) {}
  uint64_t Next();
  // Uniform in [0, bound), unbiased; bound > 0.
  uint64_t Below(uint64_t bound);

 private:
  uint64_t state_;
};

// A uniformly random permutation of 0..n-1, a pure function of (n, seed, epoch). Different epochs
// of the same seed are independent streams (the epoch is hashed in, not added to the seed).
std::vector<int64_t> EpochPermutation(int64_t n, uint64_t seed, int64_t epoch);

}  // namespace flow::data
