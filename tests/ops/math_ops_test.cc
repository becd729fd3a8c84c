// Forward values, gradient checks and shape errors of matmul, multiply, scalar_mul, bias_add,
// reduce_sum, reduce_mean, broadcast_to (their gradient) and argmax.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "framework/job_builder.h"
#include "graph/flow.h"
#include "tests/testing/apply_op.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

using testing::ApplyOp;
using testing::CheckGradients;
using testing::CompileOpError;
using testing::GradCheckOptions;
using testing::OpFn;
using testing::RandomTensor;

FLOWRT_GRADIENT_CHECKED(matmul);
FLOWRT_GRADIENT_CHECKED(multiply);
FLOWRT_GRADIENT_CHECKED(scalar_mul);
FLOWRT_GRADIENT_CHECKED(bias_add);
FLOWRT_GRADIENT_CHECKED(reduce_sum);
FLOWRT_GRADIENT_CHECKED(reduce_mean);
FLOWRT_GRADIENT_CHECKED(broadcast_to);

#define EXPECT_MESSAGE_HAS(status, text) \
  EXPECT_NE((status).message().find(text), std::string::npos) << (status)

Tensor Iota(const Shape& shape, float start = 0) {
  std::vector<float> v(shape.NumElements());
  std::iota(v.begin(), v.end(), start);
  return Tensor::FromVector<float>(shape, v);
}

// ---- matmul ----

TEST(MatmulTest, ComputesTheProductForEveryTranspose) {
  // a (2, 3) · b (3, 2) = [[1·1+2·3+3·5, 1·2+2·4+3·6], [4·1+5·3+6·5, 4·2+5·4+6·6]].
  const Tensor a = Iota({2, 3}, 1);
  const Tensor b = Iota({3, 2}, 1);
  const Tensor a_t = Tensor::FromVector<float>({3, 2}, {1, 4, 2, 5, 3, 6});
  const Tensor b_t = Tensor::FromVector<float>({2, 3}, {1, 3, 5, 2, 4, 6});
  const std::vector<float> want = {22, 28, 49, 64};
  for (const bool ta : {false, true}) {
    for (const bool tb : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "transpose_a=" << ta << " transpose_b=" << tb);
      absl::StatusOr<Tensor> out =
          ApplyOp([=](const std::vector<Blob>& in) { return math::matmul(in[0], in[1], ta, tb); },
                  {ta ? a_t : a, tb ? b_t : b});
      ASSERT_TRUE(out.ok()) << out.status();
      ASSERT_EQ(out->shape(), Shape({2, 2}));
      for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(out->data<float>()[i], want[i]) << i;
    }
  }
}

TEST(MatmulTest, GradientMatchesNumericForEveryTranspose) {
  // a: (3, 4) or (4, 3); b: (4, 2) or (2, 4) → out (3, 2).
  for (const bool ta : {false, true}) {
    for (const bool tb : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "transpose_a=" << ta << " transpose_b=" << tb);
      EXPECT_TRUE(CheckGradients(
          [=](const std::vector<Blob>& in) { return math::matmul(in[0], in[1], ta, tb); },
          {RandomTensor(ta ? Shape({4, 3}) : Shape({3, 4}), 1),
           RandomTensor(tb ? Shape({2, 4}) : Shape({4, 2}), 2)}));
    }
  }
}

