// log: y = ln x, float32, any shape (OneFlow's flow.math.log). log 0 = −inf, log of a negative
// number is NaN, as in PyTorch.
// Gradient: dx = dy / x.
#include <cmath>

#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

void LogGrad(GradContext& ctx) {
  ctx.SetInputGrad(0, ctx.Op("divide").Input(ctx.output_grad(0)).Input(ctx.input(0)).Build1());
}

REGISTER_OP("log")
    .Input("x")
    .Output("y")
    .ShapeFn(SameShapeFloatInputs)
    .GradFn(LogGrad)
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return MakeMapKernel(ctx, [](float x) { return std::log(x); });
    });

}  // namespace
}  // namespace flow
