// reduce_sum: out = Σ of x over attr axes (empty = every axis), float32; attr keepdims.
//   x: (N, C, H, W), axes {0, 2, 3} → out: (C,), or (1, C, 1, 1) with keepdims; negative axes
//   count from the end (OneFlow's flow.math.reduce_sum).
// Gradient: dx = broadcast_to(dout, x.shape, axes).
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "ops/reduce.h"

namespace flow {
namespace {

void ReduceSumGrad(GradContext& ctx) {
  const Shape x = ctx.input(0).shape();  // a copy: input() returns a temporary
  ctx.SetInputGrad(0, ctx.Op("broadcast_to")
                          .Input(ctx.output_grad(0))
                          .Attr("shape", x.dims())
                          .Attr("axes", NormalizedAxes(AttrInts(ctx.op(), "axes"), x.rank()))
                          .Build1());
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeReduceSumKernel(const KernelContext& ctx) {
  return MakeReduceKernel(
      ctx, NormalizedAxes(AttrInts(ctx.op, "axes"), ctx.inputs[0].shape().rank()), 1.f);
}

REGISTER_OP("reduce_sum")
    .Input("x")
    .Output("out")
    .ShapeFn(ReduceShape)
    .GradFn(ReduceSumGrad)
    .KernelFn(MakeReduceSumKernel);

}  // namespace
}  // namespace flow
