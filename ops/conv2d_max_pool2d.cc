// conv2d_max_pool2d: max_pool2d(conv2d(x, weight[, bias])) in one op, for a convolution whose
// output only the pooling reads (LeNet's conv1 → ReLU → pool1 once the ReLU's gradient reads the
// pooled y: graph/passes/relu_grad_before_max_pool_grad.h). The graph pass
// graph/passes/conv2d_into_max_pool2d.h writes it; jobs never do.
//   x (N, CI, H, W), weight (C, CI/groups, KH, KW), [bias (C,)] f32
//   attrs: conv2d's (strides, dilations, pad_before, pad_after, groups, activation) and
//   max_pool2d's with the prefix "pool_" (pool_ksize, pool_strides, pool_pad_before,
//   pool_pad_after)
//   → y (N, C, OH, OW) f32, workspace (bytes,) u8: max_pool2d's outputs.
//
// Why: the convolution's output (N, C, H', W') — LeNet's conv1: 100×32×28×28, 10 MB — was
// written to memory by one op and read back by the next. Here the convolution runs image by image
// into the thread's own scratch (100 KB for LeNet), and the blocked max-pool kernel pools the
// image from there while it is in the core's cache. `flowrt time --job=lenet --threads=2`, AMD
// EPYC Zen 5 (AVX-512), the rewrite off / on, 3 interleaved pairs: conv1 + pool1 0.80-0.82 +
// 0.33-0.41 ms against 0.77-0.81; conv2 + pool2 4.43-4.78 + 0.26-0.29 against 4.72-4.96; the
// step 21.1 / 19.5, 19.9 / 19.5, 20.1 / 20.4 ms (neighbours busy). Capped at AVX2
// (ONEDNN_MAX_CPU_ISA=AVX2), 1 thread, against b2e6531, 2 pairs: conv1 + pool1 1.19 + 0.52-0.80
// against 1.60-1.62; conv2 + pool2 15.74-15.91 + 0.48-0.53 against 15.84-15.85.
//
// Exact: each image runs what conv2d runs — flowrt's direct kernel for one input channel on
// AVX-512 (ops/conv2d_direct_forward_kernel.h), else conv2d's oneDNN primitive for one image
// (Conv2dForwardPd; an output sums over its window and channels only, so the batch size changes
// no bit) — and the pooling picks
// values, with oneDNN's argmax rule and workspace format (ops/max_pool2d_blocked_kernel.h). Where
// that kernel or the primitive's formats do not fit (overlapping windows, a dst format other than
// the blocked one), the op runs conv2d's and max_pool2d's own kernels through a buffer.
#include <omp.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/op_registry.h"
#include "ops/conv2d.h"
#include "ops/dnnl_kernel.h"
#include "ops/fused_op.h"
#include "ops/max_pool2d_blocked_kernel.h"
#include "ops/pooling.h"
#include "runtime/layout.h"
#include "runtime/speculative_chunks.h"
#include "runtime/status.h"

