// Forward values and gradient checks of the ops the MLP needs: relu, dense, reshape, add,
// sparse_softmax_cross_entropy.
#include <gtest/gtest.h>

#include <cmath>

#include "framework/job_builder.h"
#include "graph/flow.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

using testing::CheckGradients;
using testing::RandomTensor;

FLOWRT_GRADIENT_CHECKED(relu);
FLOWRT_GRADIENT_CHECKED(dense);
FLOWRT_GRADIENT_CHECKED(reshape);
FLOWRT_GRADIENT_CHECKED(add);
FLOWRT_GRADIENT_CHECKED(sparse_softmax_cross_entropy);

Blob DenseOp(const std::vector<Blob>& in, absl::string_view activation) {
  OpBuilder op("dense");
  op.Input(in[0]).Input(in[1]).Attr("activation", activation);
  if (in.size() == 3) op.Input(in[2]);
  return op.Build1();
}

TEST(ReluTest, GradientMatchesNumeric) {
  EXPECT_TRUE(CheckGradients([](const std::vector<Blob>& in) { return nn::relu(in[0]); },
                             {RandomTensor({3, 5}, 1, /*min_abs=*/0.05)}));
}

TEST(DenseTest, ComputesXTimesWTransposedPlusBias) {
  Session session;
  JobFunction job(&session, "dense", JobType::kPredict,
                  [](const std::vector<Blob>& in) { return std::vector<Blob>{DenseOp(in, "")}; },
                  {Placeholder({2, 3}), Placeholder({2, 3}), Placeholder({2})});
  Tensor x = Tensor::FromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor w = Tensor::FromVector<float>({2, 3}, {1, 0, -1, 0.5, 0.5, 0.5});
  Tensor b = Tensor::FromVector<float>({2}, {10, -10});
  absl::StatusOr<std::vector<Tensor>> y = job.Run({x, w, b});
  ASSERT_TRUE(y.ok()) << y.status();
  const float* v = (*y)[0].data<float>();
  EXPECT_FLOAT_EQ(v[0], 1 - 3 + 10);
  EXPECT_FLOAT_EQ(v[1], 3 - 10);
  EXPECT_FLOAT_EQ(v[2], 4 - 6 + 10);
  EXPECT_FLOAT_EQ(v[3], 7.5 - 10);
}

TEST(DenseTest, GradientMatchesNumericWithBias) {
  EXPECT_TRUE(
      CheckGradients([](const std::vector<Blob>& in) { return DenseOp(in, ""); },
                     {RandomTensor({4, 6}, 1), RandomTensor({5, 6}, 2), RandomTensor({5}, 3)}));
}

TEST(DenseTest, GradientMatchesNumericWithFusedReluNoBias) {
  // Outputs near 0 would sit on the ReLU kink; these seeds keep every |x·Wᵀ| > 2·eps·|W|.
  EXPECT_TRUE(CheckGradients([](const std::vector<Blob>& in) { return DenseOp(in, "relu"); },
                             {RandomTensor({3, 4}, 11, 0.3), RandomTensor({2, 4}, 12, 0.3)},
                             {.eps = 1e-3, .rtol = 3e-2, .atol = 3e-3}));
}

TEST(DenseTest, MismatchedShapesNameTheOpAndBothShapes) {
  Session session;
  JobFunction job(&session, "bad", JobType::kPredict,
                  [](const std::vector<Blob>& in) { return std::vector<Blob>{DenseOp(in, "")}; },
                  {Placeholder({2, 3}), Placeholder({4, 5})});
  absl::Status status = job.Compile();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("(dense)"), std::string::npos) << status;
  EXPECT_NE(status.message().find("(2, 3)"), std::string::npos) << status;
  EXPECT_NE(status.message().find("(4, 5)"), std::string::npos) << status;
}

TEST(ReshapeTest, InfersMinusOneAndGradientFlowsBack) {
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) {
        return nn::relu(reshape(in[0], {3, -1}));
      },
      {RandomTensor({2, 3, 2}, 5, 0.05)}));
}

TEST(ReshapeTest, ImpossibleShapeIsAnError) {
  Session session;
  JobFunction job(&session, "bad", JobType::kPredict,
                  [](const std::vector<Blob>& in) {
                    return std::vector<Blob>{reshape(in[0], {4, -1})};
                  },
                  {Placeholder({3, 3})});
  absl::Status status = job.Compile();
  EXPECT_NE(status.message().find("cannot reshape input (3, 3)"), std::string::npos) << status;
}

TEST(AddTest, FanOutGradientsAccumulate) {
  // y = relu(x) + x: dy/dx = 2 where x > 0, 1 elsewhere — exercises the pass's accumulation.
  EXPECT_TRUE(
      CheckGradients([](const std::vector<Blob>& in) { return add(nn::relu(in[0]), in[0]); },
                     {RandomTensor({4, 4}, 9, 0.05)}));
}

Tensor Labels(std::vector<int32_t> v) {
  return Tensor::FromVector<int32_t>({static_cast<int64_t>(v.size())}, v);
}

TEST(SparseSoftmaxCrossEntropyTest, MatchesLogSoftmaxAndStaysFiniteForExtremeLogits) {
  Session session;
  JobFunction job(
      &session, "ce", JobType::kPredict,
      [](const std::vector<Blob>& in) {
        return std::vector<Blob>{nn::sparse_softmax_cross_entropy_with_logits(in[1], in[0])};
      },
      {Placeholder({3, 3}), Placeholder({3}, kInt32)});
  Tensor logits = Tensor::FromVector<float>({3, 3}, {1, 2, 3, 1000, -1000, 0, -50, -50, -50});
  absl::StatusOr<std::vector<Tensor>> loss = job.Run({logits, Labels({0, 1, 2})});
  ASSERT_TRUE(loss.ok()) << loss.status();
  const float* l = (*loss)[0].data<float>();
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  EXPECT_NEAR(l[0], lse - 1, 1e-5);
  EXPECT_NEAR(l[1], 2000, 1e-2);  // finite, exact: logsumexp − logit
  EXPECT_NEAR(l[2], std::log(3.0), 1e-5);
}

TEST(SparseSoftmaxCrossEntropyTest, LabelOutOfRangeIsAClearError) {
  Session session;
  JobFunction job(
      &session, "ce", JobType::kPredict,
      [](const std::vector<Blob>& in) {
        return std::vector<Blob>{nn::sparse_softmax_cross_entropy_with_logits(in[1], in[0])};
      },
      {Placeholder({2, 3}), Placeholder({2}, kInt32)});
  absl::StatusOr<std::vector<Tensor>> loss = job.Run({RandomTensor({2, 3}, 1), Labels({0, 3})});
  ASSERT_FALSE(loss.ok());
  EXPECT_NE(loss.status().message().find("label 3 of example 1 is outside [0, 3)"),
            std::string::npos)
      << loss.status();
  loss = job.Run({RandomTensor({2, 3}, 1), Labels({-1, 0})});
  EXPECT_FALSE(loss.ok());
}

TEST(SparseSoftmaxCrossEntropyTest, GradientMatchesNumeric) {
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) {
        return nn::sparse_softmax_cross_entropy_with_logits(in[1], in[0]);
      },
      {RandomTensor({4, 5}, 3), Labels({0, 4, 2, 2})}, {.eps = 1e-3}));
}

}  // namespace
}  // namespace flow
