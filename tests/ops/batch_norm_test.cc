// The batch-normalization ops (ops/batch_norm.cc, ops/moving_average_update.cc): numerical
// gradient checks of x, gamma and beta for the batch-statistics and the moving-statistics forms,
// the batch statistics against plain loops, and the refusals. The layer and its PyTorch reference
// are in tests/graph/batch_normalization_test.cc.
#include <gtest/gtest.h>

#include <cmath>

#include "absl/strings/match.h"
#include "framework/job_builder.h"
#include "graph/autodiff.h"
#include "graph/flow.h"
#include "tests/testing/apply_op.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

using testing::CheckGradients;
using testing::RandomTensor;

FLOWRT_GRADIENT_CHECKED(batch_norm);
FLOWRT_GRADIENT_CHECKED(batch_norm_inference);

std::vector<Blob> BatchNorm(const std::vector<Blob>& in) {
  return OpBuilder("batch_norm")
      .Input(in[0])
      .Input(in[1])
      .Input(in[2])
      .Attr("epsilon", 1e-3f)
      .Build();
}

Blob BatchNormInference(const std::vector<Blob>& in) {
  return OpBuilder("batch_norm_inference")
      .Input(in[0])
      .Input(in[1])
      .Input(in[2])
      .Input(in[3])
      .Input(in[4])
      .Attr("epsilon", 1e-3f)
      .Build1();
}

// Positive per-channel values in [0.5, 1.5] (variances, and gammas away from 0).
Tensor Positive(int64_t c, uint64_t seed) {
  Tensor t = RandomTensor({c}, seed);
  for (int64_t i = 0; i < c; ++i) t.data<float>()[i] = 1.f + 0.5f * t.data<float>()[i];
  return t;
}

TEST(BatchNormTest, GradientsOfXGammaBetaWithBatchStatistics) {
  auto op = [](const std::vector<Blob>& in) { return BatchNorm(in)[0]; };
  // (N, C, H, W): dx carries the paths through the batch mean and variance.
  EXPECT_TRUE(
      CheckGradients(op, {RandomTensor({3, 2, 2, 3}, 1), Positive(2, 2), RandomTensor({2}, 3)}));
  // (N, C): dense features.
  EXPECT_TRUE(CheckGradients(op, {RandomTensor({5, 3}, 4), Positive(3, 5), RandomTensor({3}, 6)}));
}

TEST(BatchNormTest, GradientsOfXGammaBetaWithMovingStatistics) {
  const std::vector<Tensor> inputs = {RandomTensor({2, 3, 2, 2}, 7), Positive(3, 8),
                                      RandomTensor({3}, 9), RandomTensor({3}, 10), Positive(3, 11)};
  EXPECT_TRUE(CheckGradients(BatchNormInference, inputs, {.check_inputs = {0, 1, 2}}));
}

// mean and variance are the batch's over N, H, W, the variance biased (what normalizes y).
TEST(BatchNormTest, StatisticsOutputsAreTheBatchMeanAndBiasedVariance) {
  const Tensor x = RandomTensor({3, 2, 2, 2}, 12);
  for (int k : {1, 2}) {
    absl::StatusOr<Tensor> got =
        testing::ApplyOp([k](const std::vector<Blob>& in) { return BatchNorm(in)[k]; },
                         {x, Positive(2, 13), RandomTensor({2}, 14)});
    ASSERT_TRUE(got.ok()) << got.status();
    for (int c = 0; c < 2; ++c) {
      double sum = 0, sum_sq = 0;
      for (int n = 0; n < 3; ++n) {
        for (int i = 0; i < 4; ++i) {
          const double v = x.data<float>()[(n * 2 + c) * 4 + i];
          sum += v;
          sum_sq += v * v;
        }
      }
      const double mean = sum / 12, variance = sum_sq / 12 - mean * mean;
      EXPECT_NEAR(got->data<float>()[c], k == 1 ? mean : variance, 1e-6) << "channel " << c;
    }
  }
}

TEST(BatchNormTest, RefusesBadShapesNamingTheInput) {
  auto op = [](const std::vector<Blob>& in) { return BatchNorm(in)[0]; };
  absl::Status rank1 = testing::CompileOpError(op, {{4}, {4}, {4}});
  EXPECT_TRUE(absl::StrContains(rank1.message(), "input 'x' (4,) must have rank 2 to 5")) << rank1;
  absl::Status gamma = testing::CompileOpError(op, {{2, 3, 4, 4}, {4}, {3}});
  EXPECT_TRUE(absl::StrContains(gamma.message(), "input 'gamma' has shape (4,), expected (3,)"))
      << gamma;
  absl::Status variance = testing::CompileOpError(BatchNormInference, {{2, 3}, {3}, {3}, {3}, {2}});
  EXPECT_TRUE(absl::StrContains(variance.message(), "input 'variance' has shape (2,)")) << variance;
}

TEST(BatchNormTest, NoGradientForTheMovingStatistics) {
  Session session;
  JobFunction job = global_function(
      session, "grad_of_mean", JobType::kPredict,
      [](Blob x, Blob mean) {
        Blob ones = fill_like(mean, 1.f);
        Blob y = BatchNormInference({x, ones, mean, mean, ones});
        absl::StatusOr<std::vector<Blob>> grads = Gradients({y}, {mean});
        return y;
      },
      Placeholder({2, 3}), Placeholder({3}));
  absl::Status status = job.Compile();
  EXPECT_TRUE(absl::StrContains(status.message(),
                                "no gradient with respect to the moving mean/variance inputs"))
      << status;
}

TEST(MovingAverageUpdateTest, RefusesAValueOfAnotherShape) {
  absl::Status status = testing::CompileOpError(
      [](const std::vector<Blob>& in) {
        OpBuilder("moving_average_update")
            .Input(in[0])
            .Input(in[1])
            .Attr("momentum", 0.9f)
            .Attr("scale", 1.f)
            .Build();
        return in[0];
      },
      {{3}, {4}});
  EXPECT_TRUE(absl::StrContains(status.message(),
                                "input 'value' has shape (4,), expected the "
                                "shape of 'moving' (3,)"))
      << status;
}

}  // namespace
}  // namespace flow
