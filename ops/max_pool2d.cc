// max_pool2d: y = the maximum of each window, OneFlow's flow.nn.max_pool2d on oneDNN pooling.
//   x: (N, C, H, W) f32; attrs ksize [kh, kw], strides [sh, sw], pad_before [ph, pw],
//   pad_after [ph, pw] (the job side turns "SAME"/"VALID" into pads, ops/window.h)
//   → y: (N, C, OH, OW) f32, OH = floor((H + ph_before + ph_after − kh) / sh) + 1 (OW alike);
//   → workspace: (bytes,) u8 — oneDNN's record of each window's argmax, opaque, for the gradient.
// Padded positions never win (oneDNN pads with -inf), so an all-negative border stays negative.
//
// Gradient: max_pool2d_grad(dy, workspace) → dx (N, C, H, W): each dy goes to the one input cell
// that won its window (overlapping windows add up). The workspace is kept rather than x: it costs
// 1 byte per output instead of 4 per input, and the backward needs no argmax search.
// Ties: the winner is the FIRST maximal cell in row-major window order (kh outer, kw inner) —
// oneDNN's rule (its simple and jit kernels replace the running max only on a strictly greater
// value; pooling_test checks both against plain loops), which is also PyTorch's CPU rule. OneFlow's
// CPU kernel instead gives dy to every tied cell, which does not conserve the gradient; flowrt
// keeps sum(dx over a window's cells) = dy for every window.
//
// Fused form (graph/passes/relu_grad_into_max_pool_grad.h): max_pool2d_grad(dy, workspace,
// relu_y) = max_pool2d_grad(relu_grad(dy, relu_y), workspace), relu_y of dy's shape (the pooled
// ReLU output), bit for bit, without the pooled relu_grad's own pass over memory.
//
// The workspace size is oneDNN's, queried at shape inference on this machine (it depends on the
// implementation oneDNN picks); predict jobs produce it too and the planner frees it at once.
#include <omp.h>

#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "framework/op_registry.h"
#include "ops/dnnl_kernel.h"
#include "ops/max_pool2d_blocked_kernel.h"
#include "ops/pooling.h"
#include "runtime/layout.h"
#include "runtime/status.h"

namespace flow {
namespace {

using dnnl::algorithm;
using tag = dnnl::memory::format_tag;
using Chunking = DnnlKernel::Chunking;

absl::StatusOr<int64_t> WorkspaceBytes(const ShapeContext& ctx, const PoolGeometry& g) {
  try {
    return static_cast<int64_t>(
        PoolForwardDesc(g, algorithm::pooling_max).workspace_desc().get_size());
  } catch (const dnnl::error& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        ctx.Where(), "oneDNN has no max pooling for input ", g.x.ToString(), ": ", e.what()));
  }
}

absl::StatusOr<std::vector<BlobDesc>> MaxPoolShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, 0));
  FLOWRT_ASSIGN_OR_RETURN(PoolGeometry g, PoolGeometryOf(ctx, ctx.inputs[0].shape));
  FLOWRT_ASSIGN_OR_RETURN(int64_t workspace, WorkspaceBytes(ctx, g));
  return std::vector<BlobDesc>{{g.y_shape(), DataType::kFloat},
                               {Shape({workspace}), DataType::kUInt8}};
}

void MaxPoolGrad(GradContext& ctx) {
  if (!ctx.needs_input_grad(0)) return;
  const flowrt::OpConf& op = ctx.op();
  ctx.SetInputGrad(0, ctx.Op("max_pool2d_grad")
                          .Input(ctx.output_grad(0))
                          .Input(ctx.output(1))
                          .Attr("ksize", AttrInts(op, "ksize"))
                          .Attr("strides", AttrInts(op, "strides"))
                          .Attr("pad_before", AttrInts(op, "pad_before"))
                          .Attr("pad_after", AttrInts(op, "pad_after"))
                          .Attr("x_shape", ctx.input(0).shape().dims())
                          .Build1());
}

dnnl::memory WorkspaceMemory(const dnnl::memory::desc& desc, const Tensor& tensor) {
  FLOWRT_CHECK(static_cast<int64_t>(desc.get_size()) == tensor.num_bytes())
      << "oneDNN workspace " << desc.get_size() << " bytes, blob " << tensor.num_bytes();
  return dnnl::memory(desc, CpuEngine(), const_cast<void*>(tensor.raw_data()));
}

