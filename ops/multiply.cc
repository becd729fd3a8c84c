// multiply: out = a · b element-wise, same shape, float32 (OneFlow's flow.math.multiply without
// broadcasting).
// Gradient: da = multiply(dout, b), db = multiply(dout, a).
#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

void MultiplyGrad(GradContext& ctx) {
  if (ctx.needs_input_grad(0)) {
    ctx.SetInputGrad(0, ctx.Op("multiply").Input(ctx.output_grad(0)).Input(ctx.input(1)).Build1());
  }
  if (ctx.needs_input_grad(1)) {
    ctx.SetInputGrad(1, ctx.Op("multiply").Input(ctx.output_grad(0)).Input(ctx.input(0)).Build1());
  }
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeMultiplyKernel(const KernelContext& ctx) {
  return MakeZipKernel(ctx, [](float a, float b) { return a * b; });
}

REGISTER_OP("multiply")
    .Input("a")
    .Input("b")
    .Output("out")
    .ShapeFn(SameShapeFloatInputs)
    .GradFn(MultiplyGrad)
    .KernelFn(MakeMultiplyKernel);

}  // namespace
}  // namespace flow
