// max_pool2d_grad_conv2d_grad_weight: conv2d_grad_weight(max_pool2d_grad(dy, workspace[, relu_y]),
// x) in one op, for a convolution whose output is max-pooled (LeNet's conv1 → ReLU → pool1). The
// graph pass graph/passes/max_pool_grad_into_conv_grad_weight.h writes it; jobs never do.
//   dy (N, C, OH, OW) f32, the pooled gradient; workspace (bytes,) u8 from max_pool2d;
//   x (N, CI, XH, XW) f32, the convolution's input; [relu_y (N, C, OH, OW) f32, as max_pool2d_grad]
//   attrs: conv2d_grad_weight's (weight_shape, strides, dilations, pad_before, pad_after, groups),
//   and max_pool2d_grad's with the prefix "pool_" (pool_ksize, pool_strides, pool_pad_before,
//   pool_pad_after, pool_x_shape = the convolution's output (N, C, H, W))
//   → dweight (C, CI, KH, KW), dbias (C,) f32.
//
// Why: the pooling gradient (N, C, H, W) — LeNet's pool1: 100×32×28×28, 10 MB — was written to
// memory by one op and read back by the next. Here each image's share (C·H·W floats, 100 KB) is
// routed into the thread's own scratch right before the direct kernel's sweeps read it
// (DirectGradWeight's DyOfImage), so it never leaves the core's cache.
//
// Exact: the same two kernels run — the blocked max-pool backward's routing of one image, then the
// direct kernel's sums in its fixed order — so the bits are those of the two ops. This holds
// where conv2d_grad_weight runs the direct kernel (UseDirectGradWeight) and the pooling is one
// the blocked kernel takes, with oneDNN's workspace in its format; elsewhere this op runs the two
// ops' own kernels through a buffer of its own (the same bits by construction, nothing saved).
#include <omp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/op_registry.h"
#include "ops/conv2d_grad_weight_direct_kernel.h"
#include "ops/fused_op.h"
#include "ops/max_pool2d_blocked_kernel.h"
#include "ops/pooling.h"
#include "runtime/layout.h"
#include "runtime/status.h"

namespace flow {
namespace {

const FusedParts kParts{"pool_", {"ksize", "strides", "pad_before", "pad_after", "x_shape"}};

flowrt::OpConf PoolGradOp(const flowrt::OpConf& op) {
  return kParts.Prefixed(op, "max_pool2d_grad");
}
flowrt::OpConf GradWeightOp(const flowrt::OpConf& op) {
  return kParts.Rest(op, "conv2d_grad_weight");
}

absl::StatusOr<std::vector<BlobDesc>> FusedShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(kParts.CheckPresent(ctx));
  std::vector<BlobDesc> pool_inputs = {ctx.inputs[0], ctx.inputs[1]};
  if (ctx.inputs.size() > 3) pool_inputs.push_back(ctx.inputs[3]);
  FLOWRT_ASSIGN_OR_RETURN(
      std::vector<BlobDesc> dx,
      FindOp("max_pool2d_grad")->shape_fn(ShapeContext{PoolGradOp(ctx.op), pool_inputs}));
  return FindOp("conv2d_grad_weight")
      ->shape_fn(ShapeContext{GradWeightOp(ctx.op), {dx[0], ctx.inputs[2]}});
}

// The fused path: per image, the pooling gradient into the thread's scratch, then the sweeps.
class PooledGradWeightKernel : public Kernel {
 public:
  PooledGradWeightKernel(const KernelContext& ctx, const PoolGeometry& pool,
                         const GradWeightGeometry& conv)
      : pool_(pool),
        dy_(ctx.in<float>(0)),
        workspace_(ctx.in<uint8_t>(1)),
        x_(ctx.in<float>(2)),
        relu_y_(ctx.inputs.size() > 3 ? ctx.in<float>(3) : nullptr),
        dy_plain_(ctx.input_layouts[0] == Layout::kPlain),
        relu_y_plain_(ctx.inputs.size() > 3 && ctx.input_layouts[3] == Layout::kPlain),
        dweight_(ctx.out<float>(0)),
        dbias_(ctx.out<float>(1)),
        direct_(conv, BlockedChannels(), ctx.input_layouts[2] == Layout::kBlocked,
                omp_get_max_threads()) {}