// Whether flowrt's own kernel (ops/max_pool2d_blocked_kernel.h) runs instead of oneDNN's: the
// full-size tensor (x, dx) stored blocked (the pooled one may be plain), windows that do not
// overlap, oneDNN's workspace in the format the kernel writes (u8 in the dst's blocked order), and
// the ISA where it was measured faster. Measured on LeNet (flowrt time --threads=1, Xeon Sapphire
// Rapids, loaded 2-core VM; tools/bench/RESULTS.md): AVX2 (ONEDNN_MAX_CPU_ISA=AVX2, block 8)
// oneDNN's jit:avx2 pool1 forward_training + backward takes several ms, this kernel a fraction of
// that. On AVX-512 (block 16) oneDNN is kept: on an AMD EPYC Zen 5, 1 thread, 3 interleaved runs,
// this kernel's 16-lane variant took 0.44-0.67 ms for pool1's forward against oneDNN's 0.22-0.42
// and 0.42-0.72 for its backward against 0.46-0.84. The choice depends only on the geometry, the
// layouts and the ISA, and both implementations produce the same workspace, so a forward and its
// gradient may differ in which one runs.
bool UseBlockedKernel(const PoolGeometry& g, Layout full) {
  return full == Layout::kBlocked && BlockedChannels() == 8 && BlockedMaxPoolSupports(g) &&
         WorkspaceIsBlockedArgmax(g);
}

// Whether oneDNN's max pooling runs in BatchChunks (ops/dnnl_kernel.h), which the threads take as
// they come free, each chunk a single-threaded primitive, instead of one primitive that oneDNN
// splits: at more than one thread, on AVX-512, where oneDNN's split made LeNet's pool1 slower at
// 2 threads than at 1 (AMD EPYC Zen 5, ONEDNN_VERBOSE: backward 1.03 against 0.49 ms, forward
// 0.46 against 0.36). Max pooling only picks and routes values, image by image, so the bits are
// the same either way.
bool UsePoolBatchChunks(int64_t batch) {
  const int threads = omp_get_max_threads();
  return threads > 1 && BlockedChannels() == 16 && batch >= 2 * threads;
}

PoolGeometry WithBatch(PoolGeometry g, int64_t n) {
  g.x = Shape({n, g.x[1], g.x[2], g.x[3]});
  return g;
}

// Appends the pooling primitive make_pd(n) (for n images) over the whole batch of g to `kernel`,
// in BatchChunks when UsePoolBatchChunks says so.
template <typename Primitive, typename MakePd>
void AddPooling(DnnlKernel& kernel, const PoolGeometry& g, MakePd make_pd,
                const std::vector<DnnlKernel::PrimitiveArg>& args) {
  const int64_t batch = g.x[0];
  if (!UsePoolBatchChunks(batch) ||
      !kernel.AddBatchChunks<Primitive>(batch, omp_get_max_threads(), make_pd, args)) {
    kernel.AddPrimitive<Primitive>(make_pd(batch), args);
  }
}

// The workspace argument of a pooling primitive, bound to `tensor` (batched: argmaxes per image):
// kBatchedOutput for the forward, kBatched for the backward.
DnnlKernel::PrimitiveArg WorkspaceArg(const Tensor& tensor, Chunking chunking) {
  return {DNNL_ARG_WORKSPACE, chunking,
          [&tensor](const dnnl::memory::desc& wanted) { return WorkspaceMemory(wanted, tensor); }};
}

class BlockedMaxPoolKernel : public Kernel {
 public:
  BlockedMaxPoolKernel(const PoolGeometry& g, bool forward, const KernelContext& ctx)
      : g_(g),
        forward_(forward),
        pooled_plain_((forward ? ctx.output_layouts[0] : ctx.input_layouts[0]) == Layout::kPlain),
        argmax_(!forward || ctx.OutputRead(1)),
        relu_y_plain_(ctx.inputs.size() > 2 && ctx.input_layouts[2] == Layout::kPlain),
        ctx_(ctx.inputs, ctx.outputs) {}
  absl::Status Run() override {
    const auto& [in, out] = ctx_;
    if (forward_) {
      BlockedMaxPoolForward(g_, BlockedChannels(), in[0].data<float>(),
                            const_cast<float*>(out[0].data<float>()), pooled_plain_,
                            argmax_ ? const_cast<uint8_t*>(out[1].data<uint8_t>()) : nullptr);
    } else {
      BlockedMaxPoolBackward(g_, BlockedChannels(), in[0].data<float>(), pooled_plain_,
                             in[1].data<uint8_t>(), const_cast<float*>(out[0].data<float>()),
                             in.size() > 2 ? in[2].data<float>() : nullptr, relu_y_plain_);
    }
    return absl::OkStatus();
  }

 private:
  PoolGeometry g_;
  bool forward_;
  bool pooled_plain_;  // y (forward) or dy (backward) stored NCHW
  bool argmax_;        // forward: the workspace is read (a gradient will be taken)
  bool relu_y_plain_;  // backward: the optional relu_y stored NCHW
  std::pair<std::vector<Tensor>, std::vector<Tensor>> ctx_;  // inputs, outputs (bound views)
};

