#include "graph/initializer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "graph/initializer_proto.h"
#include "gtest/gtest.h"

namespace flow {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// Standard errors used below (k = 5 of them, two-sided p ~ 6e-7 per assertion; the streams are
// seeded, so the tests are deterministic, and a 5-SE band is still tight enough that a wrong fan,
// gain, truncation factor or scale — all >= 10% effects at these n — fails):
//   sample mean:  sigma / sqrt(n)
//   sample std:   sigma * sqrt((kurtosis - 1) / (4 n))   (delta method on the sample variance)
constexpr double kSe = 5;
constexpr double kNormalKurtosis = 3;
constexpr double kUniformKurtosis = 1.8;
// Std of N(0,1) conditioned on |z| < 2, and its kurtosis, from the closed forms
// E z^2 = 1 - 2 a phi(a) / Z, E z^4 = (3 (Z - 2 a phi(a)) - 2 a^3 phi(a)) / Z, a = 2,
// Z = erf(a / sqrt 2) — computed here independently of the library's constant.
double Phi2() { return std::exp(-2.0) / std::sqrt(2 * 3.14159265358979323846); }
double TruncZ() { return std::erf(2 / std::sqrt(2.0)); }
double TruncatedVariance() { return 1 - 4 * Phi2() / TruncZ(); }
double TruncatedKurtosis() {
  const double m4 = (3 * (TruncZ() - 4 * Phi2()) - 16 * Phi2()) / TruncZ();
  return m4 / (TruncatedVariance() * TruncatedVariance());
}

struct Stats {
  int64_t n = 0;
  double mean = 0, std = 0, min = 0, max = 0;
};

Stats ComputeStats(const std::vector<double>& v) {
  Stats s;
  s.n = static_cast<int64_t>(v.size());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / s.n;
  double sq = 0;
  for (double x : v) sq += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(sq / s.n);
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  return s;
}

std::vector<double> Values(const Tensor& t) {
  std::vector<double> v(t.num_elements());
  for (int64_t i = 0; i < t.num_elements(); ++i) v[i] = t.ElementAsDouble(i);
  return v;
}

Tensor Fill(const Initializer& conf, Shape shape, DataType dtype, uint64_t seed) {
  Tensor t(std::move(shape), dtype);
  absl::Status status = InitializeTensor(conf, seed, &t);
  EXPECT_TRUE(status.ok()) << status;
  return t;
}

// Fills `shape` with seeds 1, 2, ... and pools the values until at least `min_samples`: small
// weights like (32,1,5,5) get enough samples for tight statistics while keeping their own fans.
std::vector<double> Sample(const Initializer& conf, const Shape& shape, DataType dtype,
                           int64_t min_samples) {
  std::vector<double> all;
  for (uint64_t seed = 1; static_cast<int64_t>(all.size()) < min_samples; ++seed) {
    std::vector<double> v = Values(Fill(conf, shape, dtype, seed));
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

void ExpectMoments(const Stats& s, double mean, double sigma, double kurtosis) {
  EXPECT_NEAR(s.mean, mean, kSe * sigma / std::sqrt(static_cast<double>(s.n)));
  EXPECT_NEAR(s.std, sigma, kSe * sigma * std::sqrt((kurtosis - 1) / (4.0 * s.n)));
}

// The OneFlow conf inside an initializer, to check what the constructors wrote.
const oneflow::InitializerConf& Proto(const Initializer& initializer) {
  return InitializerProto::Get(initializer);
}

// ---------------------------------------------------------------- constant

TEST(ConstantInitializerTest, ConfKindFollowsDtype) {
  EXPECT_TRUE(Proto(constant_initializer(2.5)).has_constant_conf());
  EXPECT_EQ(Proto(constant_initializer(2.5)).constant_conf().value(), 2.5f);
  EXPECT_TRUE(Proto(constant_initializer(2.5, kDouble)).has_constant_conf());
  for (DataType dtype : {kInt8, kInt32, kInt64}) {
    const Initializer conf = constant_initializer(3.7, dtype);
    ASSERT_TRUE(Proto(conf).has_constant_int_conf());
    EXPECT_EQ(Proto(conf).constant_int_conf().value(), 3);  // Python int(): toward zero
  }
  EXPECT_EQ(Proto(constant_initializer(-3.7, kInt64)).constant_int_conf().value(), -3);
  EXPECT_EQ(Proto(zeros_initializer()).constant_conf().value(), 0.0f);
  EXPECT_EQ(Proto(ones_initializer(kDouble)).constant_conf().value(), 1.0f);
  EXPECT_EQ(Proto(ones_initializer(kInt32)).constant_int_conf().value(), 1);
  EXPECT_EQ(Proto(zeros_initializer(kInt8)).constant_int_conf().value(), 0);
}

TEST(ConstantInitializerTest, FillsEveryElementForEverySupportedDtype) {
  const Shape shape({3, 4, 5});
  for (DataType dtype : {kFloat, kDouble, kInt8, kInt32, kInt64}) {
    const Tensor t = Fill(constant_initializer(-7, dtype), shape, dtype, 1);
    for (double v : Values(t)) ASSERT_EQ(v, -7) << DataTypeName(dtype);
    for (double v : Values(Fill(ones_initializer(dtype), shape, dtype, 1))) ASSERT_EQ(v, 1);
    for (double v : Values(Fill(zeros_initializer(dtype), shape, dtype, 1))) ASSERT_EQ(v, 0);
  }
  // 0.1 is stored as float32 in the proto, as in OneFlow; a double tensor sees that value.
  for (double v : Values(Fill(constant_initializer(0.1), shape, kDouble, 1))) {
    ASSERT_EQ(v, static_cast<double>(0.1f));
  }
  // A float constant on an int tensor and an int constant on a float tensor are cast.
  for (double v : Values(Fill(constant_initializer(2.5), shape, kInt32, 1))) ASSERT_EQ(v, 2);
  for (double v : Values(Fill(constant_initializer(4, kInt64), shape, kFloat, 1))) {
    ASSERT_EQ(v, 4);
  }
}

TEST(ConstantInitializerTest, ValuesThatDoNotFitTheDtypeAreErrors) {
  Tensor t(Shape({2}), kInt8);
  absl::Status s = InitializeTensor(constant_initializer(300, kInt8), 0, &t);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("constant_initializer"), HasSubstr("300"), HasSubstr("kInt8")));
  const Initializer nan_conf = constant_initializer(std::nan(""), kInt32);
  EXPECT_TRUE(Proto(nan_conf).has_constant_conf());
  Tensor ti(Shape({2}), kInt32);
  s = InitializeTensor(nan_conf, 0, &ti);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("nan"), HasSubstr("kInt32")));
  EXPECT_TRUE(ValidateInitializer(constant_initializer(127, kInt8), Shape({2}), kInt8).ok());
  EXPECT_FALSE(ValidateInitializer(constant_initializer(128, kInt8), Shape({2}), kInt8).ok());
  EXPECT_FALSE(ValidateInitializer(constant_initializer(-129, kInt8), Shape({2}), kInt8).ok());
}

