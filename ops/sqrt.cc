// sqrt: y = √x, float32, any shape (OneFlow's flow.math.sqrt); NaN for x < 0, as in PyTorch.
// Gradient: dx = dy / (2·y) = 0.5 · (dy / y) (reads y, so x need not stay alive).
#include <cmath>

#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

void SqrtGrad(GradContext& ctx) {
  Blob dy_over_y = ctx.Op("divide").Input(ctx.output_grad(0)).Input(ctx.output(0)).Build1();
  ctx.SetInputGrad(0, ctx.Op("scalar_mul").Input(dy_over_y).Attr("scalar", 0.5f).Build1());
}

REGISTER_OP("sqrt")
    .Input("x")
    .Output("y")
    .ShapeFn(SameShapeFloatInputs)
    .GradFn(SqrtGrad)
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return MakeMapKernel(ctx, [](float x) { return std::sqrt(x); });
    });

}  // namespace
}  // namespace flow
