// add: out = a + b, same shape, float32. The autodiff pass sums fan-out gradients with it.
// Gradient: both inputs receive dout.
#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

void AddGrad(GradContext& ctx) {
  ctx.SetInputGrad(0, ctx.output_grad(0));
  ctx.SetInputGrad(1, ctx.output_grad(0));
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeAddKernel(const KernelContext& ctx) {
  return MakeZipKernel(ctx, [](float a, float b) { return a + b; });
}

REGISTER_OP("add")
    .Input("a")
    .Input("b")
    .Output("out")
    .ShapeFn(SameShapeFloatInputs)
    .LayoutAgnostic()
    .GradFn(AddGrad)
    .KernelFn(MakeAddKernel);

}  // namespace
}  // namespace flow
