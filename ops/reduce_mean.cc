// reduce_mean: out = mean of x over attr axes (empty = every axis), float32; attr keepdims.
//   x: (N, C), axes {1} → out: (N,), or (N, 1) with keepdims (OneFlow's flow.math.reduce_mean).
//   Reducing over an empty axis gives NaN, as NumPy.
// Gradient: dx = broadcast_to(scalar_mul(dout, 1/count), x.shape, axes) — scaling the small
// tensor before broadcasting it; count = number of elements reduced into each output.
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "ops/reduce.h"

namespace flow {
namespace {

// 1 / (number of x elements per output element).
float InverseCount(const Shape& x, const std::vector<int64_t>& axes) {
  int64_t count = 1;
  for (int64_t axis : axes) count *= x[static_cast<int>(axis)];
  return 1.f / static_cast<float>(count);
}

void ReduceMeanGrad(GradContext& ctx) {
  const Shape x = ctx.input(0).shape();  // a copy: input() returns a temporary
  const std::vector<int64_t> axes = NormalizedAxes(AttrInts(ctx.op(), "axes"), x.rank());
  Blob scaled =
      ctx.Op("scalar_mul").Input(ctx.output_grad(0)).Attr("scalar", InverseCount(x, axes)).Build1();
  ctx.SetInputGrad(
      0, ctx.Op("broadcast_to").Input(scaled).Attr("shape", x.dims()).Attr("axes", axes).Build1());
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeReduceMeanKernel(const KernelContext& ctx) {
  const Shape& x = ctx.inputs[0].shape();
  const std::vector<int64_t> axes = NormalizedAxes(AttrInts(ctx.op, "axes"), x.rank());
  return MakeReduceKernel(ctx, axes, InverseCount(x, axes));
}

REGISTER_OP("reduce_mean")
    .Input("x")
    .Output("out")
    .ShapeFn(ReduceShape)
    .GradFn(ReduceMeanGrad)
    .KernelFn(MakeReduceMeanKernel);

}  // namespace
}  // namespace flow
