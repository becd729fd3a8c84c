// clip_by_value: y = min(max(x, min_value), max_value), float32, any shape; attrs min_value,
// max_value (float; OneFlow's flow.clip_by_value / flow.math.clip_by_value). min_value >
// max_value is refused by the shape function.
// Gradient: clip_by_value_grad(dy, x) = dy where min_value ≤ x ≤ max_value, else 0 (PyTorch's
// clamp and OneFlow's clip_by_scalar_grad pass the gradient at the bounds).
#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

absl::StatusOr<std::vector<BlobDesc>> ClipShape(const ShapeContext& ctx) {
  const float lo = AttrFloat(ctx.op, "min_value"), hi = AttrFloat(ctx.op, "max_value");
  if (!(lo <= hi)) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "min_value ", lo, " must not be above max_value ", hi));
  }
  return SameShapeFloatInputs(ctx);
}

void ClipGrad(GradContext& ctx) {
  ctx.SetInputGrad(0, ctx.Op("clip_by_value_grad")
                          .Input(ctx.output_grad(0))
                          .Input(ctx.input(0))
                          .Attr("min_value", AttrFloat(ctx.op(), "min_value"))
                          .Attr("max_value", AttrFloat(ctx.op(), "max_value"))
                          .Build1());
}

REGISTER_OP("clip_by_value")
    .Input("x")
    .Output("y")
    .ShapeFn(ClipShape)
    .LayoutAgnostic()
    .GradFn(ClipGrad)
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      const float lo = AttrFloat(ctx.op, "min_value"), hi = AttrFloat(ctx.op, "max_value");
      return MakeMapKernel(ctx, [lo, hi](float x) { return x < lo ? lo : (x > hi ? hi : x); });
    });
REGISTER_OP("clip_by_value_grad")
    .Input("dy")
    .Input("x")
    .Output("dx")
    .ShapeFn(ClipShape)
    .LayoutAgnostic()
    .NoGradient()
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      const float lo = AttrFloat(ctx.op, "min_value"), hi = AttrFloat(ctx.op, "max_value");
      return MakeZipKernel(ctx,
                           [lo, hi](float dy, float x) { return x >= lo && x <= hi ? dy : 0.f; });
    });

}  // namespace
}  // namespace flow
