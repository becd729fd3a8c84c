// divide: out = a / b, same shape, float32 (OneFlow's flow.math.divide without broadcasting).
// IEEE semantics: x / 0 is ±inf, 0 / 0 is NaN, as in PyTorch.
// Gradient: da = dout / b; db = −dout · a / b² = −da · out (reuses out instead of squaring b).
#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

void DivideGrad(GradContext& ctx) {
  Blob da = ctx.Op("divide").Input(ctx.output_grad(0)).Input(ctx.input(1)).Build1();
  if (ctx.needs_input_grad(0)) ctx.SetInputGrad(0, da);
  if (ctx.needs_input_grad(1)) {
    Blob da_out = ctx.Op("multiply").Input(da).Input(ctx.output(0)).Build1();
    ctx.SetInputGrad(1, ctx.Op("scalar_mul").Input(da_out).Attr("scalar", -1.f).Build1());
  }
}

REGISTER_OP("divide")
    .Input("a")
    .Input("b")
    .Output("out")
    .ShapeFn(SameShapeFloatInputs)
    .GradFn(DivideGrad)
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return MakeZipKernel(ctx, [](float a, float b) { return a / b; });
    });

}  // namespace
}  // namespace flow