namespace flow {
namespace {

const FusedParts kParts{"pool_", {"ksize", "strides", "pad_before", "pad_after"}};

flowrt::OpConf ConvOp(const flowrt::OpConf& op) { return kParts.Rest(op, "conv2d"); }
flowrt::OpConf PoolOp(const flowrt::OpConf& op) { return kParts.Prefixed(op, "max_pool2d"); }

absl::StatusOr<std::vector<BlobDesc>> FusedShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(kParts.CheckPresent(ctx));
  FLOWRT_ASSIGN_OR_RETURN(std::vector<BlobDesc> conv,
                          FindOp("conv2d")->shape_fn(ShapeContext{ConvOp(ctx.op), ctx.inputs}));
  return FindOp("max_pool2d")->shape_fn(ShapeContext{PoolOp(ctx.op), {conv[0]}});
}

// The fused path: per image, conv2d's primitive into the thread's scratch (C/B, H', W', B), then
// the pooling of that image into y and the workspace.
class ConvPoolKernel : public Kernel {
 public:
  // Null when the primitive's formats do not fit (the caller then composes the two ops).
  static std::unique_ptr<Kernel> Make(const KernelContext& ctx, const PoolGeometry& pool) {
    const Shape& x = ctx.inputs[0].shape();
    const Shape& w = ctx.inputs[1].shape();
    const bool bias = ctx.inputs.size() == 3;
    const int threads = std::max(1, std::min<int>(omp_get_max_threads(), x[0]));
    const int slots = SpeculativeSlots(threads);
    if (UseDirectConvForward(x, w, AttrInt(ctx.op, "groups"))) {  // what conv2d runs there too
      auto k = std::unique_ptr<ConvPoolKernel>(new ConvPoolKernel(ctx, pool, threads));
      k->direct_.emplace(DirectForwardGeometry(ctx.op, x, w, pool.x));
      k->packed_ = Tensor(Shape({k->direct_->packed_size()}), DataType::kFloat);
      for (int t = 0; t < slots; ++t) {
        k->scratch_.emplace_back(Shape({pool.x[1] * pool.x[2] * pool.x[3]}), DataType::kFloat);
        k->scratchpads_.emplace_back(Shape({k->direct_->scratch_size()}), DataType::kFloat);
      }
      return k;
    }
    const auto pd = WithOneOpenMpThread(
        [&] { return Conv2dForwardPd(ctx.op, x, w, pool.x, bias, ctx.env.is_train, /*n=*/1); });
    const Shape x1({1, x[1], x[2], x[3]}), y1({1, pool.x[1], pool.x[2], pool.x[3]});
    if (pd.src_desc() != DnnlDesc(x1, ctx.input_layouts[0]) ||
        pd.dst_desc() != DnnlDesc(y1, Layout::kBlocked)) {
      return nullptr;
    }
    auto k = std::unique_ptr<ConvPoolKernel>(new ConvPoolKernel(ctx, pool, threads));
    // The weight in the primitive's format (reordered at the start of each Run, as conv2d does).
    const dnnl::memory weights =
        k->weights_.Input(ctx.inputs[1],
                          dnnl::memory::desc(DnnlDims(w), dnnl::memory::data_type::f32,
                                             dnnl::memory::format_tag::oihw),
                          pd.weights_desc());
    const dnnl::convolution_forward primitive(pd);
    const int64_t image_in = x[1] * x[2] * x[3];
    char* x_bytes = static_cast<char*>(const_cast<void*>(ctx.inputs[0].raw_data()));
    for (int t = 0; t < slots; ++t) {
      k->scratch_.emplace_back(Shape({pool.x[1] * pool.x[2] * pool.x[3]}), DataType::kFloat);
      k->scratchpads_.emplace_back(
          Shape({static_cast<int64_t>(pd.scratchpad_desc().get_size() / sizeof(float)) + 1}),
          DataType::kFloat);
    }
    for (int64_t n = 0; n < x[0]; ++n) {
      for (int t = 0; t < slots; ++t) {
        std::vector<std::pair<int, dnnl::memory>> args = {
            {DNNL_ARG_SRC,
             dnnl::memory(pd.src_desc(), CpuEngine(), x_bytes + n * image_in * sizeof(float))},
            {DNNL_ARG_WEIGHTS, weights},
            {DNNL_ARG_DST, dnnl::memory(pd.dst_desc(), CpuEngine(), k->scratch_[t].raw_data())},
            {DNNL_ARG_SCRATCHPAD,
             dnnl::memory(pd.scratchpad_desc(), CpuEngine(), k->scratchpads_[t].raw_data())}};
        if (bias)
          args.push_back({DNNL_ARG_BIAS, DnnlMemory(ctx.inputs[2], dnnl::memory::format_tag::x)});
        k->steps_.emplace_back(primitive, std::move(args));
      }
    }
    return k;
  }

  absl::Status Run() override {
    FLOWRT_RETURN_IF_ERROR(weights_.Run());
    if (direct_) direct_->PackWeights(weight_, packed_.data<float>());
    // Images to whichever thread is free; an image whose thread was taken off the CPU is
    // convolved again by the caller (runtime/speculative_chunks.h).
    images_.Run(pool_.x[0], threads_);
    return absl::OkStatus();
  }

 private:
  ConvPoolKernel(const KernelContext& ctx, const PoolGeometry& pool, int threads)
      : pool_(pool),
        threads_(threads),
        x_(ctx.in<float>(0)),
        weight_(ctx.in<float>(1)),
        bias_(ctx.inputs.size() == 3 ? ctx.in<float>(2) : nullptr),
        y_(ctx.out<float>(0)),
        y_plain_(ctx.output_layouts[0] == Layout::kPlain),
        workspace_(ctx.OutputRead(1) ? ctx.out<uint8_t>(1) : nullptr) {}

