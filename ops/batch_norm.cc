// Batch normalization on oneDNN's batch-normalization primitive: the ops behind
// flow::layers::batch_normalization (graph/batch_normalization_layer.cc), which holds OneFlow's
// semantics (variables, momentum, train vs predict). Channels are axis 1: x is (N, C) or
// (N, C, H, W) (ranks 2–5, NC…); every per-channel tensor is (C,).
//
//   batch_norm (train jobs): x, gamma, beta; attr epsilon
//     → y = gamma·(x − mean)/sqrt(variance + epsilon) + beta,
//       mean (C,), variance (C,): the batch statistics over every axis but 1; variance is biased
//       (divides by N·H·W), as used for y (OneFlow, PyTorch and oneDNN alike).
//   batch_norm_inference (predict jobs, trainable = false): x, gamma, beta, mean, variance
//     → y with the given (moving) statistics.
//   batch_norm_grad: dy, x, gamma, beta, mean, variance; attrs epsilon, global_stats
//     → dx, dgamma = sum(dy·x̂), dbeta = sum(dy), x̂ = (x − mean)/sqrt(variance + epsilon).
//     global_stats = false (the gradient of batch_norm): dx includes the paths through the batch
//     mean and variance; true (of batch_norm_inference): dx = dy·gamma/sqrt(variance + epsilon).
//
// The mean and variance inputs of batch_norm_inference get no gradient (they are the
// non-trainable moving statistics): a job asking for one fails with a clear error, as does one
// asking for the gradient of batch_norm's statistics outputs.
//
// Layout: rank-4 x, y, dy and dx may stay in oneDNN's blocked layout between convolutions
// (runtime/layout.h); the primitive runs in x's stored layout and the kernel reorders any other
// tensor stored differently, once per step, into buffers it owns.
#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "framework/op_registry.h"
#include "ops/dnnl_kernel.h"

namespace flow {
namespace {

using dnnl::prop_kind;
using flags = dnnl::normalization_flags;
using tag = dnnl::memory::format_tag;

// Checks x (N, C, …) f32 of rank 2–5 and that inputs [first, size) are f32 (C,).
absl::Status CheckInputs(const ShapeContext& ctx, int x_index, int first_param) {
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, static_cast<int>(i)));
  }
  const Shape& x = ctx.inputs[x_index].shape;
  if (x.rank() < 2 || x.rank() > 5) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "input 'x' ", x.ToString(),
                     " must have rank 2 to 5 with channels on axis 1 ((N, C) or (N, C, H, W))"));
  }
  for (int i = first_param; i < static_cast<int>(ctx.inputs.size()); ++i) {
    if (ctx.inputs[i].shape != Shape({x[1]})) {
      return absl::InvalidArgumentError(
          absl::StrCat(ctx.Where(), "input '", FindOp(ctx.op.type())->InputName(i), "' has shape ",
                       ctx.inputs[i].shape.ToString(), ", expected (", x[1],
                       ",): one value per channel of x ", x.ToString()));
    }
  }
  return absl::OkStatus();
}

// The oneDNN descriptor of an (N, C, …) tensor as stored.
dnnl::memory::desc DataDesc(const Shape& shape, Layout layout) {
  if (shape.rank() == 4) return DnnlDesc(shape, layout);
  static constexpr tag kPlain[] = {tag::undef, tag::undef, tag::nc,
                                   tag::ncw,   tag::nchw,  tag::ncdhw};
  return DnnlDesc(shape, kPlain[shape.rank()]);
}

dnnl::memory Channels(const Tensor& t) { return DnnlMemory(t, tag::x); }

dnnl::batch_normalization_forward::primitive_desc ForwardDesc(const dnnl::memory::desc& data,
                                                              float epsilon, bool global_stats,
                                                              prop_kind prop) {
  flags f = flags::use_scale | flags::use_shift;
  if (global_stats) f = f | flags::use_global_stats;
  return {{prop, data, epsilon, f}, UserScratchpad(), CpuEngine()};
}

// ---- batch_norm ----

absl::StatusOr<std::vector<BlobDesc>> BatchNormShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(CheckInputs(ctx, 0, 1));
  const Shape channels({ctx.inputs[0].shape[1]});
  return std::vector<BlobDesc>{
      ctx.inputs[0], {channels, DataType::kFloat}, {channels, DataType::kFloat}};
}

