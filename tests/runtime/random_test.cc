#include "runtime/random.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace flow {
namespace {

// Random123 kat_vectors, "philox4x32 10" lines: CTR (4 words), KEY (2 words), EXPECTED (4 words).
struct PhiloxKat {
  std::array<uint32_t, 4> ctr;
  std::array<uint32_t, 2> key;
  std::array<uint32_t, 4> expected;
};

TEST(Philox4x32Test, Random123KnownAnswerVectors) {
  const PhiloxKat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const PhiloxKat& kat : kats) {
    const uint64_t key = (static_cast<uint64_t>(kat.key[1]) << 32) | kat.key[0];
    const uint64_t counter_lo = (static_cast<uint64_t>(kat.ctr[1]) << 32) | kat.ctr[0];
    const uint64_t counter_hi = (static_cast<uint64_t>(kat.ctr[3]) << 32) | kat.ctr[2];
    EXPECT_EQ(Philox4x32(key)(counter_hi, counter_lo), kat.expected)
        << std::hex << "key=" << key << " ctr=" << counter_hi << ":" << counter_lo;
  }
}

TEST(Philox4x32Test, EveryCounterAndKeyWordMatters) {
  const Philox4x32 philox(7);
  const auto base = philox(0, 0);
  EXPECT_NE(philox(0, 1), base);
  EXPECT_NE(philox(0, uint64_t{1} << 32), base);
  EXPECT_NE(philox(1, 0), base);
  EXPECT_NE(philox(uint64_t{1} << 32, 0), base);
  EXPECT_NE(Philox4x32(8)(0, 0), base);
  EXPECT_NE(Philox4x32(7 + (uint64_t{1} << 32))(0, 0), base);
}

// Golden values from an independent Python implementation; they pin the seeds every variable's
// Blocks() runs 8 blocks per SIMD lane set plus a tail: every count around the lane width, blocks
// that carry into the counter's second word, a counter_hi with both words set, and the
// known-answer key, must give exactly the words of operator(), and nothing past 4 · count.
TEST(Philox4x32Test, BlocksMatchOneCallPerBlock) {
  const uint64_t keys[] = {0, 0x299f31d0a4093822ULL, ~uint64_t{0}};
  const uint64_t his[] = {0, 5, 0x0370734413198a2eULL};
  const uint64_t firsts[] = {0, 3, (uint64_t{1} << 32) - 5, ~uint64_t{0} - 20};
  for (uint64_t key : keys) {
    const Philox4x32 philox(key);
    for (uint64_t hi : his) {
      for (uint64_t first : firsts) {
        for (int64_t count : {0, 1, 7, 8, 9, 16, 23}) {
          std::vector<uint32_t> words(4 * count + 4, 0xdeadbeef);
          philox.Blocks(hi, first, count, words.data());
          for (int64_t j = 0; j < count; ++j) {
            const auto expected = philox(hi, first + j);
            for (int w = 0; w < 4; ++w) {
              ASSERT_EQ(words[4 * j + w], expected[w])
                  << "key " << key << " hi " << hi << " block " << first + j << " word " << w;
            }
          }
          for (int w = 0; w < 4; ++w) EXPECT_EQ(words[4 * count + w], 0xdeadbeef) << count;
        }
      }
    }
  }
}

// initial values derive from, so a change here silently changes all models.
TEST(StableHash64Test, GoldenValues) {
  EXPECT_EQ(StableHash64(""), 0xf52a15e9a9b5e89bULL);  // SplitMix64(FNV-1a offset basis)
  EXPECT_EQ(StableHash64("a"), 0x02c0bdbf481420f8ULL);
  EXPECT_EQ(StableHash64("dense1-weight"), 0x6cd1245d2b945824ULL);
  EXPECT_EQ(StableHash64("conv1-weight"), 0x118e31847c3f5240ULL);
  EXPECT_EQ(SplitMix64(0xcbf29ce484222325ULL), 0xf52a15e9a9b5e89bULL);
}

TEST(StableHash64Test, DistinctForSimilarNames) {
  std::set<uint64_t> hashes;
  for (const char* name : {"dense1-weight", "dense1-bias", "dense2-weight", "dense2-bias",
                           "conv1-weight", "conv2-weight", "w1", "w2", "1w", "2w"}) {
    hashes.insert(StableHash64(name));
  }
  EXPECT_EQ(hashes.size(), 10u);
  // Embedded NULs are bytes like any other (absl::string_view carries a length).
  EXPECT_NE(StableHash64(absl::string_view("a\0b", 3)), StableHash64(absl::string_view("a\0c", 3)));
}

