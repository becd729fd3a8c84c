// momentum_update (in place), OneFlow's momentum SGD:
//   g' = g·s + l1·sign(w) + l2·w;  m ← β·m − lr·g';  w ← w + m
// where s = scale · grad_scale (just scale without the optional input).
//   weight: (any) f32, momentum: same (the "<var>-momentum" slot), grad: same, lr: (1,) f32,
//   [grad_scale: (1,) f32, e.g. the clip-by-global-norm coefficient]; attrs beta, scale, l1, l2.
//   No outputs.
#include "framework/attr.h"
#include "ops/elementwise.h"
#include "ops/optimizer_updates.h"

namespace flow {
namespace {

absl::StatusOr<std::unique_ptr<Kernel>> MakeMomentumKernel(const KernelContext& ctx) {
  float* w = const_cast<float*>(ctx.in<float>(0));
  float* m = const_cast<float*>(ctx.in<float>(1));
  const float* g = ctx.in<float>(2);
  const float* lr = ctx.in<float>(3);
  const float* grad_scale = ctx.inputs.size() > 4 ? ctx.in<float>(4) : nullptr;
  const float beta = AttrFloat(ctx.op, "beta");
  const float scale = AttrFloat(ctx.op, "scale");
  const float l1 = AttrFloat(ctx.op, "l1");
  const float l2 = AttrFloat(ctx.op, "l2");
  return std::make_unique<ParallelLoopKernel>(
      ctx.inputs[0].num_elements(), [=](int64_t begin, int64_t end) {
        const float rate = *lr;
        const float s = GradScale(scale, grad_scale);
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) {
          m[i] = beta * m[i] - rate * RegularizedGrad(g[i], w[i], s, l1, l2);
          w[i] += m[i];
        }
      });
}

REGISTER_OP("momentum_update")
    .Input("weight")
    .Input("momentum")
    .Input("grad")
    .Input("lr")
    .OptionalInput("grad_scale")
    .ShapeFn(UpdateShape(/*weight_shaped=*/3))
    .NoGradient()
    .Optimizer()
    .MutatesInput()
    .KernelFn(MakeMomentumKernel);

}  // namespace
}  // namespace flow
