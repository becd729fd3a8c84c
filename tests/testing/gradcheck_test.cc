// The gradient checker fails a gradient rule that is 0.5% off. A test-only op, y = x³, is
// registered with a rule dx = dy · 3x² · (1 + grad_error): exact at 0, and 0.5% too large or too
// small otherwise; the checker must pass the first and fail the others.
#include "tests/testing/gradcheck.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "framework/op_registry.h"
#include "graph/math_ops.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

void SkewedCubeGrad(GradContext& ctx) {
  const float scale = 3.f * (1.f + AttrFloat(ctx.op(), "grad_error"));
  Blob x_squared = ctx.Op("square").Input(ctx.input(0)).Build1();
  Blob dy_x_squared = ctx.Op("multiply").Input(ctx.output_grad(0)).Input(x_squared).Build1();
  ctx.SetInputGrad(0, ctx.Op("scalar_mul").Input(dy_x_squared).Attr("scalar", scale).Build1());
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeCubeKernel(const KernelContext& ctx) {
  return MakeMapKernel(ctx, [](float x) { return x * x * x; });
}

REGISTER_OP("gradcheck_test_skewed_cube")
    .Input("x")
    .Output("y")
    .ShapeFn(SameShapeFloatInputs)
    .GradFn(SkewedCubeGrad)
    .KernelFn(MakeCubeKernel);
FLOWRT_GRADIENT_CHECKED(gradcheck_test_skewed_cube);

testing::OpFn SkewedCube(float grad_error) {
  return [grad_error](const std::vector<Blob>& in) {
    return OpBuilder("gradcheck_test_skewed_cube")
        .Input(in[0])
        .Attr("grad_error", grad_error)
        .Build1();
  };
}

TEST(GradCheckTest, PassesTheExactRule) {
  EXPECT_TRUE(testing::CheckGradients(SkewedCube(0.f), {testing::RandomTensor({4, 5}, 1)}));
}

TEST(GradCheckTest, FailsARuleHalfAPercentOff) {
  for (float error : {0.005f, -0.005f}) {
    const ::testing::AssertionResult result =
        testing::CheckGradients(SkewedCube(error), {testing::RandomTensor({4, 5}, 1)});
    EXPECT_FALSE(result) << "a gradient " << error * 100 << "% off passed";
    EXPECT_TRUE(absl::StrContains(result.message(), "input 0")) << result.message();
  }
}

TEST(GradCheckTest, FailsARuleHalfAPercentOffWithTheLoosestOptionsAnOpTestUses) {
  // conv2d's and dense's checks pass a larger step and per-element tolerances.
  const ::testing::AssertionResult result =
      testing::CheckGradients(SkewedCube(0.005f), {testing::RandomTensor({4, 5}, 1)},
                              {.eps = 1e-3, .rtol = 3e-2, .atol = 3e-3});
  EXPECT_FALSE(result);
}

}  // namespace
}  // namespace flow