TEST(CombineSeedsTest, GoldenValuesAndOrderMatters) {
  EXPECT_EQ(CombineSeeds(0, 0), 0x9e0160293a33aaf7ULL);
  EXPECT_EQ(CombineSeeds(1, 2), 0xe592d4a9c6552704ULL);
  EXPECT_EQ(CombineSeeds(2, 1), 0x435db716fd7ebb9cULL);
  EXPECT_EQ(CombineSeeds(42, StableHash64("dense1-weight")), 0xbd9d2ffa4cc44976ULL);
  EXPECT_NE(CombineSeeds(5, 9), CombineSeeds(9, 5));
  EXPECT_NE(CombineSeeds(5, 9), CombineSeeds(5, 10));
  EXPECT_NE(CombineSeeds(5, 9), CombineSeeds(6, 9));
}

TEST(RandomStreamTest, WordIIsPhiloxBlockIOver4) {
  // The property parallel kernels rely on: position i of a stream is computable directly.
  for (uint64_t stream : {uint64_t{0}, uint64_t{3}}) {
    RandomStream rng(42, stream);
    const Philox4x32 philox(42);
    for (uint64_t i = 0; i < 1000; ++i) {
      ASSERT_EQ(rng.NextU32(), philox(stream, i / 4)[i % 4]) << "word " << i;
    }
  }
}

TEST(RandomStreamTest, GoldenFirstWordsAndUniform) {
  RandomStream rng(42);
  EXPECT_EQ(rng.NextU32(), 0x9ceaf053u);
  EXPECT_EQ(rng.NextU32(), 0x77f5493bu);
  RandomStream rng2(42);
  EXPECT_EQ(rng2.NextU64(), 0x9ceaf05377f5493bULL);
  RandomStream rng3(42);
  EXPECT_EQ(rng3.Uniform01(), 5521051785035433.0 * 0x1.0p-53);  // 0.6129598811894158
}

TEST(RandomStreamTest, SameSeedSameSequenceDifferentSeedOrStreamDiffers) {
  RandomStream a(123), b(123), c(124), d(123, 1);
  int differs_c = 0, differs_d = 0;
  for (int i = 0; i < 1000; ++i) {
    const double na = a.Normal(), nb = b.Normal(), nc = c.Normal(), nd = d.Normal();
    ASSERT_EQ(std::memcmp(&na, &nb, sizeof(double)), 0) << i;
    differs_c += na != nc;
    differs_d += na != nd;
  }
  EXPECT_EQ(differs_c, 1000);
  EXPECT_EQ(differs_d, 1000);
}

TEST(RandomStreamTest, Uniform01RangeAndStatistics) {
  RandomStream rng(9);
  const int n = 1000000;
  double sum = 0, sum_sq = 0, lo = 1, hi = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.Uniform01();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
    sum_sq += u * u;
  }
  const double mean = sum / n, var = sum_sq / n - mean * mean;
  // U(0,1): mean 1/2 with sd 1/sqrt(12 n); variance 1/12 with sd sqrt((1/80 - 1/144) / n).
  EXPECT_NEAR(mean, 0.5, 5 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(var, 1.0 / 12, 5 * std::sqrt((1.0 / 80 - 1.0 / 144) / n));
  EXPECT_LT(lo, 1e-4);  // P(min > 1e-4) = (1 - 1e-4)^n ~ e^-100
  EXPECT_GT(hi, 1 - 1e-4);
}

TEST(RandomStreamTest, Uniform01EndpointsOfTheBitMapping) {
  EXPECT_EQ(U64ToUniform01(0), 0.0);
  EXPECT_EQ(U64ToUniform01(~uint64_t{0}), 1.0 - 0x1.0p-53);
  EXPECT_EQ(U32ToUniformFloat01(0), 0.0f);
  EXPECT_EQ(U32ToUniformFloat01(0xffffffffu), 1.0f - 0x1.0p-24f);
  EXPECT_LT(U32ToUniformFloat01(0xffffffffu), 1.0f);
}

