// moving_average_update (in place): moving ← momentum·moving + (1 − momentum)·scale·value, the
// update of batch normalization's moving statistics in train jobs (OneFlow's convention:
// momentum weighs the old value; PyTorch's momentum is 1 − this one).
//   moving: (C,) f32, a non-trainable variable; value: (C,) f32, this batch's statistic;
//   attrs momentum, scale (1 for the mean; n/(n − 1) turns the biased batch variance into the
//   unbiased one, see graph/batch_normalization_layer.cc). No outputs.
// Not an optimizer op: it runs in train jobs whatever the optimizer, right after the forward op
// that produced `value`, and autodiff and the optimizer never see it (no gradient, and the
// variable it writes is not trainable).
#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/op_registry.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

absl::StatusOr<std::vector<BlobDesc>> MovingAverageShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, 0));
  FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, 1));
  if (ctx.inputs[0].shape != ctx.inputs[1].shape) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "input 'value' has shape ", ctx.inputs[1].shape.ToString(),
                     ", expected the shape of 'moving' ", ctx.inputs[0].shape.ToString()));
  }
  return std::vector<BlobDesc>{};
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeMovingAverageKernel(const KernelContext& ctx) {
  float* moving = const_cast<float*>(ctx.in<float>(0));  // written in place (MutatesInput)
  const float* value = ctx.in<float>(1);
  const float momentum = AttrFloat(ctx.op, "momentum");
  const float scale = AttrFloat(ctx.op, "scale");
  return std::make_unique<ParallelLoopKernel>(
      ctx.inputs[0].num_elements(), [=](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          moving[i] = momentum * moving[i] + (1.f - momentum) * (scale * value[i]);
        }
      });
}

REGISTER_OP("moving_average_update")
    .Input("moving")
    .Input("value")
    .ShapeFn(MovingAverageShape)
    .NoGradient()
    .MutatesInput()
    .KernelFn(MakeMovingAverageKernel);

}  // namespace
}  // namespace flow