  // Image n's convolution into slot t's scratch.
  void Convolve(int64_t n, int t) {
    if (direct_) {
      direct_->Image(n, x_, packed_.data<float>(), bias_, scratch_[t].data<float>(),
                     scratchpads_[t].data<float>());
    } else {
      steps_[n * SpeculativeSlots(threads_) + t].Execute();
    }
  }

  // Image n's pooling from slot t's scratch into y and the workspace.
  void Pool(int64_t n, int t) {
    BlockedMaxPoolForwardImage(pool_, BlockedChannels(), n, scratch_[t].data<float>(), y_, y_plain_,
                               workspace_);
  }

  PoolGeometry pool_;  // x = the convolution's output (N, C, H', W')
  int threads_;
  const float* x_;
  const float* weight_;
  const float* bias_;  // or null
  float* y_;
  bool y_plain_;
  uint8_t* workspace_;  // null when nothing reads it (predict jobs)
  // The convolution: flowrt's direct kernel for one input channel on AVX-512, or else conv2d's
  // oneDNN primitive for one image.
  std::optional<DirectConvForward> direct_;
  Tensor packed_;                    // direct: the weight, (O/16, KH·KW, 16)
  DnnlKernel weights_;               // oneDNN: the weight's reorder into its format, if any
  std::vector<DnnlStep> steps_;      // oneDNN: [image · slots + slot]
  std::vector<Tensor> scratch_;      // per slot: one image's convolution output, blocked
  std::vector<Tensor> scratchpads_;  // per slot: the padded image or the primitive's scratchpad
  // Last, so that it is destroyed first: it waits for a thread still convolving into scratch_.
  SpeculativeChunks images_{[this](int64_t n, int t) { Convolve(n, t); },
                            [this](int64_t n, int t) { Pool(n, t); }};
};

// Elsewhere: conv2d's kernel into a plain buffer, then max_pool2d's from it.
absl::StatusOr<std::unique_ptr<Kernel>> MakeComposedKernel(const KernelContext& ctx,
                                                           const PoolGeometry& pool) {
  auto k = std::make_unique<ComposedKernel>();
  Tensor& y = k->Buffer(pool.x);
  std::vector<Layout> conv_layouts = ctx.input_layouts;
  FLOWRT_RETURN_IF_ERROR(
      k->Add(ConvOp(ctx.op), ctx.inputs, conv_layouts, {y}, {Layout::kPlain}, ctx.env));
  FLOWRT_RETURN_IF_ERROR(k->Add(PoolOp(ctx.op), {y}, {Layout::kPlain}, ctx.outputs,
                                ctx.output_layouts, ctx.env, ctx.output_read));
  return k;
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeFusedKernel(const KernelContext& ctx) {
  std::vector<BlobDesc> inputs;
  for (const Tensor& t : ctx.inputs) inputs.push_back({t.shape(), t.dtype()});
  FLOWRT_ASSIGN_OR_RETURN(std::vector<BlobDesc> conv,
                          FindOp("conv2d")->shape_fn(ShapeContext{ConvOp(ctx.op), inputs}));
  const PoolGeometry pool = PoolGeometryOf(PoolOp(ctx.op), conv[0].shape);
  const int64_t block = BlockedChannels();
  if (pool.x[1] % block != 0 || !BlockedMaxPoolSupports(pool) || !WorkspaceIsBlockedArgmax(pool)) {
    return MakeComposedKernel(ctx, pool);
  }
  FLOWRT_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> fused,
                          CatchDnnl([&] { return ConvPoolKernel::Make(ctx, pool); }));
  if (fused == nullptr) return MakeComposedKernel(ctx, pool);
  return fused;
}

REGISTER_OP("conv2d_max_pool2d")
    .Input("x")
    .Input("weight")
    .OptionalInput("bias")
    .Output("y")
    .Output("workspace")
    .ShapeFn(FusedShape)
    .BlockedLayout(/*x*/ {0}, /*y*/ {0})
    .NoGradient()
    .KernelFn(MakeFusedKernel);

}  // namespace
}  // namespace flow
