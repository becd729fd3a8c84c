// Deterministic, platform-independent randomness for initializers, dropout and shuffling.
//
//   uint64_t seed = flow::CombineSeeds(session_seed, flow::StableHash64("dense1-weight"));
//   flow::RandomStream rng(seed);
//   double u = rng.Uniform01();     // [0, 1), 53 random bits
//   double z = rng.Normal();        // N(0, 1)
//
//   // Parallel kernels (dropout): element i at (seed, step) independent of thread count.
//   flow::Philox4x32 philox(seed);
//   uint32_t bits = philox(/*counter_hi=*/step, /*counter_lo=*/i / 4)[i % 4];
//
// Why not <random>: the std:: distributions' outputs are implementation-defined, so the same seed
// would give different weights under libstdc++ and libc++. Everything here is integer arithmetic
// plus IEEE-754 +,-,*,/,sqrt (correctly rounded everywhere) and our own logarithm
// (internal::DeterministicLog), so a seed yields bit-identical values on every platform. The .cc
// files that do the floating-point work disable FMA contraction for the same reason.
#pragma once

#include <array>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace flow {

// FNV-1a 64 over the bytes of `s`, then the SplitMix64 finalizer (FNV alone mixes the last bytes
// poorly: "w1"/"w2" would differ only in low bits). Stable forever: variable seeds derive from it,
// so changing it changes every model's initial values.
uint64_t StableHash64(absl::string_view s);

// Mixes two seeds into one; order matters (CombineSeeds(a, b) != CombineSeeds(b, a) in general).
// The session uses CombineSeeds(session_seed, StableHash64(variable_name)).
uint64_t CombineSeeds(uint64_t a, uint64_t b);

// SplitMix64's output function: a bijective 64-bit mixer.
uint64_t SplitMix64(uint64_t x);

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), a
// counter-based generator: output = bijection_key(counter), so any position of any stream is
// computable directly. Word layout matches Random123's kat_vectors: the 64-bit key is
// {low 32 bits, high 32 bits}; the 128-bit counter is
// {lo32(counter_lo), hi32(counter_lo), lo32(counter_hi), hi32(counter_hi)}.
class Philox4x32 {
 public:
  explicit Philox4x32(uint64_t key) : key_(key) {}

  std::array<uint32_t, 4> operator()(uint64_t counter_hi, uint64_t counter_lo) const;

  // The words of `count` consecutive blocks, (*this)(counter_hi, first_block + j)[w] at
  // out[4 * j + w] for j in [0, count): bit for bit the same as calling operator() per block, but
  // 8 blocks side by side in SIMD lanes (AVX2 where the CPU has it), ~10× faster (dropout draws
  // one word per activation).
  void Blocks(uint64_t counter_hi, uint64_t first_block, int64_t count, uint32_t* out) const;

  uint64_t key() const { return key_; }

 private:
  uint64_t key_;
};

// Converts 64 random bits to a double in [0, 1) using the top 53 bits: k * 2^-53.
inline double U64ToUniform01(uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }
// Converts 32 random bits to a float in [0, 1) using the top 24 bits: k * 2^-24 (for kernels that
// draw one float per Philox word, e.g. a dropout mask: keep iff U32ToUniformFloat01(w) >= rate).
inline float U32ToUniformFloat01(uint32_t bits) {
  return static_cast<float>(bits >> 8) * 0x1.0p-24f;
}

// A sequential stream over Philox4x32-10: key = seed, counter_hi = stream, counter_lo = block.
// The i-th NextU32() is Philox4x32(seed)(stream, i / 4)[i % 4], so a stream can be split across
// threads by block. Uniform01/NextU64 consume two words, Normal() a variable number (rejection).
// Not thread-safe; cheap to construct.
class RandomStream {
 public:
  explicit RandomStream(uint64_t seed, uint64_t stream = 0) : philox_(seed), stream_(stream) {}

  uint32_t NextU32();
  // Two words, the first one in the high half.
  uint64_t NextU64();
  // k * 2^-53 for k uniform in [0, 2^53): [0, 1), never 1.
  double Uniform01();
  // Standard normal N(0, 1), Marsaglia's polar method in double (pairs: every second call returns
  // the cached partner). Uses DeterministicLog, so bit-identical across platforms.
  double Normal();
  // A float in [lo, hi): lo + (hi - lo) * Uniform01() computed in double, rounded to nearest
  // float; a result that rounds up to hi becomes the largest float below hi, so hi is never
  // returned (unlike OneFlow's float random_uniform, where max is reachable through rounding —
  // the initializers do their own double->dtype cast to keep that). Returns lo when lo == hi.
  // Requires lo <= hi, both finite (CHECKed).
  float UniformFloat(float lo, float hi);
  // Uniform integer in [0, n), n > 0 (CHECKed); exactly unbiased (Lemire's multiply-and-reject).
  uint64_t UniformInt(uint64_t n);

 private:
  Philox4x32 philox_;
  uint64_t stream_;
  uint64_t block_ = 0;
  std::array<uint32_t, 4> buffer_{};
  int next_word_ = 4;  // 4 = buffer exhausted
  bool has_spare_normal_ = false;
  double spare_normal_ = 0;
};

namespace internal {
// Natural logarithm for finite x > 0 from IEEE +,-,*,/ only (frexp reduction + atanh series),
// within a few ulp of std::log but identical on every platform (libm's log is not required to be
// correctly rounded, so its last bit may differ between libraries). Returns NaN for x <= 0.
double DeterministicLog(double x);
}  // namespace internal

}  // namespace flow