TEST(MatmulTest, InnerDimensionMismatchNamesOpAndBothShapes) {
  absl::Status status = CompileOpError(
      [](const std::vector<Blob>& in) { return math::matmul(in[0], in[1]); }, {{2, 3}, {4, 5}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_MESSAGE_HAS(status, "(matmul)");
  EXPECT_MESSAGE_HAS(status, "input 'a' (2, 3)");
  EXPECT_MESSAGE_HAS(status, "input 'b' (4, 5)");
  // With transpose_b, b (4, 5) gives K = 5: still a mismatch, and the message says so.
  status = CompileOpError(
      [](const std::vector<Blob>& in) { return math::matmul(in[0], in[1], false, true); },
      {{2, 3}, {4, 5}});
  EXPECT_MESSAGE_HAS(status, "transpose_b=true");
}

TEST(MatmulTest, NonMatrixInputIsAnError) {
  absl::Status status = CompileOpError(
      [](const std::vector<Blob>& in) { return math::matmul(in[0], in[1]); }, {{2, 3, 4}, {4, 5}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_MESSAGE_HAS(status, "(2, 3, 4)");
  EXPECT_MESSAGE_HAS(status, "rank 2");
}

// ---- multiply, scalar_mul ----

TEST(MathMultiplyTest, MultipliesElementwiseAndByAScalar) {
  absl::StatusOr<Tensor> out =
      ApplyOp([](const std::vector<Blob>& in) { return math::multiply(in[0], in[1]); },
              {Iota({2, 2}, 1), Tensor::FromVector<float>({2, 2}, {2, -1, 0.5, 0})});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->data<float>()[0], 2);
  EXPECT_EQ(out->data<float>()[1], -2);
  EXPECT_EQ(out->data<float>()[2], 1.5);
  EXPECT_EQ(out->data<float>()[3], 0);
  out = ApplyOp([](const std::vector<Blob>& in) { return math::multiply(in[0], -0.5f); },
                {Iota({3}, 1)});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->data<float>()[2], -1.5);
}

TEST(MathMultiplyTest, GradientMatchesNumeric) {
  EXPECT_TRUE(
      CheckGradients([](const std::vector<Blob>& in) { return math::multiply(in[0], in[1]); },
                     {RandomTensor({3, 4}, 1), RandomTensor({3, 4}, 2)}));
}

TEST(MathMultiplyTest, SquareGradientAccumulatesBothInputs) {
  // x · x: both gradient paths reach x, d/dx = 2x.
  EXPECT_TRUE(
      CheckGradients([](const std::vector<Blob>& in) { return math::multiply(in[0], in[0]); },
                     {RandomTensor({5}, 3)}));
}

TEST(MathMultiplyTest, ScalarMulGradientMatchesNumeric) {
  EXPECT_TRUE(
      CheckGradients([](const std::vector<Blob>& in) { return math::multiply(in[0], 2.5f); },
                     {RandomTensor({2, 3}, 4)}));
}

TEST(MathMultiplyTest, ShapeMismatchNamesOpAndBothShapes) {
  absl::Status status = CompileOpError(
      [](const std::vector<Blob>& in) { return math::multiply(in[0], in[1]); }, {{2, 3}, {3, 2}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_MESSAGE_HAS(status, "(multiply)");
  EXPECT_MESSAGE_HAS(status, "(2, 3)");
  EXPECT_MESSAGE_HAS(status, "(3, 2)");
}

// ---- bias_add ----

TEST(MathBiasAddTest, AddsAlongAxis1ForNCHWAndTheLastAxisForNHWC) {
  // x (2, 3, 2) = 0..11; b (3,) along axis 1 → x[n, c, i] + b[c].
  absl::StatusOr<Tensor> out =
      ApplyOp([](const std::vector<Blob>& in) { return nn::bias_add(in[0], in[1]); },
              {Iota({2, 3, 2}), Tensor::FromVector<float>({3}, {100, 200, 300})});
  ASSERT_TRUE(out.ok()) << out.status();
  const std::vector<float> want = {100, 101, 202, 203, 304, 305, 106, 107, 208, 209, 310, 311};
  for (int i = 0; i < 12; ++i) EXPECT_EQ(out->data<float>()[i], want[i]) << i;

  // x (2, 2, 3) channels-last: x[n, i, c] + b[c].
  out = ApplyOp([](const std::vector<Blob>& in) { return nn::bias_add(in[0], in[1], "NHWC"); },
                {Iota({2, 2, 3}), Tensor::FromVector<float>({3}, {100, 200, 300})});
  ASSERT_TRUE(out.ok()) << out.status();
  for (int i = 0; i < 12; ++i) EXPECT_EQ(out->data<float>()[i], i + 100 * (i % 3 + 1)) << i;
}

TEST(MathBiasAddTest, LargeInputsAddEveryChannel) {
  // (64, 32, 40) = 81920 elements: the multi-threaded path, NCHW and channels-last.
  const Tensor x = RandomTensor({64, 32, 40}, 1);
  for (const bool channels_last : {false, true}) {
    const Tensor b = RandomTensor({channels_last ? 40 : 32}, 2);
    absl::StatusOr<Tensor> out = ApplyOp(
        [&](const std::vector<Blob>& in) {
          return nn::bias_add(in[0], in[1], channels_last ? "NHWC" : "NCHW");
        },
        {x, b});
    ASSERT_TRUE(out.ok()) << out.status();
    for (int64_t i = 0; i < x.num_elements(); ++i) {
      const int64_t c = channels_last ? i % 40 : i / 40 % 32;
      ASSERT_EQ(out->data<float>()[i], x.data<float>()[i] + b.data<float>()[c]) << i;
    }
  }
}

TEST(MathBiasAddTest, GradientMatchesNumericForNCHW) {
  EXPECT_TRUE(CheckGradients([](const std::vector<Blob>& in) { return nn::bias_add(in[0], in[1]); },
                             {RandomTensor({2, 3, 2, 2}, 1), RandomTensor({3}, 2)}));
}

TEST(MathBiasAddTest, GradientMatchesNumericForNCAndNHWC) {
  EXPECT_TRUE(
      CheckGradients([](const std::vector<Blob>& in) { return nn::bias_add(in[0], in[1], "NC"); },
                     {RandomTensor({4, 5}, 3), RandomTensor({5}, 4)}));
  EXPECT_TRUE(
      CheckGradients([](const std::vector<Blob>& in) { return nn::bias_add(in[0], in[1], "NHWC"); },
                     {RandomTensor({2, 2, 2, 3}, 5), RandomTensor({3}, 6)}));
}

TEST(MathBiasAddTest, WrongBiasLengthNamesOpAndBothShapes) {
  absl::Status status = CompileOpError(
      [](const std::vector<Blob>& in) { return nn::bias_add(in[0], in[1]); }, {{2, 3, 4}, {4}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_MESSAGE_HAS(status, "(bias_add)");
  EXPECT_MESSAGE_HAS(status, "(4,)");
  EXPECT_MESSAGE_HAS(status, "(2, 3, 4)");
}

TEST(MathBiasAddTest, UnknownDataFormatIsAnError) {
  absl::Status status =
      CompileOpError([](const std::vector<Blob>& in) { return nn::bias_add(in[0], in[1], "HWCN"); },
                     {{2, 3}, {3}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_MESSAGE_HAS(status, "\"HWCN\"");
}

// ---- reduce_sum, reduce_mean, broadcast_to ----

TEST(MathReduceTest, SumsOverSeveralAxesWithAndWithoutKeepdims) {
  // x (2, 3, 4) = 0..23; Σ over axes {0, 2}: out[c] = Σ_n Σ_i (12n + 4c + i) = 48 + 32c + 12.
  const Tensor x = Iota({2, 3, 4});
  absl::StatusOr<Tensor> out = ApplyOp(
      [](const std::vector<Blob>& in) {
        return math::reduce_sum(in[0], {0, 2});
      },
      {x});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->shape(), Shape({3}));
  for (int c = 0; c < 3; ++c) EXPECT_EQ(out->data<float>()[c], 60 + 32 * c) << c;

  out = ApplyOp(
      [](const std::vector<Blob>& in) {
        return math::reduce_sum(in[0], {-1, 0}, true);
      },
      {x});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->shape(), Shape({1, 3, 1}));
  for (int c = 0; c < 3; ++c) EXPECT_EQ(out->data<float>()[c], 60 + 32 * c) << c;

  // Over axis 1 only: out[n, i] = Σ_c (12n + 4c + i) = 36n + 12 + 3i.
  out = ApplyOp([](const std::vector<Blob>& in) { return math::reduce_sum(in[0], {1}); }, {x});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->shape(), Shape({2, 4}));
  for (int n = 0; n < 2; ++n) {
    for (int i = 0; i < 4; ++i) EXPECT_EQ(out->data<float>()[4 * n + i], 36 * n + 12 + 3 * i);
  }
}

TEST(MathReduceTest, EmptyAxesReduceEverything) {
  const Tensor x = Iota({2, 3, 4});  // Σ = 276
  absl::StatusOr<Tensor> out =
      ApplyOp([](const std::vector<Blob>& in) { return math::reduce_sum(in[0]); }, {x});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape(), Shape());
  EXPECT_EQ(out->data<float>()[0], 276);
  out =
      ApplyOp([](const std::vector<Blob>& in) { return math::reduce_mean(in[0], {}, true); }, {x});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape(), Shape({1, 1, 1}));
  EXPECT_EQ(out->data<float>()[0], 11.5);
}

TEST(MathReduceTest, MeanDividesByTheReducedCount) {
  // Mean over axes {0, 2} of 0..23 as (2, 3, 4): (60 + 32c) / 8.
  absl::StatusOr<Tensor> out = ApplyOp(
      [](const std::vector<Blob>& in) {
        return math::reduce_mean(in[0], {0, 2});
      },
      {Iota({2, 3, 4})});
  ASSERT_TRUE(out.ok()) << out.status();
  for (int c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(out->data<float>()[c], (60 + 32 * c) / 8.f) << c;
}

TEST(MathReduceTest, LargeTensorsMatchADoubleReference) {
  // 64·32·40 = 81920 elements: the multi-threaded paths of every grouping.
  const Shape shape({64, 32, 40});
  const Tensor x = RandomTensor(shape, 9);
  const float* v = x.data<float>();
  auto at = [&](int a, int b, int c) { return static_cast<double>(v[(a * 32 + b) * 40 + c]); };
  struct Case {
    std::vector<int64_t> axes;
    Shape out;
  };
  for (const Case& test : {Case{{0, 2}, Shape({32})}, Case{{1}, Shape({64, 40})},
                           Case{{0}, Shape({32, 40})}, Case{{}, Shape()}}) {
    SCOPED_TRACE(::testing::Message()
                 << "axes of size " << test.axes.size() << " out " << test.out.ToString());
    const std::vector<int64_t> axes = test.axes;
    absl::StatusOr<Tensor> out =
        ApplyOp([&](const std::vector<Blob>& in) { return math::reduce_sum(in[0], axes); }, {x});
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->shape(), test.out);
    std::vector<double> want(test.out.NumElements(), 0.0);
    for (int a = 0; a < 64; ++a) {
      for (int b = 0; b < 32; ++b) {
        for (int c = 0; c < 40; ++c) {
          int64_t o = 0;
          if (axes == std::vector<int64_t>{0, 2}) o = b;
          if (axes == std::vector<int64_t>{1}) o = a * 40 + c;
          if (axes == std::vector<int64_t>{0}) o = b * 40 + c;
          want[o] += at(a, b, c);
        }
      }
    }
    for (size_t o = 0; o < want.size(); ++o) {
      ASSERT_NEAR(out->data<float>()[o], want[o], 1e-4 * (1 + std::abs(want[o]))) << o;
    }
  }
}

TEST(MathReduceTest, SumGradientMatchesNumericOverSeveralAxes) {
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) {
        return math::reduce_sum(in[0], {0, 2});
      },
      {RandomTensor({2, 3, 4}, 1)}));
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) { return math::reduce_sum(in[0], {-1}, true); },
      {RandomTensor({3, 4}, 2)}));
  EXPECT_TRUE(CheckGradients([](const std::vector<Blob>& in) { return math::reduce_sum(in[0]); },
                             {RandomTensor({2, 3}, 3)}));
}