TEST(RandomStreamTest, NormalMoments) {
  RandomStream rng(2024);
  const int n = 1000000;
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0, lag1 = 0, previous = 0;
  int beyond_2 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.Normal();
    lag1 += z * previous;  // the polar method's pairs must be independent, as must the pairs
    previous = z;
    ASSERT_TRUE(std::isfinite(z));
    s1 += z;
    s2 += z * z;
    s3 += z * z * z;
    s4 += z * z * z * z;
    beyond_2 += std::abs(z) >= 2;
  }
  // Standard errors for N(0,1) sample moments: E z = 0 (sd 1/sqrt n), E z^2 = 1 (sd sqrt(2/n)),
  // E z^3 = 0 (sd sqrt(15/n)), E z^4 = 3 (sd sqrt(96/n)).
  EXPECT_NEAR(s1 / n, 0.0, 5 / std::sqrt(n));
  EXPECT_NEAR(s2 / n, 1.0, 5 * std::sqrt(2.0 / n));
  EXPECT_NEAR(s3 / n, 0.0, 5 * std::sqrt(15.0 / n));
  EXPECT_NEAR(s4 / n, 3.0, 5 * std::sqrt(96.0 / n));
  EXPECT_NEAR(lag1 / n, 0.0, 5 / std::sqrt(n));  // E[z_i z_(i+1)] = 0, sd 1/sqrt(n)
  // P(|z| >= 2) = 0.0455003; binomial sd sqrt(p(1-p)/n).
  const double p = 0.04550026389635842;
  EXPECT_NEAR(static_cast<double>(beyond_2) / n, p, 5 * std::sqrt(p * (1 - p) / n));
}

TEST(RandomStreamTest, UniformFloatIsHalfOpen) {
  RandomStream rng(5);
  for (int i = 0; i < 100000; ++i) {
    const float f = rng.UniformFloat(-2.0f, 3.0f);
    ASSERT_GE(f, -2.0f);
    ASSERT_LT(f, 3.0f);
  }
  // A one-ulp range: the double result rounds to hi about half the time; hi must never come out.
  const float lo = 1.0f, hi = std::nextafter(1.0f, 2.0f);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(rng.UniformFloat(lo, hi), lo);
  EXPECT_EQ(rng.UniformFloat(4.0f, 4.0f), 4.0f);
}

TEST(RandomStreamTest, UniformIntRangeAndFrequencies) {
  RandomStream rng(77);
  const int n = 600000;
  std::vector<int> counts(6, 0);
  for (int i = 0; i < n; ++i) {
    const uint64_t k = rng.UniformInt(6);
    ASSERT_LT(k, 6u);
    ++counts[k];
  }
  const double p = 1.0 / 6;
  for (int k = 0; k < 6; ++k) {
    EXPECT_NEAR(counts[k] / static_cast<double>(n), p, 5 * std::sqrt(p * (1 - p) / n)) << k;
  }
  EXPECT_EQ(rng.UniformInt(1), 0u);
  // Huge ranges stay in range (exercises the rejection threshold).
  const uint64_t big = (uint64_t{1} << 63) + 12345;
  for (int i = 0; i < 1000; ++i) ASSERT_LT(rng.UniformInt(big), big);
}

TEST(DeterministicLogTest, AgreesWithStdLogToAFewUlp) {
  RandomStream rng(1);
  auto check = [](double x) {
    const double expected = std::log(x), got = internal::DeterministicLog(x);
    const double tolerance =
        4 * std::numeric_limits<double>::epsilon() * std::max(std::abs(expected), 1e-300);
    // Near x = 1 the result is tiny; measure there against |x - 1| (log's condition number).
    const double near_one = 4 * std::numeric_limits<double>::epsilon() * std::abs(x - 1);
    EXPECT_NEAR(got, expected, std::max(tolerance, near_one)) << "x=" << x;
  };
  for (int i = 0; i < 100000; ++i) check(rng.Uniform01() + 0x1.0p-60);
  for (double x : {1e-300, 1e-10, 0.5, 0.70710678118654752, 0.99999999, 1.0, 1.00000001, 2.0, 10.0,
                   1e300, std::numeric_limits<double>::denorm_min()}) {
    check(x);
  }
  EXPECT_EQ(internal::DeterministicLog(1.0), 0.0);
  EXPECT_TRUE(std::isnan(internal::DeterministicLog(0.0)));
  EXPECT_TRUE(std::isnan(internal::DeterministicLog(-1.0)));
}

}  // namespace
}  // namespace flow
