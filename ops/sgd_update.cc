// sgd_update (in place): w ← w − lr·g', g' = g·s + l1·sign(w) + l2·w (OneFlow's naive SGD), where
// s = scale · grad_scale (just scale without the optional input).
//   weight: (any) f32, grad: same, lr: (1,) f32, [grad_scale: (1,) f32, e.g. the
//   clip-by-global-norm coefficient]; attrs scale, l1, l2. No outputs.
#include "framework/attr.h"
#include "ops/elementwise.h"
#include "ops/optimizer_updates.h"

namespace flow {
namespace {

absl::StatusOr<std::unique_ptr<Kernel>> MakeSgdKernel(const KernelContext& ctx) {
  float* w = const_cast<float*>(ctx.in<float>(0));
  const float* g = ctx.in<float>(1);
  const float* lr = ctx.in<float>(2);
  const float* grad_scale = ctx.inputs.size() > 3 ? ctx.in<float>(3) : nullptr;
  const float scale = AttrFloat(ctx.op, "scale");
  const float l1 = AttrFloat(ctx.op, "l1");
  const float l2 = AttrFloat(ctx.op, "l2");
  return std::make_unique<ParallelLoopKernel>(
      ctx.inputs[0].num_elements(), [=](int64_t begin, int64_t end) {
        SgdStep(w, g, begin, end, *lr, GradScale(scale, grad_scale), l1, l2);
      });
}

REGISTER_OP("sgd_update")
    .Input("weight")
    .Input("grad")
    .Input("lr")
    .OptionalInput("grad_scale")
    .ShapeFn(UpdateShape(/*weight_shaped=*/2))
    .NoGradient()
    .Optimizer()
    .MutatesInput()
    .KernelFn(MakeSgdKernel);

}  // namespace
}  // namespace flow