TEST(ConstantInitializerTest, UnsupportedDtypeNamesInitializerAndDtype) {
  Tensor t(Shape({2, 2}), kUInt8);
  const absl::Status s = InitializeTensor(zeros_initializer(), 0, &t);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("constant_initializer"), HasSubstr("kUInt8"), HasSubstr("(2, 2)")));
}

// ---------------------------------------------------------------- random_uniform

TEST(RandomUniformInitializerTest, FloatStatisticsAndBounds) {
  const Initializer conf = random_uniform_initializer(-3, 5).value();
  ASSERT_TRUE(Proto(conf).has_random_uniform_conf());
  for (DataType dtype : {kFloat, kDouble}) {
    const Stats s = ComputeStats(Values(Fill(conf, Shape({1000, 1000}), dtype, 3)));
    EXPECT_GE(s.min, -3);
    EXPECT_LE(s.max, 5);
    ExpectMoments(s, 1.0, 8 / std::sqrt(12.0), kUniformKurtosis);
    // Both ends are approached: P(no sample within 1e-4 of an end) = (1 - 1.25e-5)^1e6 ~ e^-12.5.
    EXPECT_LT(s.min, -3 + 1e-4);
    EXPECT_GT(s.max, 5 - 1e-4);
  }
}

TEST(RandomUniformInitializerTest, DefaultIsUnitIntervalAndGoldenFirstValue) {
  const Initializer conf = random_uniform_initializer().value();
  EXPECT_EQ(Proto(conf).random_uniform_conf().min(), 0.0f);
  EXPECT_EQ(Proto(conf).random_uniform_conf().max(), 1.0f);
  // RandomStream(42).Uniform01() = 5521051785035433 * 2^-53, from an independent Python Philox.
  const Tensor t = Fill(conf, Shape({4}), kFloat, 42);
  EXPECT_EQ(t.data<float>()[0], static_cast<float>(5521051785035433.0 * 0x1.0p-53));
}

TEST(RandomUniformInitializerTest, FloatMaxIsReachableThroughRoundingAsInOneFlow) {
  // [1, 1 + 2^-23]: the double draw rounds to the float max about half the time.
  const float hi = std::nextafter(1.0f, 2.0f);
  const Tensor t = Fill(random_uniform_initializer(1.0, hi).value(), Shape({1000}), kFloat, 5);
  std::set<float> seen(t.data<float>(), t.data<float>() + 1000);
  EXPECT_EQ(seen, (std::set<float>{1.0f, hi}));
  // min == max is allowed and constant.
  for (double v : Values(Fill(random_uniform_initializer(2, 2).value(), Shape({50}), kFloat, 5))) {
    ASSERT_EQ(v, 2);
  }
}