// dy, x, gamma, beta, mean, variance → dx, dgamma, dbeta (whichever the rule needs). oneDNN
// takes beta (the shift) as an input of the backward whenever it computes dbeta.
void EmitGrad(GradContext& ctx, const Blob& mean, const Blob& variance, bool global_stats) {
  std::vector<Blob> grads = ctx.Op("batch_norm_grad")
                                .Input(ctx.output_grad(0))
                                .Input(ctx.input(0))
                                .Input(ctx.input(1))
                                .Input(ctx.input(2))
                                .Input(mean)
                                .Input(variance)
                                .Attr("epsilon", AttrFloat(ctx.op(), "epsilon"))
                                .Attr("global_stats", global_stats)
                                .Build();
  if (grads.size() != 3) return;  // the build failed; the error is in the job
  for (int i = 0; i < 3; ++i) {
    if (ctx.needs_input_grad(i)) ctx.SetInputGrad(i, grads[i]);
  }
}

absl::Status Unsupported(GradContext& ctx, absl::string_view what) {
  return absl::UnimplementedError(absl::StrCat("op '", ctx.op().name(), "' (", ctx.op().type(),
                                               "): no gradient with respect to ", what));
}

void BatchNormGrad(GradContext& ctx) {
  if (ctx.output_grad(1).ok() || ctx.output_grad(2).ok()) {
    ctx.input(0).builder()->Fail(Unsupported(ctx, "its mean/variance outputs' consumers"));
    return;
  }
  if (!ctx.output_grad(0).ok()) return;
  EmitGrad(ctx, ctx.output(1), ctx.output(2), /*global_stats=*/false);
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeBatchNormKernel(const KernelContext& ctx) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    const dnnl::memory::desc data = DataDesc(ctx.inputs[0].shape(), ctx.input_layouts[0]);
    auto pd = ForwardDesc(data, AttrFloat(ctx.op, "epsilon"), false, prop_kind::forward_training);
    auto kernel = std::make_unique<DnnlKernel>();
    std::vector<std::pair<int, dnnl::memory>> args = {
        {DNNL_ARG_SRC, kernel->Input(ctx.inputs[0], data, pd.src_desc())},
        {DNNL_ARG_SCALE, Channels(ctx.inputs[1])},
        {DNNL_ARG_SHIFT, Channels(ctx.inputs[2])},
        {DNNL_ARG_DST,
         kernel->Output(ctx.outputs[0], DataDesc(ctx.outputs[0].shape(), ctx.output_layouts[0]),
                        pd.dst_desc())},
        {DNNL_ARG_MEAN, Channels(ctx.outputs[1])},
        {DNNL_ARG_VARIANCE, Channels(ctx.outputs[2])}};
    kernel->Add(dnnl::batch_normalization_forward(pd), pd.scratchpad_desc(), std::move(args));
    return kernel;
  });
}

// ---- batch_norm_inference ----

absl::StatusOr<std::vector<BlobDesc>> InferenceShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(CheckInputs(ctx, 0, 1));
  return std::vector<BlobDesc>{ctx.inputs[0]};
}

void InferenceGrad(GradContext& ctx) {
  if (ctx.needs_input_grad(3) || ctx.needs_input_grad(4)) {
    ctx.input(0).builder()->Fail(Unsupported(ctx, "the moving mean/variance inputs"));
    return;
  }
  EmitGrad(ctx, ctx.input(3), ctx.input(4), /*global_stats=*/true);
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeInferenceKernel(const KernelContext& ctx) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    const dnnl::memory::desc data = DataDesc(ctx.inputs[0].shape(), ctx.input_layouts[0]);
    auto pd = ForwardDesc(data, AttrFloat(ctx.op, "epsilon"), true, prop_kind::forward_inference);
    auto kernel = std::make_unique<DnnlKernel>();
    std::vector<std::pair<int, dnnl::memory>> args = {
        {DNNL_ARG_SRC, kernel->Input(ctx.inputs[0], data, pd.src_desc())},
        {DNNL_ARG_SCALE, Channels(ctx.inputs[1])},
        {DNNL_ARG_SHIFT, Channels(ctx.inputs[2])},
        {DNNL_ARG_MEAN, Channels(ctx.inputs[3])},
        {DNNL_ARG_VARIANCE, Channels(ctx.inputs[4])},
        {DNNL_ARG_DST,
         kernel->Output(ctx.outputs[0], DataDesc(ctx.outputs[0].shape(), ctx.output_layouts[0]),
                        pd.dst_desc())}};
    kernel->Add(dnnl::batch_normalization_forward(pd), pd.scratchpad_desc(), std::move(args));
    return kernel;
  });
}