TEST(MathReduceTest, MeanGradientMatchesNumericOverSeveralAxes) {
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) {
        return math::reduce_mean(in[0], {1, 3}, true);
      },
      {RandomTensor({2, 3, 2, 2}, 4)}));
  EXPECT_TRUE(CheckGradients([](const std::vector<Blob>& in) { return math::reduce_mean(in[0]); },
                             {RandomTensor({4, 3}, 5)}));
}

TEST(MathReduceTest, AxisOutOfRangeOrRepeatedNamesOpAxesAndShape) {
  absl::Status status = CompileOpError(
      [](const std::vector<Blob>& in) {
        return math::reduce_sum(in[0], {0, 3});
      },
      {{2, 3, 4}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_MESSAGE_HAS(status, "(reduce_sum)");
  EXPECT_MESSAGE_HAS(status, "axis 3 of axes [0, 3]");
  EXPECT_MESSAGE_HAS(status, "(2, 3, 4)");
  status = CompileOpError(
      [](const std::vector<Blob>& in) {
        return math::reduce_mean(in[0], {1, -2});
      },
      {{2, 3, 4}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_MESSAGE_HAS(status, "(reduce_mean)");
  EXPECT_MESSAGE_HAS(status, "repeats");
}

Blob BroadcastTo(const Blob& x, const std::vector<int64_t>& shape,
                 const std::vector<int64_t>& axes) {
  return OpBuilder("broadcast_to").Input(x).Attr("shape", shape).Attr("axes", axes).Build1();
}

TEST(MathBroadcastTest, RepeatsAlongTheGivenAxes) {
  // x (3,) to (2, 3, 2) along {0, 2}: out[n, c, i] = x[c]; x (1, 3, 1) gives the same.
  for (const Shape& x_shape : {Shape({3}), Shape({1, 3, 1})}) {
    absl::StatusOr<Tensor> out = ApplyOp(
        [](const std::vector<Blob>& in) {
          return BroadcastTo(in[0], {2, 3, 2}, {0, 2});
        },
        {Iota(x_shape, 1)});
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->shape(), Shape({2, 3, 2}));
    for (int i = 0; i < 12; ++i) EXPECT_EQ(out->data<float>()[i], i / 2 % 3 + 1) << i;
  }
}

TEST(MathBroadcastTest, LargeOutputIsFilledEverywhere) {
  // 64·32·40 = 81920 outputs: the multi-threaded path.
  const Tensor x = Iota({32});
  absl::StatusOr<Tensor> out = ApplyOp(
      [](const std::vector<Blob>& in) {
        return BroadcastTo(in[0], {64, 32, 40}, {0, 2});
      },
      {x});
  ASSERT_TRUE(out.ok()) << out.status();
  for (int64_t i = 0; i < out->num_elements(); ++i) {
    ASSERT_EQ(out->data<float>()[i], i / 40 % 32) << i;
  }
}

TEST(MathBroadcastTest, GradientMatchesNumeric) {
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) {
        return BroadcastTo(in[0], {2, 3, 4}, {0, 2});
      },
      {RandomTensor({3}, 1)}));
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) {
        return BroadcastTo(in[0], {3, 4}, {1});
      },
      {RandomTensor({3, 1}, 2)}));
}