TEST(RandomUniformInitializerTest, IntegerRangeExcludesMax) {
  const Initializer conf = random_uniform_initializer(0, 3, kInt32).value();
  ASSERT_TRUE(Proto(conf).has_random_uniform_int_conf());
  const int n = 300000;
  const Tensor t = Fill(conf, Shape({n}), kInt32, 11);
  std::vector<int> counts(3, 0);
  for (int i = 0; i < n; ++i) {
    const int32_t v = t.data<int32_t>()[i];
    ASSERT_TRUE(v >= 0 && v < 3) << v;
    ++counts[v];
  }
  const double p = 1.0 / 3;
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(counts[k] / static_cast<double>(n), p, kSe * std::sqrt(p * (1 - p) / n)) << k;
  }
  // Full int8 range, and int64.
  const Tensor t8 =
      Fill(random_uniform_initializer(-128, 128, kInt8).value(), Shape({20000}), kInt8, 2);
  const Stats s8 = ComputeStats(Values(t8));
  EXPECT_EQ(s8.min, -128);
  EXPECT_EQ(s8.max, 127);
  // Discrete uniform on [-128, 127]: mean -0.5, variance (256^2 - 1) / 12.
  ExpectMoments(s8, -0.5, std::sqrt((256.0 * 256 - 1) / 12), kUniformKurtosis);
  const Stats s64 = ComputeStats(
      Values(Fill(random_uniform_initializer(-10, 10, kInt64).value(), Shape({20000}), kInt64, 3)));
  EXPECT_EQ(s64.min, -10);
  EXPECT_EQ(s64.max, 9);
}

TEST(RandomUniformInitializerTest, BadArgumentsAreErrors) {
  auto r = random_uniform_initializer(2, 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("random_uniform_initializer: minval (2) must be <= maxval (1)"));
  EXPECT_THAT(random_uniform_initializer(3, 3, kInt32).status().message(),
              AllOf(HasSubstr("[3, 3)"), HasSubstr("empty")));
  EXPECT_THAT(random_uniform_initializer(0.5, 3, kInt32).status().message(), HasSubstr("integers"));
  EXPECT_THAT(random_uniform_initializer(0, 1e10, kInt64).status().message(), HasSubstr("int32"));
  EXPECT_THAT(random_uniform_initializer(0, INFINITY).status().message(), HasSubstr("finite"));
  EXPECT_THAT(random_uniform_initializer(0, 1, kUInt8).status().message(),
              AllOf(HasSubstr("random_uniform_initializer"), HasSubstr("kUInt8")));
  // A float conf on an int tensor, an int conf on a float tensor, a range that doesn't fit int8.
  Tensor ti(Shape({3}), kInt32);
  EXPECT_THAT(InitializeTensor(random_uniform_initializer().value(), 0, &ti).message(),
              AllOf(HasSubstr("random_uniform_initializer"), HasSubstr("kInt32")));
  Tensor tf(Shape({3}), kFloat);
  EXPECT_THAT(InitializeTensor(random_uniform_initializer(0, 5, kInt32).value(), 0, &tf).message(),
              AllOf(HasSubstr("random_uniform_initializer (integer)"), HasSubstr("kFloat")));
  Tensor t8(Shape({3}), kInt8);
  EXPECT_THAT(InitializeTensor(random_uniform_initializer(0, 300, kInt8).value(), 0, &t8).message(),
              AllOf(HasSubstr("[0, 300)"), HasSubstr("kInt8")));
}

// ---------------------------------------------------------------- random_normal

TEST(RandomNormalInitializerTest, Statistics) {
  const Initializer conf = random_normal_initializer(0.5, 2);
  EXPECT_EQ(Proto(conf).random_normal_conf().mean(), 0.5f);
  EXPECT_EQ(Proto(conf).random_normal_conf().std(), 2.0f);
  for (DataType dtype : {kFloat, kDouble}) {
    const Stats s = ComputeStats(Values(Fill(conf, Shape({1000, 1000}), dtype, 8)));
    ExpectMoments(s, 0.5, 2, kNormalKurtosis);
    EXPECT_GT(s.max, 0.5 + 4 * 2);  // untruncated: P(max < mean + 4 sigma) = (1-3.2e-5)^1e6
    EXPECT_LT(s.min, 0.5 - 4 * 2);
  }
  const Initializer standard = random_normal_initializer();
  ExpectMoments(ComputeStats(Values(Fill(standard, Shape({500000}), kFloat, 9))), 0, 1,
                kNormalKurtosis);
}

TEST(RandomNormalInitializerTest, BadParametersAndDtypesAreErrors) {
  Tensor t(Shape({4, 4}), kFloat);
  absl::Status s = InitializeTensor(random_normal_initializer(0, -1), 0, &t);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("random_normal_initializer"), HasSubstr("stddev >= 0"),
                                 HasSubstr("-1")));
  EXPECT_FALSE(ValidateInitializer(random_normal_initializer(NAN, 1), t.shape(), kFloat).ok());
  Tensor ti(Shape({4, 4}), kInt32);
  s = InitializeTensor(random_normal_initializer(), 0, &ti);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("random_normal_initializer cannot fill a kInt32"),
                                 HasSubstr("(4, 4)"), HasSubstr("kFloat, kDouble")));
  EXPECT_THAT(InitializeTensor(Initializer(), 0, &t).message(), HasSubstr("no initializer set"));
}

