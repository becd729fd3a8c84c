// concat and transpose: data movement, so forward values are checked element by element against
// index arithmetic; gradients numerically; bad axes and shapes are refused naming both shapes.
#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "graph/flow.h"
#include "tests/testing/apply_op.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

using testing::ApplyOp;
using testing::CheckGradients;
using testing::CompileOpError;
using testing::OpFn;
using testing::RandomTensor;

FLOWRT_GRADIENT_CHECKED(concat);
FLOWRT_GRADIENT_CHECKED(transpose);

Tensor Iota(const Shape& shape, float start) {
  std::vector<float> v(shape.NumElements());
  std::iota(v.begin(), v.end(), start);
  return Tensor::FromVector<float>(shape, v);
}

TEST(ConcatTest, JoinsAlongAnyAxisIncludingNegative) {
  // a (2, 1, 3) = 0..5, b (2, 2, 3) = 100..111 on axis 1 (and −2) → (2, 3, 3).
  const Tensor a = Iota({2, 1, 3}, 0), b = Iota({2, 2, 3}, 100);
  for (int64_t axis : {1, -2}) {
    SCOPED_TRACE(axis);
    absl::StatusOr<Tensor> out =
        ApplyOp([axis](const std::vector<Blob>& in) { return concat(in, axis); }, {a, b});
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->shape(), Shape({2, 3, 3}));
    for (int n = 0; n < 2; ++n) {
      for (int j = 0; j < 3; ++j) {
        for (int k = 0; k < 3; ++k) {
          const float want =
              j == 0 ? a.data<float>()[n * 3 + k] : b.data<float>()[(n * 2 + (j - 1)) * 3 + k];
          EXPECT_EQ(out->data<float>()[(n * 3 + j) * 3 + k], want) << n << j << k;
        }
      }
    }
  }
  // Three inputs on the last axis.
  absl::StatusOr<Tensor> out = ApplyOp([](const std::vector<Blob>& in) { return concat(in, -1); },
                                       {Iota({2, 1}, 0), Iota({2, 2}, 10), Iota({2, 1}, 20)});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape(), Shape({2, 4}));
  const std::vector<float> want = {0, 10, 11, 20, 1, 12, 13, 21};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out->data<float>()[i], want[i]) << i;
}

TEST(ConcatTest, GradientMatchesNumeric) {
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) { return concat(in, 1); },
      {RandomTensor({2, 3, 2}, 1), RandomTensor({2, 1, 2}, 2), RandomTensor({2, 2, 2}, 3)}));
  EXPECT_TRUE(CheckGradients([](const std::vector<Blob>& in) { return concat(in, 0); },
                             {RandomTensor({1, 4}, 4), RandomTensor({3, 4}, 5)}));
}

TEST(ConcatTest, MismatchedShapesAndBadAxesAreRefused) {
  absl::Status status = CompileOpError([](const std::vector<Blob>& in) { return concat(in, 1); },
                                       {{2, 3, 4}, {2, 3, 5}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("input 1 has shape (2, 3, 5) but input 0 has shape (2, 3, 4)"),
            std::string::npos)
      << status;
  status = CompileOpError([](const std::vector<Blob>& in) { return concat(in, 3); }, {{2, 3, 4}});
  EXPECT_NE(status.message().find("axis 3 is out of range for rank 3"), std::string::npos)
      << status;
  status = CompileOpError([](const std::vector<Blob>& in) { return concat(in, 0); }, {{2, 3}, {2}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

TEST(TransposeTest, PermutesAxes) {
  // x (2, 3, 4) = 0..23, perm {2, 0, 1} → out (4, 2, 3), out[k][i][j] = x[i][j][k].
  const Tensor x = Iota({2, 3, 4}, 0);
  absl::StatusOr<Tensor> out = ApplyOp(
      [](const std::vector<Blob>& in) {
        return transpose(in[0], {2, 0, 1});
      },
      {x});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->shape(), Shape({4, 2, 3}));
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      for (int k = 0; k < 4; ++k) {
        EXPECT_EQ(out->data<float>()[(k * 2 + i) * 3 + j], x.data<float>()[(i * 3 + j) * 4 + k]);
      }
    }
  }
}

TEST(TransposeTest, GradientMatchesNumeric) {
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) {
        return transpose(in[0], {0, 2, 3, 1});
      },
      {RandomTensor({2, 3, 2, 4}, 1)}));
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) {
        return transpose(in[0], {1, 0});
      },
      {RandomTensor({3, 5}, 2)}));
}

TEST(TransposeTest, APermThatIsNotOneIsRefused) {
  for (const std::vector<int64_t>& perm :
       std::vector<std::vector<int64_t>>{{0, 0, 1}, {0, 1}, {0, 1, 3}}) {
    const absl::Status status = CompileOpError(
        [&perm](const std::vector<Blob>& in) { return transpose(in[0], perm); }, {{2, 3, 4}});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find("is not a permutation of the 3 axes of input (2, 3, 4)"),
              std::string::npos)
        << status;
  }
}

}  // namespace
}  // namespace flow
