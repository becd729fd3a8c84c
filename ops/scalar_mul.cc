// scalar_mul: out = x · scalar, float32, any shape; attr scalar (float).
// Gradient: dx = scalar_mul(dout, scalar).
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

void ScalarMulGrad(GradContext& ctx) {
  ctx.SetInputGrad(0, ctx.Op("scalar_mul")
                          .Input(ctx.output_grad(0))
                          .Attr("scalar", AttrFloat(ctx.op(), "scalar"))
                          .Build1());
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeScalarMulKernel(const KernelContext& ctx) {
  const float scalar = AttrFloat(ctx.op, "scalar");
  return MakeMapKernel(ctx, [scalar](float x) { return x * scalar; });
}

REGISTER_OP("scalar_mul")
    .Input("x")
    .Output("out")
    .ShapeFn(SameShapeFloatInputs)
    .GradFn(ScalarMulGrad)
    .KernelFn(MakeScalarMulKernel);

}  // namespace
}  // namespace flow