// ---------------------------------------------------------------- truncated_normal

void ExpectTruncated(const std::vector<double>& v, double mean, double sigma) {
  for (double x : v) ASSERT_LT(std::abs(x - mean), 2 * sigma) << x;
  const Stats s = ComputeStats(v);
  const double truncated_std = sigma * std::sqrt(TruncatedVariance());
  ExpectMoments(s, mean, truncated_std, TruncatedKurtosis());
  // The truncation is at 2 sigma, not tighter: samples reach within 1% of it.
  EXPECT_GT(std::max(s.max - mean, mean - s.min), 0.99 * 2 * sigma);
}

TEST(TruncatedNormalInitializerTest, RejectsBeyondTwoSigmaAndStdIs0_8796Sigma) {
  EXPECT_NEAR(std::sqrt(TruncatedVariance()), 0.87962566103423978, 1e-12);
  const Initializer conf = truncated_normal_initializer(0.5, 0.1);
  ASSERT_TRUE(Proto(conf).has_truncated_normal_conf());
  const double mean = 0.5f, sigma = 0.1f;  // the proto holds float32, as OneFlow's
  for (DataType dtype : {kFloat, kDouble}) {
    ExpectTruncated(Values(Fill(conf, Shape({1000, 1000}), dtype, 21)), mean, sigma);
  }
  ExpectTruncated(Values(Fill(truncated_normal_initializer(), Shape({400000}), kFloat, 22)), 0, 1);
}

TEST(TruncatedNormalInitializerTest, DeprecatedAliasOfTheDocScripts) {
  const Initializer conf = truncated_normal(0.1);
  ASSERT_TRUE(Proto(conf).has_truncated_normal_conf());
  EXPECT_FALSE(Proto(conf).truncated_normal_conf().has_mean());  // OneFlow sets only std
  EXPECT_EQ(Proto(conf).truncated_normal_conf().mean(), 0.0f);
  EXPECT_EQ(Proto(conf).truncated_normal_conf().std(), 0.1f);
  // dense1-weight of mlp_mnist_origin: (512, 784), all in (-0.2, 0.2).
  ExpectTruncated(Values(Fill(conf, Shape({512, 784}), kFloat, 1234)), 0, 0.1f);
}

TEST(TruncatedNormalInitializerTest, ZeroStddevFillsTheMeanAndNegativeIsAnError) {
  for (double v : Values(Fill(truncated_normal_initializer(3, 0), Shape({10}), kFloat, 1))) {
    ASSERT_EQ(v, 3);
  }
  Tensor t(Shape({10}), kFloat);
  EXPECT_THAT(InitializeTensor(truncated_normal(-0.1), 0, &t).message(),
              AllOf(HasSubstr("truncated_normal_initializer"), HasSubstr("stddev >= 0")));
  Tensor ti(Shape({10}), kInt64);
  EXPECT_THAT(InitializeTensor(truncated_normal(0.1), 0, &ti).message(),
              AllOf(HasSubstr("truncated_normal_initializer"), HasSubstr("kInt64")));
}

// ---------------------------------------------------------------- fans

TEST(FanTest, OihwDenseNhwcAndRankOne) {
  struct Case {
    Shape shape;
    const char* format;
    int64_t fan_in, fan_out;
  };
  const Case cases[] = {
      {Shape({32, 1, 5, 5}), "NCHW", 25, 800},     // conv1 of LeNet, OIHW
      {Shape({64, 32, 5, 5}), "NCHW", 800, 1600},  // conv2 (OneFlow's Python bug: 10240)
      {Shape({64, 32, 5, 5}), "channels_first", 800, 1600},
      {Shape({64, 5, 5, 32}), "NHWC", 800, 1600},  // OHWI
      {Shape({64, 5, 5, 32}), "channels_last", 800, 1600},
      {Shape({64, 5, 5, 32}), "", 800, 1600},  // "" at rank 4: OneFlow Python's channels-last
      {Shape({512, 784}), "", 784, 512},       // dense (units, in)
      {Shape({10, 512}), "", 512, 10},
      {Shape({512, 784}), "NCHW", 784, 512},  // every format agrees for 2-D
      {Shape({512, 784}), "NHWC", 784, 512},
      {Shape({16, 8, 3}), "NCW", 24, 48},
      {Shape({7}), "", 1, 7},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FanIn(c.shape).value(), c.fan_in) << c.shape.ToString() << " " << c.format;
    EXPECT_EQ(FanOut(c.shape, c.format).value(), c.fan_out)
        << c.shape.ToString() << " " << c.format;
    EXPECT_EQ(ComputeFan(c.shape, "fan_in", c.format).value(), c.fan_in);
    EXPECT_EQ(ComputeFan(c.shape, "fan_out", c.format).value(), c.fan_out);
    EXPECT_EQ(ComputeFan(c.shape, "fan_avg", c.format).value(), (c.fan_in + c.fan_out) / 2.0);
  }
  EXPECT_EQ(ComputeFan(Shape({32, 1, 5, 5}), "fan_avg", "NCHW").value(), 412.5);
}

