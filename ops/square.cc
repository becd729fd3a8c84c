// square: y = x², float32, any shape (OneFlow's flow.math.square).
// Gradient: dx = 2 · (dy · x).
#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

void SquareGrad(GradContext& ctx) {
  Blob dy_x = ctx.Op("multiply").Input(ctx.output_grad(0)).Input(ctx.input(0)).Build1();
  ctx.SetInputGrad(0, ctx.Op("scalar_mul").Input(dy_x).Attr("scalar", 2.f).Build1());
}

REGISTER_OP("square")
    .Input("x")
    .Output("y")
    .ShapeFn(SameShapeFloatInputs)
    .GradFn(SquareGrad)
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return MakeMapKernel(ctx, [](float x) { return x * x; });
    });

}  // namespace
}  // namespace flow