// ---- batch_norm_grad ----

absl::StatusOr<std::vector<BlobDesc>> GradShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(CheckInputs(ctx, 1, 2));
  if (ctx.inputs[0].shape != ctx.inputs[1].shape) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "input 'dy' ", ctx.inputs[0].shape.ToString(),
                     " differs from 'x' ", ctx.inputs[1].shape.ToString()));
  }
  const BlobDesc channels{Shape({ctx.inputs[1].shape[1]}), DataType::kFloat};
  return std::vector<BlobDesc>{ctx.inputs[1], channels, channels};
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeGradKernel(const KernelContext& ctx) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    const float epsilon = AttrFloat(ctx.op, "epsilon");
    const bool global_stats = AttrBool(ctx.op, "global_stats");
    const dnnl::memory::desc data = DataDesc(ctx.inputs[1].shape(), ctx.input_layouts[1]);
    auto hint = ForwardDesc(data, epsilon, global_stats, prop_kind::forward_training);
    flags f = flags::use_scale | flags::use_shift;
    if (global_stats) f = f | flags::use_global_stats;
    dnnl::batch_normalization_backward::primitive_desc pd(
        {prop_kind::backward, data, data, epsilon, f}, UserScratchpad(), CpuEngine(), hint);
    auto kernel = std::make_unique<DnnlKernel>();
    std::vector<std::pair<int, dnnl::memory>> args = {
        {DNNL_ARG_DIFF_DST,
         kernel->Input(ctx.inputs[0], DataDesc(ctx.inputs[0].shape(), ctx.input_layouts[0]),
                       pd.diff_dst_desc())},
        {DNNL_ARG_SRC, kernel->Input(ctx.inputs[1], data, pd.src_desc())},
        {DNNL_ARG_SCALE, Channels(ctx.inputs[2])},
        {DNNL_ARG_SHIFT, Channels(ctx.inputs[3])},
        {DNNL_ARG_MEAN, Channels(ctx.inputs[4])},
        {DNNL_ARG_VARIANCE, Channels(ctx.inputs[5])},
        {DNNL_ARG_DIFF_SRC,
         kernel->Output(ctx.outputs[0], DataDesc(ctx.outputs[0].shape(), ctx.output_layouts[0]),
                        pd.diff_src_desc())},
        {DNNL_ARG_DIFF_SCALE, Channels(ctx.outputs[1])},
        {DNNL_ARG_DIFF_SHIFT, Channels(ctx.outputs[2])}};
    kernel->Add(dnnl::batch_normalization_backward(pd), pd.scratchpad_desc(), std::move(args));
    return kernel;
  });
}

REGISTER_OP("batch_norm")
    .Input("x")
    .Input("gamma")
    .Input("beta")
    .Output("y")
    .Output("mean")
    .Output("variance")
    .ShapeFn(BatchNormShape)
    .BlockedLayout(/*x*/ {0}, /*y*/ {0})
    .GradFn(BatchNormGrad)
    .KernelFn(MakeBatchNormKernel);
REGISTER_OP("batch_norm_inference")
    .Input("x")
    .Input("gamma")
    .Input("beta")
    .Input("mean")
    .Input("variance")
    .Output("y")
    .ShapeFn(InferenceShape)
    .BlockedLayout(/*x*/ {0}, /*y*/ {0})
    .GradFn(InferenceGrad)
    .KernelFn(MakeInferenceKernel);
REGISTER_OP("batch_norm_grad")
    .Input("dy")
    .Input("x")
    .Input("gamma")
    .Input("beta")
    .Input("mean")
    .Input("variance")
    .Output("dx")
    .Output("dgamma")
    .Output("dbeta")
    .ShapeFn(GradShape)
    .BlockedLayout(/*dy, x*/ {0, 1}, /*dx*/ {0})
    .NoGradient()
    .KernelFn(MakeGradKernel);

}  // namespace
}  // namespace flow
