// Forward values and gradient checks of sigmoid, tanh and softmax (last axis).
#include <gtest/gtest.h>

#include <cmath>

#include "graph/flow.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

using testing::CheckGradients;
using testing::RandomTensor;

FLOWRT_GRADIENT_CHECKED(sigmoid);
FLOWRT_GRADIENT_CHECKED(tanh);
FLOWRT_GRADIENT_CHECKED(softmax);

using UnaryFn = Blob (*)(const Blob&, absl::string_view);

// Runs y = fn(x) in a fresh predict job.
absl::StatusOr<Tensor> Apply(UnaryFn fn, const Tensor& x) {
  Session session;
  JobFunction job(&session, "job", JobType::kPredict,
                  [fn](const std::vector<Blob>& in) { return std::vector<Blob>{fn(in[0], "op")}; },
                  {Placeholder(x.shape())});
  absl::StatusOr<std::vector<Tensor>> out = job.Run({x});
  if (!out.ok()) return out.status();
  return (*out)[0];
}

TEST(ActivationTest, SigmoidMatchesClosedFormAndSaturates) {
  const std::vector<float> x = {-100, -2, 0, 1, 30};
  absl::StatusOr<Tensor> y = Apply(nn::sigmoid, Tensor::FromVector<float>({5}, x));
  ASSERT_TRUE(y.ok()) << y.status();
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(y->data<float>()[i], 1 / (1 + std::exp(-static_cast<double>(x[i]))), 1e-6) << i;
  }
  EXPECT_EQ(y->data<float>()[2], 0.5f);
}

TEST(ActivationTest, TanhMatchesClosedFormAndSaturates) {
  const std::vector<float> x = {-50, -0.5, 0, 0.25, 3, 50};
  absl::StatusOr<Tensor> y = Apply(nn::tanh, Tensor::FromVector<float>({2, 3}, x));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->shape(), Shape({2, 3}));
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(y->data<float>()[i], std::tanh(static_cast<double>(x[i])), 1e-6) << i;
  }
}

TEST(ActivationTest, SigmoidGradientMatchesNumeric) {
  EXPECT_TRUE(CheckGradients([](const std::vector<Blob>& in) { return nn::sigmoid(in[0]); },
                             {RandomTensor({3, 5}, 1)}));
}

TEST(ActivationTest, TanhGradientMatchesNumeric) {
  EXPECT_TRUE(CheckGradients([](const std::vector<Blob>& in) { return nn::tanh(in[0]); },
                             {RandomTensor({2, 3, 4}, 2)}));
}

TEST(ActivationTest, SigmoidOfIntegerInputNamesOpAndDtype) {
  Session session;
  JobFunction job(&session, "bad", JobType::kPredict,
                  [](const std::vector<Blob>& in) { return std::vector<Blob>{nn::sigmoid(in[0])}; },
                  {Placeholder({4}, kInt32)});
  absl::Status status = job.Compile();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("(sigmoid)"), std::string::npos) << status;
  EXPECT_NE(status.message().find("kInt32"), std::string::npos) << status;
}

TEST(SoftmaxTest, MatchesExpOverSumAndRowsSumToOne) {
  absl::StatusOr<Tensor> y =
      Apply(nn::softmax, Tensor::FromVector<float>({2, 3}, {1, 2, 3, -1, 0, 5}));
  ASSERT_TRUE(y.ok()) << y.status();
  const float* v = y->data<float>();
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(v[0], std::exp(1.0) / z, 1e-6);
  EXPECT_NEAR(v[1], std::exp(2.0) / z, 1e-6);
  EXPECT_NEAR(v[2], std::exp(3.0) / z, 1e-6);
  for (int row = 0; row < 2; ++row) {
    EXPECT_NEAR(v[3 * row] + v[3 * row + 1] + v[3 * row + 2], 1.0, 1e-6) << row;
  }
}

TEST(SoftmaxTest, ExtremeLogitsStayFinite) {
  // exp(1000) overflows float: only a max-subtracting softmax gives these exact answers.
  absl::StatusOr<Tensor> y =
      Apply(nn::softmax, Tensor::FromVector<float>(
                             {3, 3}, {1000, -1000, 0, -1000, -1000, -1000, 3e38f, -3e38f, 3e38f}));
  ASSERT_TRUE(y.ok()) << y.status();
  const float* v = y->data<float>();
  for (int i = 0; i < 9; ++i) EXPECT_TRUE(std::isfinite(v[i])) << i << ": " << v[i];
  EXPECT_NEAR(v[0], 1, 1e-6);
  EXPECT_NEAR(v[1], 0, 1e-6);
  EXPECT_NEAR(v[2], 0, 1e-6);
  for (int i = 3; i < 6; ++i) EXPECT_NEAR(v[i], 1.0 / 3, 1e-6) << i;
  EXPECT_NEAR(v[6], 0.5, 1e-6);
  EXPECT_NEAR(v[7], 0, 1e-6);
  EXPECT_NEAR(v[8], 0.5, 1e-6);
}

TEST(SoftmaxTest, RunsOverTheLastAxisOfRank3) {
  // (2, 2, 2): every pair along the last axis is its own distribution.
  absl::StatusOr<Tensor> y =
      Apply(nn::softmax, Tensor::FromVector<float>({2, 2, 2}, {0, 0, 0, 1, 2, 0, 5, 5}));
  ASSERT_TRUE(y.ok()) << y.status();
  const float* v = y->data<float>();
  const double s = 1 / (1 + std::exp(-1.0));  // softmax([1, 0])[0]
  const std::vector<double> want = {
      0.5, 0.5, 1 - s, s, 1 / (1 + std::exp(-2.0)), 1 - 1 / (1 + std::exp(-2.0)), 0.5, 0.5};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(v[i], want[i], 1e-6) << i;
}

TEST(SoftmaxTest, GradientMatchesNumeric) {
  EXPECT_TRUE(CheckGradients([](const std::vector<Blob>& in) { return nn::softmax(in[0]); },
                             {RandomTensor({3, 5}, 3)}));
}

TEST(SoftmaxTest, GradientMatchesNumericForRank3) {
  EXPECT_TRUE(CheckGradients([](const std::vector<Blob>& in) { return nn::softmax(in[0]); },
                             {RandomTensor({2, 3, 4}, 4)}));
}

TEST(SoftmaxTest, ScalarInputIsAnErrorNamingTheOp) {
  Session session;
  JobFunction job(&session, "bad", JobType::kPredict,
                  [](const std::vector<Blob>& in) { return std::vector<Blob>{nn::softmax(in[0])}; },
                  {Placeholder(Shape())});
  absl::Status status = job.Compile();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("(softmax)"), std::string::npos) << status;
  EXPECT_NE(status.message().find("shape ()"), std::string::npos) << status;
}

}  // namespace
}  // namespace flow
