// abs: y = |x|, float32, any shape (OneFlow's flow.math.abs).
// Gradient: abs_grad(dy, x) = dy · sign(x), with sign(0) = 0 as in PyTorch and OneFlow.
#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

void AbsGrad(GradContext& ctx) {
  ctx.SetInputGrad(0, ctx.Op("abs_grad").Input(ctx.output_grad(0)).Input(ctx.input(0)).Build1());
}

REGISTER_OP("abs")
    .Input("x")
    .Output("y")
    .ShapeFn(SameShapeFloatInputs)
    .GradFn(AbsGrad)
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return MakeMapKernel(ctx, [](float x) { return x < 0.f ? -x : x; });
    });
REGISTER_OP("abs_grad")
    .Input("dy")
    .Input("x")
    .Output("dx")
    .ShapeFn(SameShapeFloatInputs)
    .NoGradient()
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return MakeZipKernel(ctx,
                           [](float dy, float x) { return x > 0.f ? dy : (x < 0.f ? -dy : 0.f); });
    });

}  // namespace
}  // namespace flow
