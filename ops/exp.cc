// exp: y = eˣ, float32, any shape (OneFlow's flow.math.exp).
// Gradient: dx = dy · y (reads y, so x need not stay alive).
#include <cmath>

#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

void ExpGrad(GradContext& ctx) {
  ctx.SetInputGrad(0, ctx.Op("multiply").Input(ctx.output_grad(0)).Input(ctx.output(0)).Build1());
}

REGISTER_OP("exp")
    .Input("x")
    .Output("y")
    .ShapeFn(SameShapeFloatInputs)
    .GradFn(ExpGrad)
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return MakeMapKernel(ctx, [](float x) { return std::exp(x); });
    });

}  // namespace
}  // namespace flow