TEST(FanTest, Errors) {
  EXPECT_THAT(FanIn(Shape({})).status().message(), HasSubstr("rank >= 1"));
  EXPECT_THAT(FanOut(Shape({}), "").status().message(), HasSubstr("rank >= 1"));
  EXPECT_THAT(FanOut(Shape({3, 3}), "CHW").status().message(),
              AllOf(HasSubstr("data_format"), HasSubstr("\"CHW\"")));
  EXPECT_EQ(NormalizeDataFormat("NCHW").value(), "channels_first");
  EXPECT_EQ(NormalizeDataFormat("NCDHW").value(), "channels_first");
  EXPECT_EQ(NormalizeDataFormat("NHWC").value(), "channels_last");
  EXPECT_EQ(NormalizeDataFormat("").value(), "");
  EXPECT_FALSE(NormalizeDataFormat("nchw").ok());
}

// ---------------------------------------------------------------- variance_scaling

struct VsCase {
  std::vector<int64_t> dims;
  const char* data_format;
  const char* mode;
  double expected_fan;  // hand-computed, independent of FanIn/FanOut
};

std::vector<VsCase> VarianceScalingCases() {
  std::vector<VsCase> cases;
  auto add = [&](std::vector<int64_t> dims, const char* format, double in, double out) {
    cases.push_back({dims, format, "fan_in", in});
    cases.push_back({dims, format, "fan_out", out});
    cases.push_back({dims, format, "fan_avg", (in + out) / 2});
  };
  add({32, 1, 5, 5}, "NCHW", 25, 800);
  add({64, 32, 5, 5}, "NCHW", 800, 1600);
  add({64, 5, 5, 32}, "NHWC", 800, 1600);
  add({512, 784}, "", 784, 512);
  add({10, 512}, "", 512, 10);
  return cases;
}

TEST(VarianceScalingInitializerTest, EveryModeDistributionAndShape) {
  constexpr double kScale = 2.0;  // not the default, so an ignored scale fails
  constexpr int64_t kSamples = 200000;
  for (const VsCase& c : VarianceScalingCases()) {
    const Shape shape(c.dims);
    const double s = kScale / c.expected_fan;
    SCOPED_TRACE(shape.ToString() + " " + c.data_format + " " + c.mode);
    {  // truncated_normal: sigma = sqrt(s) / 0.8796..., cut at 2 sigma => std sqrt(s)
      const Initializer conf =
          variance_scaling_initializer(kScale, c.mode, "truncated_normal", c.data_format).value();
      const double sigma = std::sqrt(s) / 0.87962566103423978;
      const std::vector<double> v = Sample(conf, shape, kFloat, kSamples);
      ExpectTruncated(v, 0, sigma);
      EXPECT_NEAR(ComputeStats(v).std, std::sqrt(s),
                  kSe * std::sqrt(s) * std::sqrt((TruncatedKurtosis() - 1) / (4.0 * kSamples)));
    }
    {  // random_normal: N(0, s), untruncated
      const Initializer conf =
          variance_scaling_initializer(kScale, c.mode, "random_normal", c.data_format).value();
      const Stats st = ComputeStats(Sample(conf, shape, kFloat, kSamples));
      ExpectMoments(st, 0, std::sqrt(s), kNormalKurtosis);
      EXPECT_GT(std::max(st.max, -st.min), 3 * std::sqrt(s));
    }
    {  // random_uniform: U(+-sqrt(3 s))
      const Initializer conf =
          variance_scaling_initializer(kScale, c.mode, "random_uniform", c.data_format).value();
      const double bound = std::sqrt(3 * s);
      const Stats st = ComputeStats(Sample(conf, shape, kFloat, kSamples));
      EXPECT_GE(st.min, -bound * (1 + 1e-7));  // float rounding of the bound itself
      EXPECT_LE(st.max, bound * (1 + 1e-7));
      EXPECT_GT(st.max, bound * (1 - 1e-3));
      EXPECT_LT(st.min, -bound * (1 - 1e-3));
      ExpectMoments(st, 0, std::sqrt(s), kUniformKurtosis);
    }
  }
}

TEST(VarianceScalingInitializerTest, ConfFieldsAndDefaults) {
  const Initializer conf = variance_scaling_initializer().value();
  ASSERT_TRUE(Proto(conf).has_variance_scaling_conf());
  EXPECT_EQ(Proto(conf).variance_scaling_conf().scale(), 1.0f);
  EXPECT_EQ(Proto(conf).variance_scaling_conf().variance_norm(), oneflow::kFanIn);
  EXPECT_EQ(Proto(conf).variance_scaling_conf().distribution(), oneflow::kTruncatedNormal);
  EXPECT_EQ(Proto(conf).variance_scaling_conf().data_format(), "");
  const Initializer nchw =
      variance_scaling_initializer(3, "fan_out", "random_uniform", "NCHW").value();
  EXPECT_EQ(Proto(nchw).variance_scaling_conf().variance_norm(), oneflow::kFanOut);
  EXPECT_EQ(Proto(nchw).variance_scaling_conf().distribution(), oneflow::kRandomUniform);
  EXPECT_EQ(Proto(nchw).variance_scaling_conf().data_format(), "channels_first");
  EXPECT_EQ(Proto(variance_scaling_initializer(1, "fan_avg", "random_normal", "NHWC").value())
                .variance_scaling_conf()
                .data_format(),
            "channels_last");
}