absl::StatusOr<std::unique_ptr<Kernel>> MakeMaxPoolKernel(const KernelContext& ctx) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    const PoolGeometry g = PoolGeometryOf(ctx.op, ctx.inputs[0].shape());
    auto pd = PoolForwardDesc(g, algorithm::pooling_max);
    if (UseBlockedKernel(g, ctx.input_layouts[0])) {
      return std::make_unique<BlockedMaxPoolKernel>(g, /*forward=*/true, ctx);
    }
    // No op reads the workspace (eval and predict jobs without a gradient): forward_inference,
    // which keeps no argmax. The workspace blob stays in the plan (its size is the shape fn's,
    // which cannot see the readers), unwritten, live only during this op.
    const bool argmax = ctx.OutputRead(1);
    const auto prop =
        argmax ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    auto kernel = std::make_unique<DnnlKernel>();
    DnnlKernel* k = kernel.get();
    std::vector<DnnlKernel::PrimitiveArg> args = {
        {DNNL_ARG_SRC, Chunking::kBatched,
         [&ctx, &g, k](const dnnl::memory::desc& wanted) {
           return k->Input(ctx.inputs[0], DnnlDesc(g.x, ctx.input_layouts[0]), wanted);
         }},
        {DNNL_ARG_DST, Chunking::kBatchedOutput, [&ctx, &g, k](const dnnl::memory::desc& wanted) {
           return k->Output(ctx.outputs[0], DnnlDesc(g.y_shape(), ctx.output_layouts[0]), wanted);
         }}};
    if (argmax) args.push_back(WorkspaceArg(ctx.outputs[1], Chunking::kBatchedOutput));
    AddPooling<dnnl::pooling_forward>(
        *k, g,
        [&g, prop](int64_t n) {
          return PoolForwardDesc(WithBatch(g, n), algorithm::pooling_max, prop);
        },
        args);
    return kernel;
  });
}

// max_pool2d_grad: dy (N, C, OH, OW) f32, workspace (bytes,) u8 from the forward op,
//   [relu_y (N, C, OH, OW) f32: dy is first masked by relu_y > 0]
//   attrs: the forward's ksize/strides/pad_before/pad_after, x_shape [N, C, H, W]
//   → dx (N, C, H, W) f32.
absl::StatusOr<std::vector<BlobDesc>> MaxPoolGradShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, 0));
  FLOWRT_ASSIGN_OR_RETURN(PoolGeometry g, PoolGeometryOf(ctx, Shape(AttrInts(ctx.op, "x_shape"))));
  if (ctx.inputs[0].shape != g.y_shape()) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "input 'dy' has shape ",
                                                   ctx.inputs[0].shape.ToString(), ", expected ",
                                                   g.y_shape().ToString()));
  }
  FLOWRT_ASSIGN_OR_RETURN(int64_t workspace, WorkspaceBytes(ctx, g));
  const BlobDesc expected{Shape({workspace}), DataType::kUInt8};
  if (!(ctx.inputs[1] == expected)) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "input 'workspace' is ", DataTypeName(ctx.inputs[1].dtype), " ",
                     ctx.inputs[1].shape.ToString(), ", expected kUInt8 ",
                     expected.shape.ToString(), " (the workspace output of the max_pool2d op)"));
  }
  if (ctx.inputs.size() > 2 && !(ctx.inputs[2] == BlobDesc{g.y_shape(), DataType::kFloat})) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "input 'relu_y' is ", DataTypeName(ctx.inputs[2].dtype), " ",
                     ctx.inputs[2].shape.ToString(), ", expected kFloat ", g.y_shape().ToString()));
  }
  return std::vector<BlobDesc>{{g.x, DataType::kFloat}};
}

// Appends oneDNN's max-pooling backward (dy → dx, output 0, routed by the workspace, input 1) to
// `kernel`, with dy's memory from diff_dst(wanted).
template <typename DiffDst>
void AddPoolingBackward(DnnlKernel& kernel, const PoolGeometry& g, DiffDst diff_dst,
                        const KernelContext& ctx) {
  DnnlKernel* k = &kernel;
  AddPooling<dnnl::pooling_backward>(
      kernel, g,
      [&g](int64_t n) {
        const PoolGeometry part = WithBatch(g, n);
        return PoolBackwardDesc(part, algorithm::pooling_max,
                                PoolForwardDesc(part, algorithm::pooling_max));
      },
      {{DNNL_ARG_DIFF_DST, Chunking::kBatched, diff_dst},
       {DNNL_ARG_DIFF_SRC, Chunking::kBatchedOutput,
        [&ctx, &g, k](const dnnl::memory::desc& wanted) {
          return k->Output(ctx.outputs[0], DnnlDesc(g.x, ctx.output_layouts[0]), wanted);
        }},
       WorkspaceArg(ctx.inputs[1], Chunking::kBatched)});
}