TEST(MathBroadcastTest, MisfitInputNamesBothShapes) {
  absl::Status status = CompileOpError(
      [](const std::vector<Blob>& in) {
        return BroadcastTo(in[0], {2, 3}, {1});
      },
      {{3}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_MESSAGE_HAS(status, "input 'x' (3,) cannot broadcast to (2, 3)");
}

// ---- argmax ----

TEST(MathArgmaxTest, PicksTheLargestAndTheFirstIndexOnTies) {
  absl::StatusOr<Tensor> out =
      ApplyOp([](const std::vector<Blob>& in) { return math::argmax(in[0]); },
              {Tensor::FromVector<float>({4, 3}, {1, 3, 3, 5, 5, 5, -1, -2, -0.5, 0, 7, -7})});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->dtype(), kInt32);
  ASSERT_EQ(out->shape(), Shape({4}));
  const std::vector<int32_t> want = {1, 0, 2, 1};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out->data<int32_t>()[i], want[i]) << i;
}

TEST(MathArgmaxTest, RunsOverTheLastAxisOfRank3) {
  absl::StatusOr<Tensor> out =
      ApplyOp([](const std::vector<Blob>& in) { return math::argmax(in[0]); },
              {Tensor::FromVector<float>({2, 1, 2}, {0, 1, 1, 0})});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->shape(), Shape({2, 1}));
  EXPECT_EQ(out->data<int32_t>()[0], 1);
  EXPECT_EQ(out->data<int32_t>()[1], 0);
}

TEST(MathArgmaxTest, IsNotDifferentiable) {
  const OpSchema* schema = FindOp("argmax");
  ASSERT_NE(schema, nullptr);
  EXPECT_TRUE(schema->no_gradient);
}

TEST(MathArgmaxTest, ScalarInputIsAnError) {
  absl::Status status =
      CompileOpError([](const std::vector<Blob>& in) { return math::argmax(in[0]); }, {Shape()});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_MESSAGE_HAS(status, "(argmax)");
}

}  // namespace
}  // namespace flow