TEST(VarianceScalingInitializerTest, BadArgumentsAreErrors) {
  EXPECT_THAT(variance_scaling_initializer(1, "fan_inn").status().message(),
              AllOf(HasSubstr("variance_scaling_initializer"), HasSubstr("mode"),
                    HasSubstr("\"fan_inn\"")));
  EXPECT_THAT(variance_scaling_initializer(1, "fan_in", "normal").status().message(),
              AllOf(HasSubstr("distribution"), HasSubstr("\"normal\"")));
  EXPECT_THAT(variance_scaling_initializer(1, "fan_in", "random_normal", "HWCN").status().message(),
              AllOf(HasSubstr("variance_scaling_initializer"), HasSubstr("\"HWCN\"")));
  EXPECT_THAT(variance_scaling_initializer(0).status().message(), HasSubstr("scale"));
  EXPECT_THAT(variance_scaling_initializer(-1).status().message(), HasSubstr("scale"));
  // At fill time: a scalar has no fans; a hand-built conf with a bad data_format; an int tensor.
  const Initializer conf = variance_scaling_initializer().value();
  Tensor scalar(Shape({}), kFloat);
  EXPECT_THAT(InitializeTensor(conf, 0, &scalar).message(),
              AllOf(HasSubstr("variance_scaling_initializer"), HasSubstr("rank >= 1")));
  oneflow::InitializerConf bad_conf = Proto(conf);
  bad_conf.mutable_variance_scaling_conf()->set_data_format("HWIO");
  const Initializer bad = InitializerProto::Wrap(bad_conf);
  Tensor t(Shape({3, 3}), kFloat);
  EXPECT_THAT(InitializeTensor(bad, 0, &t).message(), HasSubstr("\"HWIO\""));
  Tensor ti(Shape({3, 3}), kInt32);
  EXPECT_THAT(InitializeTensor(conf, 0, &ti).message(),
              AllOf(HasSubstr("variance_scaling_initializer"), HasSubstr("kInt32")));
}

// ---------------------------------------------------------------- glorot / xavier

TEST(GlorotXavierInitializerTest, AliasesAndConfs) {
  for (const char* format : {"", "NCHW", "NHWC"}) {
    EXPECT_EQ(Proto(glorot_uniform_initializer(format).value()).SerializeAsString(),
              Proto(xavier_uniform_initializer(format).value()).SerializeAsString());
    EXPECT_EQ(Proto(glorot_normal_initializer(format).value()).SerializeAsString(),
              Proto(xavier_normal_initializer(format).value()).SerializeAsString());
  }
  const Initializer uniform = glorot_uniform_initializer("NCHW").value();
  const auto& u = Proto(uniform).variance_scaling_conf();
  EXPECT_EQ(u.scale(), 1.0f);
  EXPECT_EQ(u.variance_norm(), oneflow::kAverage);
  EXPECT_EQ(u.distribution(), oneflow::kRandomUniform);
  EXPECT_EQ(u.data_format(), "channels_first");
  const Initializer normal = glorot_normal_initializer().value();
  const auto& n = Proto(normal).variance_scaling_conf();
  EXPECT_EQ(n.variance_norm(), oneflow::kAverage);
  EXPECT_EQ(n.distribution(), oneflow::kRandomNormal);
  EXPECT_THAT(xavier_uniform_initializer("CHW").status().message(), HasSubstr("\"CHW\""));
  EXPECT_FALSE(glorot_normal_initializer("xyz").ok());
}

TEST(GlorotXavierInitializerTest, UniformBoundIsSqrt6OverFanInPlusFanOut) {
  // conv2 of LeNet (64, 32, 5, 5) OIHW: fan_in 800, fan_out 1600 => bound sqrt(6/2400) = 0.05.
  const Initializer conf = xavier_uniform_initializer("NCHW").value();
  const Stats s = ComputeStats(Sample(conf, Shape({64, 32, 5, 5}), kFloat, 200000));
  EXPECT_GE(s.min, -0.05 * (1 + 1e-7));
  EXPECT_LE(s.max, 0.05 * (1 + 1e-7));
  EXPECT_GT(s.max, 0.05 * (1 - 1e-3));
  ExpectMoments(s, 0, 0.05 / std::sqrt(3.0), kUniformKurtosis);
}