// The fused gradient on oneDNN's pooling (geometries or ISAs the blocked kernel does not take):
// dy and relu_y reordered into the primitive's diff_dst layout when stored otherwise, masked
// into a buffer (relu_grad's arithmetic, element by element in one layout), then routed.
class MaskedDnnlPoolGradKernel : public Kernel {
 public:
  MaskedDnnlPoolGradKernel(const KernelContext& ctx, const PoolGeometry& g,
                           const dnnl::pooling_backward::primitive_desc& pd)
      : masked_(Shape({static_cast<int64_t>(pd.diff_dst_desc().get_size() / sizeof(float))}),
                DataType::kFloat) {
    const dnnl::memory::desc& want = pd.diff_dst_desc();
    dy_ = static_cast<const float*>(
        inputs_.Input(ctx.inputs[0], DnnlDesc(g.y_shape(), ctx.input_layouts[0]), want)
            .get_data_handle());
    y_ = static_cast<const float*>(
        inputs_.Input(ctx.inputs[2], DnnlDesc(g.y_shape(), ctx.input_layouts[2]), want)
            .get_data_handle());
    AddPoolingBackward(
        pool_, g,
        [this, &want](const dnnl::memory::desc& wanted) {
          FLOWRT_CHECK(wanted == want) << "pooling chunks want dy in another layout";
          return dnnl::memory(wanted, CpuEngine(), masked_.raw_data());
        },
        ctx);
  }
  absl::Status Run() override {
    FLOWRT_RETURN_IF_ERROR(inputs_.Run());
    const float *dy = dy_, *y = y_;
    float* m = const_cast<float*>(masked_.data<float>());
    const int64_t n = masked_.num_elements();
    // dy[i] is read unconditionally, as relu_grad's kernel does (ops/relu.cc): a load only where
    // y > 0 keeps g++ from vectorizing the select.
#pragma omp parallel for simd schedule(static) if (n >= (1 << 15))
    for (int64_t i = 0; i < n; ++i) {
      const float g = dy[i];
      m[i] = y[i] > 0.f ? g : 0.f;
    }
    return pool_.Run();
  }

 private:
  DnnlKernel inputs_;  // only the reorders of dy and relu_y, if any
  DnnlKernel pool_;    // pooling_backward from masked_, and dx's reorder out, if any
  Tensor masked_;      // relu_grad(dy, relu_y) in diff_dst's layout
  const float* dy_;
  const float* y_;
};

absl::StatusOr<std::unique_ptr<Kernel>> MakeMaxPoolGradKernel(const KernelContext& ctx) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    const PoolGeometry g = PoolGeometryOf(ctx.op, ctx.outputs[0].shape());
    auto hint = PoolForwardDesc(g, algorithm::pooling_max);
    auto pd = PoolBackwardDesc(g, algorithm::pooling_max, hint);
    if (UseBlockedKernel(g, ctx.output_layouts[0])) {
      return std::make_unique<BlockedMaxPoolKernel>(g, /*forward=*/false, ctx);
    }
    if (ctx.inputs.size() > 2) return std::make_unique<MaskedDnnlPoolGradKernel>(ctx, g, pd);
    auto kernel = std::make_unique<DnnlKernel>();
    DnnlKernel* k = kernel.get();
    AddPoolingBackward(
        *k, g,
        [&ctx, &g, k](const dnnl::memory::desc& wanted) {
          return k->Input(ctx.inputs[0], DnnlDesc(g.y_shape(), ctx.input_layouts[0]), wanted);
        },
        ctx);
    return kernel;
  });
}

REGISTER_OP("max_pool2d")
    .Input("x")
    .Output("y")
    .Output("workspace")
    .ShapeFn(MaxPoolShape)
    .BlockedLayout(/*x*/ {0}, /*y*/ {0})
    .GradFn(MaxPoolGrad)
    .KernelFn(MakeMaxPoolKernel);
REGISTER_OP("max_pool2d_grad")
    .Input("dy")
    .Input("workspace")
    .OptionalInput("relu_y")
    .Output("dx")
    .ShapeFn(MaxPoolGradShape)
    .BlockedLayout(/*dy, relu_y*/ {0, 2}, /*dx*/ {0})
    .NoGradient()
    .KernelFn(MakeMaxPoolGradKernel);

}  // namespace
}  // namespace flow
