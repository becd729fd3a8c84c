// avg_pool2d: y = the mean of each window, OneFlow's flow.nn.avg_pool2d on oneDNN pooling.
//   x: (N, C, H, W) f32; attrs ksize [kh, kw], strides [sh, sw], pad_before [ph, pw],
//   pad_after [ph, pw] → y: (N, C, OH, OW) f32, OH = floor((H + ph_before + ph_after − kh)/sh) + 1.
// Padding is excluded from the divisor (oneDNN pooling_avg_exclude_padding): a window hanging
// over the border averages only its real cells. This is OneFlow's semantics (its CPU kernel
// divides by the clipped window size, its GPU kernel uses cuDNN's COUNT_EXCLUDE_PADDING) and
// TensorFlow's for "SAME"; PyTorch's default (count_include_pad=True) differs at the borders.
//
// Gradient: avg_pool2d_grad(dy) → dx (N, C, H, W): every real cell of a window receives
// dy / (number of real cells in that window); overlapping windows add up. It reads no forward
// tensor, only x's shape (attr x_shape).
#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "framework/op_registry.h"
#include "ops/dnnl_kernel.h"
#include "ops/pooling.h"
#include "runtime/status.h"

namespace flow {
namespace {

using dnnl::algorithm;
using tag = dnnl::memory::format_tag;

constexpr algorithm kAlgorithm = algorithm::pooling_avg_exclude_padding;

absl::StatusOr<std::vector<BlobDesc>> AvgPoolShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, 0));
  FLOWRT_ASSIGN_OR_RETURN(PoolGeometry g, PoolGeometryOf(ctx, ctx.inputs[0].shape));
  return std::vector<BlobDesc>{{g.y_shape(), DataType::kFloat}};
}

void AvgPoolGrad(GradContext& ctx) {
  if (!ctx.needs_input_grad(0)) return;
  const flowrt::OpConf& op = ctx.op();
  ctx.SetInputGrad(0, ctx.Op("avg_pool2d_grad")
                          .Input(ctx.output_grad(0))
                          .Attr("ksize", AttrInts(op, "ksize"))
                          .Attr("strides", AttrInts(op, "strides"))
                          .Attr("pad_before", AttrInts(op, "pad_before"))
                          .Attr("pad_after", AttrInts(op, "pad_after"))
                          .Attr("x_shape", ctx.input(0).shape().dims())
                          .Build1());
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeAvgPoolKernel(const KernelContext& ctx) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    const PoolGeometry g = PoolGeometryOf(ctx.op, ctx.inputs[0].shape());
    auto pd = PoolForwardDesc(g, kAlgorithm);
    auto kernel = std::make_unique<DnnlKernel>();
    kernel->Add(dnnl::pooling_forward(pd), pd.scratchpad_desc(),
                PoolForwardArgs(*kernel, ctx, g, pd));
    return kernel;
  });
}

// avg_pool2d_grad: dy (N, C, OH, OW) f32; attrs: the forward's ksize/strides/pad_before/
//   pad_after, x_shape [N, C, H, W] → dx (N, C, H, W) f32.
absl::StatusOr<std::vector<BlobDesc>> AvgPoolGradShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, 0));
  FLOWRT_ASSIGN_OR_RETURN(PoolGeometry g, PoolGeometryOf(ctx, Shape(AttrInts(ctx.op, "x_shape"))));
  if (ctx.inputs[0].shape != g.y_shape()) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "input 'dy' has shape ",
                                                   ctx.inputs[0].shape.ToString(), ", expected ",
                                                   g.y_shape().ToString()));
  }
  return std::vector<BlobDesc>{{g.x, DataType::kFloat}};
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeAvgPoolGradKernel(const KernelContext& ctx) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    const PoolGeometry g = PoolGeometryOf(ctx.op, ctx.outputs[0].shape());
    auto hint = PoolForwardDesc(g, kAlgorithm);
    auto pd = PoolBackwardDesc(g, kAlgorithm, hint);
    auto kernel = std::make_unique<DnnlKernel>();
    kernel->Add(dnnl::pooling_backward(pd), pd.scratchpad_desc(),
                PoolBackwardArgs(*kernel, ctx, g, pd));
    return kernel;
  });
}

REGISTER_OP("avg_pool2d")
    .Input("x")
    .Output("y")
    .ShapeFn(AvgPoolShape)
    .BlockedLayout(/*x*/ {0}, /*y*/ {0})
    .GradFn(AvgPoolGrad)
    .KernelFn(MakeAvgPoolKernel);
REGISTER_OP("avg_pool2d_grad")
    .Input("dy")
    .Output("dx")
    .ShapeFn(AvgPoolGradShape)
    .BlockedLayout(/*dy*/ {0}, /*dx*/ {0})
    .NoGradient()
    .KernelFn(MakeAvgPoolGradKernel);

}  // namespace
}  // namespace flow
