// subtract: out = a − b, same shape, float32 (OneFlow's flow.math.subtract without broadcasting).
// Gradient: da = dout, db = −dout.
#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

void SubtractGrad(GradContext& ctx) {
  if (ctx.needs_input_grad(0)) ctx.SetInputGrad(0, ctx.output_grad(0));
  if (ctx.needs_input_grad(1)) {
    ctx.SetInputGrad(1,
                     ctx.Op("scalar_mul").Input(ctx.output_grad(0)).Attr("scalar", -1.f).Build1());
  }
}

REGISTER_OP("subtract")
    .Input("a")
    .Input("b")
    .Output("out")
    .ShapeFn(SameShapeFloatInputs)
    .GradFn(SubtractGrad)
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return MakeZipKernel(ctx, [](float a, float b) { return a - b; });
    });

}  // namespace
}  // namespace flow
