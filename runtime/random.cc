#include "runtime/random.h"

#include <cmath>
#include <limits>

#include "runtime/status.h"

// Bit-identical results across platforms need every a*b+c rounded twice, as written; a compiler
// fusing it into an FMA (GCC does by default for C++ where the ISA has FMA, e.g. aarch64) would
// change the last bits of normals and logs.
#include "runtime/fp_contract_off.h"

namespace flow {
namespace {

constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

// Philox4x32 constants (Random123 philox.h).
constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;
constexpr int kPhiloxRounds = 10;

}  // namespace

uint64_t SplitMix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t StableHash64(absl::string_view s) {
  uint64_t h = kFnvOffsetBasis;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= kFnvPrime;
  }
  return SplitMix64(h);
}

uint64_t CombineSeeds(uint64_t a, uint64_t b) {
  // Mix each input with a different odd constant first so that (a, b) and (b, a) differ, then
  // finalize; SplitMix64 of the sum spreads every input bit over the whole output.
  return SplitMix64(SplitMix64(a + 0x9e3779b97f4a7c15ULL) ^ (b * 0xd1b54a32d192ed03ULL + 1));
}

namespace {

// Philox4x32-10 of blocks [first, first + kLanes) in structure-of-arrays form, each 32-bit word a
// lane (operator() is the one-lane case), so the compiler turns every step into one vector
// instruction (the 32×32→64 products into vpmuludq).
template <int kLanes>
inline void PhiloxLanes(uint64_t key, uint64_t counter_hi, uint64_t first, uint32_t* out) {
  uint32_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    const uint64_t block = first + l;
    c0[l] = static_cast<uint32_t>(block);
    c1[l] = static_cast<uint32_t>(block >> 32);
    c2[l] = static_cast<uint32_t>(counter_hi);
    c3[l] = static_cast<uint32_t>(counter_hi >> 32);
  }
  uint32_t k0 = static_cast<uint32_t>(key);
  uint32_t k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < kPhiloxRounds; ++round) {
    if (round > 0) {
      k0 += kPhiloxW0;
      k1 += kPhiloxW1;
    }
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) {
      const uint64_t p0 = static_cast<uint64_t>(kPhiloxM0) * c0[l];
      const uint64_t p1 = static_cast<uint64_t>(kPhiloxM1) * c2[l];
      const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1[l] ^ k0;
      const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3[l] ^ k1;
      c0[l] = n0;
      c1[l] = static_cast<uint32_t>(p1);
      c2[l] = n2;
      c3[l] = static_cast<uint32_t>(p0);
    }
  }
  for (int l = 0; l < kLanes; ++l) {
    out[4 * l] = c0[l];
    out[4 * l + 1] = c1[l];
    out[4 * l + 2] = c2[l];
    out[4 * l + 3] = c3[l];
  }
}

// One clone per ISA, chosen by the loader (ifunc); the results are integers, the same in each.
__attribute__((target_clones("avx2", "default"))) void PhiloxBlocks(uint64_t key,
                                                                    uint64_t counter_hi,
                                                                    uint64_t first_block,
                                                                    int64_t count, uint32_t* out) {
  constexpr int kLanes = 8;
  int64_t j = 0;
  for (; j + kLanes <= count; j += kLanes) {
    PhiloxLanes<kLanes>(key, counter_hi, first_block + j, out + 4 * j);
  }
  if (j < count) {  // the tail, through a full set of lanes
    uint32_t tail[4 * kLanes];
    PhiloxLanes<kLanes>(key, counter_hi, first_block + j, tail);
    for (int64_t w = 0; w < 4 * (count - j); ++w) out[4 * j + w] = tail[w];
  }
}

}  // namespace

std::array<uint32_t, 4> Philox4x32::operator()(uint64_t counter_hi, uint64_t counter_lo) const {
  std::array<uint32_t, 4> words;
  PhiloxLanes<1>(key_, counter_hi, counter_lo, words.data());
  return words;
}

void Philox4x32::Blocks(uint64_t counter_hi, uint64_t first_block, int64_t count,
                        uint32_t* out) const {
  PhiloxBlocks(key_, counter_hi, first_block, count, out);
}

uint32_t RandomStream::NextU32() {
  if (next_word_ == 4) {
    buffer_ = philox_(stream_, block_++);
    next_word_ = 0;
  }
  return buffer_[next_word_++];
}

uint64_t RandomStream::NextU64() {
  const uint64_t hi = NextU32();
  return (hi << 32) | NextU32();
}

double RandomStream::Uniform01() { return U64ToUniform01(NextU64()); }

double RandomStream::Normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  double u, v, s;
  do {
    // 2u - 1 is exact for u = k * 2^-53, so u, v are symmetric and exactly representable.
    u = 2.0 * Uniform01() - 1.0;
    v = 2.0 * Uniform01() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double factor = std::sqrt(-2.0 * internal::DeterministicLog(s) / s);
  spare_normal_ = v * factor;
  has_spare_normal_ = true;
  return u * factor;
}

float RandomStream::UniformFloat(float lo, float hi) {
  FLOWRT_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi)
      << "UniformFloat(" << lo << ", " << hi << ")";
  const double x =
      static_cast<double>(lo) + (static_cast<double>(hi) - static_cast<double>(lo)) * Uniform01();
  float f = static_cast<float>(x);
  if (f >= hi) f = lo == hi ? lo : std::nextafter(hi, lo);
  if (f < lo) f = lo;  // cannot happen for x >= lo, kept as a guard for the documented range
  return f;
}

uint64_t RandomStream::UniformInt(uint64_t n) {
  FLOWRT_CHECK(n > 0) << "UniformInt(0)";
  // Lemire, "Fast random integer generation in an interval" (2019): the high word of x * n is
  // uniform in [0, n) once the low word is outside the biased zone [0, 2^64 mod n).
  unsigned __int128 m = static_cast<unsigned __int128>(NextU64()) * n;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    while (low < threshold) {
      m = static_cast<unsigned __int128>(NextU64()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

namespace internal {

double DeterministicLog(double x) {
  if (std::isnan(x) || x <= 0) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(x)) return x;
  int exponent = 0;
  double m = std::frexp(x, &exponent);  // exact: x = m * 2^exponent, m in [0.5, 1)
  if (m < 0.70710678118654752440) {     // move m into [sqrt(1/2), sqrt(2)), so |f| <= 0.1716
    m *= 2.0;
    --exponent;
  }
  // log(m) = 2 atanh(f) = 2 (f + f^3/3 + f^5/5 + ...), f = (m - 1) / (m + 1); m - 1 is exact.
  // With f^2 <= 0.0295, terms up to f^25 / 25 put the truncation error below 1e-19 relative.
  const double f = (m - 1.0) / (m + 1.0);
  const double f2 = f * f;
  double series = 1.0 / 25.0;
  for (int k = 23; k >= 1; k -= 2) series = series * f2 + 1.0 / static_cast<double>(k);
  const double log_m = 2.0 * f * series;
  // ln 2 split so that exponent * kLn2Hi is exact for |exponent| < 2^11 (kLn2Hi has 42 bits).
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 0x3fe62e42fee00000
  constexpr double kLn2Lo = 1.90821492927058770002e-10;  // 0x3dea39ef35793c76
  const double e = static_cast<double>(exponent);
  return e * kLn2Hi + (e * kLn2Lo + log_m);
}

}  // namespace internal
}  // namespace flow
