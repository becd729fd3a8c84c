// broadcast_to: repeats x along attr axes of the target attr shape — the gradient of reduce_sum
// and reduce_mean, so the reduced blob, not the input, is what backward keeps alive.
//   x: shape without `axes` (or with them 1), attrs shape, axes → out: shape.
//   e.g. x (C,), shape (N, C, H, W), axes {0, 2, 3} → out[n, c, h, w] = x[c].
// Gradient: dx = reduce_sum(dout, axes, keepdims = x has the target's rank).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "ops/reduce.h"
#include "runtime/status.h"

namespace flow {
namespace {

absl::StatusOr<std::vector<BlobDesc>> BroadcastShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, 0));
  const Shape& x = ctx.inputs[0].shape;
  const Shape target(AttrInts(ctx.op, "shape"));
  FLOWRT_ASSIGN_OR_RETURN(std::vector<int64_t> axes,
                          NormalizeAxes(ctx, target, AttrInts(ctx.op, "axes")));
  std::vector<int64_t> dropped, ones;
  for (int i = 0; i < target.rank(); ++i) {
    const bool marked = std::find(axes.begin(), axes.end(), i) != axes.end();
    if (!marked) dropped.push_back(target[i]);
    ones.push_back(marked ? 1 : target[i]);
  }
  if (x != Shape(dropped) && x != Shape(ones)) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "input 'x' ", x.ToString(), " cannot broadcast to ",
                     target.ToString(), " along axes [", absl::StrJoin(axes, ", "), "] (expected ",
                     Shape(dropped).ToString(), " or ", Shape(ones).ToString(), ")"));
  }
  return std::vector<BlobDesc>{{target, DataType::kFloat}};
}

void BroadcastGrad(GradContext& ctx) {
  const int target_rank = static_cast<int>(AttrInts(ctx.op(), "shape").size());
  ctx.SetInputGrad(0, ctx.Op("reduce_sum")
                          .Input(ctx.output_grad(0))
                          .Attr("axes", NormalizedAxes(AttrInts(ctx.op(), "axes"), target_rank))
                          .Attr("keepdims", ctx.input(0).shape().rank() == target_rank)
                          .Build1());
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeBroadcastToKernel(const KernelContext& ctx) {
  return MakeBroadcastKernel(
      ctx, NormalizedAxes(AttrInts(ctx.op, "axes"), ctx.outputs[0].shape().rank()));
}

REGISTER_OP("broadcast_to")
    .Input("x")
    .Output("out")
    .ShapeFn(BroadcastShape)
    .GradFn(BroadcastGrad)
    .KernelFn(MakeBroadcastToKernel);

}  // namespace
}  // namespace flow