TEST(GlorotXavierInitializerTest, NormalIsPlainNormalWithVariance2OverFanSum) {
  const Initializer conf = glorot_normal_initializer().value();
  const double sigma = std::sqrt(2.0 / (784 + 512));
  const Stats s = ComputeStats(Values(Fill(conf, Shape({512, 784}), kFloat, 4)));
  ExpectMoments(s, 0, sigma, kNormalKurtosis);
  EXPECT_GT(std::max(s.max, -s.min), 4 * sigma);  // not truncated
}

// ---------------------------------------------------------------- kaiming

TEST(KaimingInitializerTest, Gains) {
  EXPECT_DOUBLE_EQ(KaimingGain("relu").value(), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(KaimingGain("leaky_relu").value(), std::sqrt(2.0));  // default slope 0
  EXPECT_DOUBLE_EQ(KaimingGain("leaky_relu", 0.2).value(), std::sqrt(2.0 / 1.04));
  EXPECT_DOUBLE_EQ(KaimingGain("leaky_relu", 1.0).value(), 1.0);
  EXPECT_DOUBLE_EQ(KaimingGain("tanh").value(), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(KaimingGain("sigmoid").value(), 1.0);
  EXPECT_DOUBLE_EQ(KaimingGain("linear").value(), 1.0);
  EXPECT_DOUBLE_EQ(KaimingGain("conv2d").value(), 1.0);
  EXPECT_DOUBLE_EQ(KaimingGain("selu").value(), 0.75);
  EXPECT_THAT(KaimingGain("gelu").status().message(),
              AllOf(HasSubstr("nonlinearity"), HasSubstr("\"gelu\"")));
}

TEST(KaimingInitializerTest, ResolvesToNormalOrUniformWithGainOverSqrtFan) {
  struct Case {
    std::vector<int64_t> dims;
    const char* mode;
    const char* nonlinearity;
    double slope;
    const char* format;
    double expected_std;  // gain / sqrt(fan), hand-computed
  };
  const Case cases[] = {
      {{64, 32, 5, 5}, "fan_in", "relu", 0, "NCHW", std::sqrt(2.0) / std::sqrt(800.0)},
      {{64, 32, 5, 5}, "fan_out", "relu", 0, "NCHW", std::sqrt(2.0) / std::sqrt(1600.0)},
      {{64, 32, 5, 5}, "fan_avg", "tanh", 0, "NCHW", 5.0 / 3 / std::sqrt(1200.0)},
      {{32, 1, 5, 5}, "fan_out", "sigmoid", 0, "NCHW", 1 / std::sqrt(800.0)},
      {{32, 1, 5, 5}, "fan_in", "leaky_relu", 0, "NCHW", std::sqrt(2.0) / 5},
      {{32, 1, 5, 5}, "fan_in", "leaky_relu", 0.1, "NCHW", std::sqrt(2 / 1.01) / 5},
      {{64, 5, 5, 32}, "fan_out", "linear", 0, "NHWC", 1 / std::sqrt(1600.0)},
      {{512, 784}, "fan_in", "relu", 0, "NCHW", std::sqrt(2.0 / 784)},
      {{512, 784}, "fan_out", "relu", 0, "NCHW", std::sqrt(2.0 / 512)},
      {{512, 784}, "fan_avg", "leaky_relu", 0.5, "NHWC", std::sqrt(2 / 1.25) / std::sqrt(648.0)},
  };
  for (const Case& c : cases) {
    const Shape shape(c.dims);
    SCOPED_TRACE(shape.ToString() + " " + c.mode + " " + c.nonlinearity);
    const Initializer normal =
        kaiming_initializer(shape, "random_normal", c.mode, c.nonlinearity, c.slope, c.format)
            .value();
    ASSERT_TRUE(Proto(normal).has_random_normal_conf());
    EXPECT_EQ(Proto(normal).random_normal_conf().mean(), 0.0f);
    EXPECT_FLOAT_EQ(Proto(normal).random_normal_conf().std(), c.expected_std);
    const Initializer uniform =
        kaiming_initializer(shape, "random_uniform", c.mode, c.nonlinearity, c.slope, c.format)
            .value();
    ASSERT_TRUE(Proto(uniform).has_random_uniform_conf());
    EXPECT_FLOAT_EQ(Proto(uniform).random_uniform_conf().max(), std::sqrt(3.0) * c.expected_std);
    EXPECT_FLOAT_EQ(Proto(uniform).random_uniform_conf().min(), -std::sqrt(3.0) * c.expected_std);
  }
  // Defaults: random_normal, fan_in, leaky_relu(0) => sqrt(2 / fan_in), NCHW.
  const Initializer d = kaiming_initializer(Shape({32, 1, 5, 5})).value();
  EXPECT_FLOAT_EQ(Proto(d).random_normal_conf().std(), std::sqrt(2.0 / 25));
}

TEST(KaimingInitializerTest, FilledStatistics) {
  const Shape shape({64, 32, 5, 5});
  const double std_ = std::sqrt(2.0 / 800);
  const Stats n =
      ComputeStats(Sample(kaiming_initializer(shape, "random_normal", "fan_in", "relu").value(),
                          shape, kFloat, 200000));
  ExpectMoments(n, 0, std_, kNormalKurtosis);
  const Stats u =
      ComputeStats(Sample(kaiming_initializer(shape, "random_uniform", "fan_in", "relu").value(),
                          shape, kFloat, 200000));
  ExpectMoments(u, 0, std_, kUniformKurtosis);
  EXPECT_LE(u.max, std::sqrt(3.0) * std_ * (1 + 1e-6));
  EXPECT_GE(u.min, -std::sqrt(3.0) * std_ * (1 + 1e-6));
}

TEST(KaimingInitializerTest, BadArgumentsAreErrors) {
  EXPECT_THAT(kaiming_initializer(Shape({3})).status().message(),
              AllOf(HasSubstr("kaiming_initializer"), HasSubstr("rank >= 2"), HasSubstr("(3,)")));
  EXPECT_THAT(kaiming_initializer(Shape({0, 3})).status().message(),
              AllOf(HasSubstr("kaiming_initializer"), HasSubstr("(0, 3)"),
                    HasSubstr("at least one element")));
  EXPECT_THAT(kaiming_initializer(Shape({3, 3}), "truncated_normal").status().message(),
              AllOf(HasSubstr("distribution"), HasSubstr("\"truncated_normal\"")));
  EXPECT_THAT(kaiming_initializer(Shape({3, 3}), "random_normal", "fan").status().message(),
              AllOf(HasSubstr("kaiming_initializer"), HasSubstr("mode"), HasSubstr("\"fan\"")));
  EXPECT_THAT(
      kaiming_initializer(Shape({3, 3}), "random_normal", "fan_in", "swish").status().message(),
      AllOf(HasSubstr("kaiming_initializer"), HasSubstr("nonlinearity"), HasSubstr("\"swish\"")));
  EXPECT_THAT(kaiming_initializer(Shape({3, 3}), "random_normal", "fan_in", "relu", 0, "")
                  .status()
                  .message(),
              AllOf(HasSubstr("data_format"), HasSubstr("\"\"")));
  EXPECT_EQ(kaiming_initializer(Shape({3, 3}), "random_normal", "fan_in", "relu", 0, "OIHW")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------- determinism

std::vector<std::pair<std::string, Initializer>> RandomConfs() {
  return {
      {"random_uniform", random_uniform_initializer(-1, 1).value()},
      {"random_uniform_int", random_uniform_initializer(-50, 50, kInt32).value()},
      {"random_normal", random_normal_initializer(0, 1)},
      {"truncated_normal", truncated_normal(0.1)},
      {"variance_scaling", variance_scaling_initializer().value()},
      {"glorot_uniform", glorot_uniform_initializer().value()},
      {"glorot_normal", glorot_normal_initializer().value()},
      {"kaiming", kaiming_initializer(Shape({64, 300})).value()},
  };
}

TEST(InitializerDeterminismTest, SameSeedBitIdenticalDifferentSeedDifferent) {
  const Shape shape({64, 300});
  for (const auto& [name, conf] : RandomConfs()) {
    const DataType dtype = Proto(conf).has_random_uniform_int_conf() ? kInt32 : kFloat;
    const Tensor a = Fill(conf, shape, dtype, 1000);
    // Filling other tensors in between must not matter: no hidden global state.
    for (const auto& [other_name, other_conf] : RandomConfs()) {
      Fill(other_conf, shape, Proto(other_conf).has_random_uniform_int_conf() ? kInt32 : kFloat, 7);
    }
    const Tensor b = Fill(conf, shape, dtype, 1000);
    const Tensor c = Fill(conf, shape, dtype, 1001);
    EXPECT_TRUE(a.BitwiseEqual(b)) << name;
    EXPECT_FALSE(a.BitwiseEqual(c)) << name;
    // Not merely shifted: most elements differ between seeds.
    int64_t same = 0;
    for (int64_t i = 0; i < a.num_elements(); ++i)
      same += a.ElementAsDouble(i) == c.ElementAsDouble(i);
    EXPECT_LT(same, a.num_elements() / 10) << name;
  }
}

TEST(InitializerDeterminismTest, DoubleTensorSeesTheSameDrawsAsFloat) {
  // Values are generated in double and then cast, so a float tensor is the rounded double one.
  const Initializer conf = random_normal_initializer(0, 1);
  const Tensor f = Fill(conf, Shape({1000}), kFloat, 3);
  const Tensor d = Fill(conf, Shape({1000}), kDouble, 3);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(f.data<float>()[i], static_cast<float>(d.data<double>()[i])) << i;
  }
}

TEST(InitializerDeterminismTest, EmptyTensorIsFine) {
  Tensor t(Shape({0, 5}), kFloat);
  EXPECT_TRUE(InitializeTensor(variance_scaling_initializer().value(), 1, &t).ok());
  EXPECT_TRUE(InitializeTensor(truncated_normal(0.1), 1, &t).ok());
}

}  // namespace
}  // namespace flow