  absl::Status Run() override {
    direct_.Run(
        x_,
        [this](int64_t n, float* dx_image) -> const float* {
          BlockedMaxPoolBackwardImage(pool_, BlockedChannels(), n, dy_, dy_plain_, workspace_,
                                      dx_image, relu_y_, relu_y_plain_);
          return dx_image;
        },
        dweight_, dbias_);
    return absl::OkStatus();
  }

 private:
  PoolGeometry pool_;
  const float* dy_;
  const uint8_t* workspace_;
  const float* x_;
  const float* relu_y_;  // or null
  bool dy_plain_, relu_y_plain_;
  float* dweight_;
  float* dbias_;
  DirectGradWeight direct_;
};

// Elsewhere: max_pool2d_grad's kernel into a plain buffer, then conv2d_grad_weight's from it.
absl::StatusOr<std::unique_ptr<Kernel>> MakeComposedKernel(const KernelContext& ctx,
                                                           const PoolGeometry& pool) {
  auto k = std::make_unique<ComposedKernel>();
  Tensor& dx = k->Buffer(pool.x);
  std::vector<Tensor> pool_inputs = {ctx.inputs[0], ctx.inputs[1]};
  std::vector<Layout> pool_layouts = {ctx.input_layouts[0], ctx.input_layouts[1]};
  if (ctx.inputs.size() > 3) {  // relu_y
    pool_inputs.push_back(ctx.inputs[3]);
    pool_layouts.push_back(ctx.input_layouts[3]);
  }
  FLOWRT_RETURN_IF_ERROR(
      k->Add(PoolGradOp(ctx.op), pool_inputs, pool_layouts, {dx}, {Layout::kPlain}, ctx.env));
  FLOWRT_RETURN_IF_ERROR(k->Add(GradWeightOp(ctx.op), {dx, ctx.inputs[2]},
                                {Layout::kPlain, ctx.input_layouts[2]}, ctx.outputs,
                                ctx.output_layouts, ctx.env, ctx.output_read));
  return k;
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeFusedKernel(const KernelContext& ctx) {
  const PoolGeometry pool =
      PoolGeometryOf(PoolGradOp(ctx.op), Shape(AttrInts(ctx.op, "pool_x_shape")));
  const Shape& x = ctx.inputs[2].shape();
  const Shape& w = ctx.outputs[0].shape();
  const bool x_blocked = ctx.input_layouts[2] == Layout::kBlocked;
  const int64_t block = BlockedChannels();
  const bool fused = pool.x[1] % block == 0 && BlockedMaxPoolSupports(pool) &&
                     WorkspaceIsBlockedArgmax(pool) &&
                     UseDirectGradWeight(x, pool.x, x_blocked, AttrInt(ctx.op, "groups"));
  if (!fused) return MakeComposedKernel(ctx, pool);
  const std::vector<int64_t> strides = AttrInts(ctx.op, "strides"),
                             dilations = AttrInts(ctx.op, "dilations"),
                             pads = AttrInts(ctx.op, "pad_before");
  const GradWeightGeometry conv{x[0],
                                x[1],
                                x[2],
                                x[3],
                                pool.x[1],
                                pool.x[2],
                                pool.x[3],
                                w[2],
                                w[3],
                                {strides[0], strides[1]},
                                {dilations[0], dilations[1]},
                                {pads[0], pads[1]}};
  return std::make_unique<PooledGradWeightKernel>(ctx, pool, conv);
}

REGISTER_OP("max_pool2d_grad_conv2d_grad_weight")
    .Input("dy")
    .Input("workspace")
    .Input("x")
    .OptionalInput("relu_y")
    .Output("dweight")
    .Output("dbias")
    .ShapeFn(FusedShape)
    .BlockedLayout(/*dy, x, relu_y*/ {0, 2, 3}, {})
    .NoGradient()
    .KernelFn(MakeFusedKernel);

}  // namespace
}  // namespace flow
