// conv2d: y = activation(conv(x, weight) + bias), OneFlow's flow.layers.conv2d core, on oneDNN
// convolution (NCHW data, OIHW filters, cross-correlation as in every framework).
//   x: (N, C, H, W) f32, weight: (O, C/groups, KH, KW) f32, bias: (O,) optional
//   attrs: strides [sh, sw] ≥ 1; dilations [dh, dw] ≥ 1 (1 = none; oneDNN counts from 0);
//          groups ≥ 1 dividing C and O; pad_before [ph, pw], pad_after [ph, pw] ≥ 0 (resolved by
//          the layer from SAME/VALID/explicit, see ops/window.h); activation "" or "relu" (fused
//          as a oneDNN post-op)
//   → y: (N, O, OH, OW), OH = floor((H + ph_before + ph_after − ((KH−1)·dh+1)) / sh) + 1.
// Gradient: g = relu_grad(dy, y) if fused relu, else dy;
//   conv2d_grad_data(g, weight) → dx (N, C, H, W)            [attr x_shape]
//   conv2d_grad_weight(g, x) → dweight (O, C/groups, KH, KW), dbias (O,)  [attr weight_shape]
// each emitted only if one of its results is needed.
//
// Layout: each kernel lets oneDNN pick its preferred layouts (format_tag::any: nChw16c /
// OIhw16i16o on AVX-512) and reorders at its boundary, into buffers it allocates once, whatever is
// stored otherwise: weights (always plain OIHW) and activations the executor keeps plain
// (runtime/layout_assignment.h keeps x, y and dy blocked inside conv/pool chains). Measured on
// LeNet's convs (batch 100, 5×5 SAME, 1 thread, best of 3 runs on a shared 2-core AVX-512 machine;
// forward / forward + relu_grad
// + backward): 1→32 on 28×28 blocked 2.2 / 16.9 ms vs plain 14.2 / 30.1 ms; 32→64 on 14×14
// blocked 9.6 / 36.5 ms vs plain 25.3 / 71.2 ms (oneDNN's plain path is im2col + GEMM). Blocked
// wins despite the reorders, so it is what runs. Scratchpads are user-mode buffers owned by the
// kernel too (sized for the thread count at creation, which the executor sets again before every
// run): a step allocates nothing.
#include "ops/conv2d.h"

#include <omp.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "framework/op_registry.h"
#include "ops/conv2d_grad_weight_direct_kernel.h"
#include "ops/dnnl_kernel.h"
#include "ops/window.h"

namespace flow {
namespace {

using dnnl::algorithm;
using dnnl::prop_kind;
using tag = dnnl::memory::format_tag;
using Chunking = DnnlKernel::Chunking;

// ---- geometry shared by the three ops ----

struct ConvGeometry {
  std::vector<int64_t> strides, dilations, pad_before, pad_after;
  int64_t groups = 1;
};

ConvGeometry ReadGeometry(const flowrt::OpConf& op) {
  return {AttrInts(op, "strides"), AttrInts(op, "dilations"), AttrInts(op, "pad_before"),
          AttrInts(op, "pad_after"), AttrInt(op, "groups")};
}

std::string Ints(const std::vector<int64_t>& v) {
  return absl::StrCat("[", absl::StrJoin(v, ", "), "]");
}

absl::Status ValidateGeometry(const ShapeContext& ctx, const ConvGeometry& g) {
  const std::pair<const char*, const std::vector<int64_t>*> lists[] = {
      {"strides", &g.strides},
      {"dilations", &g.dilations},
      {"pad_before", &g.pad_before},
      {"pad_after", &g.pad_after}};
  for (const auto& [name, list] : lists) {
    if (list->size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "attr ", name, " ", Ints(*list),
                                                     " must have 2 elements (h, w)"));
    }
  }
  if (g.groups < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "groups ", g.groups, " must be positive"));
  }
  return absl::OkStatus();
}

// y's shape for x (N, C, H, W) and weight (O, C/groups, KH, KW); errors name both inputs.
absl::StatusOr<Shape> ConvOutputShape(const ShapeContext& ctx, const Shape& x, const Shape& w,
                                      const ConvGeometry& g) {
  if (x.rank() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "input 'x' ", x.ToString(), " must have rank 4 (N, C, H, W)"));
  }
  if (w.rank() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "input 'weight' ", w.ToString(),
                                                   " must have rank 4 (O, C/groups, KH, KW)"));
  }
  if (x[1] != w[1] * g.groups) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "input 'x' ", x.ToString(), " has ",
                                                   x[1], " channels but 'weight' ", w.ToString(),
                                                   " expects ", w[1], "·groups = ", w[1] * g.groups,
                                                   " (groups ", g.groups, ")"));
  }
  if (w[0] % g.groups != 0) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "input 'weight' ", w.ToString(),
                                                   " has ", w[0], " filters, not divisible by ",
                                                   "groups ", g.groups));
  }
  std::vector<int64_t> out = {x[0], w[0]};
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<int64_t> size = WindowOutputSize(
        x[2 + i], w[2 + i], g.strides[i], g.dilations[i], g.pad_before[i], g.pad_after[i]);
    if (!size.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(ctx.Where(), i == 0 ? "height" : "width", " of input 'x' ", x.ToString(),
                       " and 'weight' ", w.ToString(), ": ", size.status().message()));
    }
    out.push_back(*size);
  }
  return Shape(std::move(out));
}

// ---- oneDNN descriptors ----

// The oneDNN view of one convolution: dims (weights grouped as (G, O/G, C/G, KH, KW) when
// groups > 1 — the same bytes as OIHW) and the geometry in oneDNN's conventions.
struct DnnlConv {
  dnnl::memory::dims src, weights, bias, dst, strides, dilates, pad_l, pad_r;
  tag weights_tag;

  DnnlConv(const Shape& x, const Shape& w, const Shape& y, const ConvGeometry& g)
      : src(DnnlDims(x)),
        bias({w[0]}),
        dst(DnnlDims(y)),
        strides(g.strides),
        dilates({g.dilations[0] - 1, g.dilations[1] - 1}),
        pad_l(g.pad_before),
        pad_r(g.pad_after) {
    if (g.groups == 1) {
      weights = DnnlDims(w);
      weights_tag = tag::oihw;
    } else {
      weights = {g.groups, w[0] / g.groups, w[1], w[2], w[3]};
      weights_tag = tag::goihw;
    }
  }
  dnnl::memory::desc Any(const dnnl::memory::dims& dims) const {
    return {dims, dnnl::memory::data_type::f32, tag::any};
  }
  dnnl::memory::desc Plain(const dnnl::memory::dims& dims) const {
    const tag t = dims.size() == 1 ? tag::x : dims.size() == 4 ? tag::nchw : tag::goihw;
    return {dims, dnnl::memory::data_type::f32, t};
  }
  dnnl::memory::desc PlainWeights() const {
    return {weights, dnnl::memory::data_type::f32, weights_tag};
  }

  dnnl::convolution_forward::desc Forward(prop_kind prop, bool with_bias) const {
    if (with_bias) {
      return {prop,        algorithm::convolution_direct,
              Any(src),    Any(weights),
              Plain(bias), Any(dst),
              strides,     dilates,
              pad_l,       pad_r};
    }
    return {prop,     algorithm::convolution_direct,
            Any(src), Any(weights),
            Any(dst), strides,
            dilates,  pad_l,
            pad_r};
  }
};

// Whether a convolution's forward and data gradient run in BatchChunks (ops/dnnl_kernel.h), which
// the threads share out dynamically, instead of one primitive that oneDNN splits statically: at
// more than one thread. Quiet, the two take the same time (LeNet's conv2 forward at 2 threads on
// AVX2: 12.5 against 12.1-12.4 ms; LeNet's step at 2 threads on AVX-512, data gradient chunked:
// 0.983-1.005 of the step without, 6 rounds). Beside a busy loop on one of 2 cores, a thread that
// shares its core takes fewer chunks instead of holding up every primitive. Each image's sums are
// the same in a chunk as in the one primitive at 1 thread, so the bits do not depend on the thread
// count up to half the batch (tests/runtime/thread_count_test.cc).
bool UseBatchChunks(int64_t batch) {
  const int threads = omp_get_max_threads();
  return threads > 1 && batch >= 2 * threads;
}

Shape WithBatch(const Shape& shape, int64_t n) {
  std::vector<int64_t> dims = shape.dims();
  dims[0] = n;
  return Shape(std::move(dims));
}

// A kernel running the convolution primitive make_pd(n) (for n images) that reads input 0 as
// `in` and the weight, input 1, and writes output 0 as `out` (inputs and output each in their
// stored layout, reordered at the boundary when the primitive wants another), plus `extra`
// arguments: in BatchChunks when UseBatchChunks says so, else over the whole batch.
template <typename Primitive, typename MakePd>
std::unique_ptr<Kernel> ConvKernel(const KernelContext& ctx, const DnnlConv& conv, int in, int out,
                                   MakePd make_pd,
                                   const std::vector<DnnlKernel::PrimitiveArg>& extra = {}) {
  auto kernel = std::make_unique<DnnlKernel>();
  DnnlKernel* k = kernel.get();
  std::vector<DnnlKernel::PrimitiveArg> args = {
      {in, Chunking::kBatched,
       [&ctx, k](const auto& wanted) {
         return k->Input(ctx.inputs[0], DnnlDesc(ctx.inputs[0].shape(), ctx.input_layouts[0]),
                         wanted);
       }},
      {DNNL_ARG_WEIGHTS, Chunking::kWhole,
       [&ctx, &conv, k](const auto& wanted) {
         return k->Input(ctx.inputs[1], conv.PlainWeights(), wanted);
       }},
      {out, Chunking::kBatchedOutput, [&ctx, k](const auto& wanted) {
         return k->Output(ctx.outputs[0], DnnlDesc(ctx.outputs[0].shape(), ctx.output_layouts[0]),
                          wanted);
       }}};
  args.insert(args.end(), extra.begin(), extra.end());
  const int64_t batch = ctx.inputs[0].shape()[0];
  if (!UseBatchChunks(batch) ||
      !kernel->AddBatchChunks<Primitive>(batch, omp_get_max_threads(), make_pd, args)) {
    kernel->AddPrimitive<Primitive>(make_pd(batch), args);
  }
  return kernel;
}

// ---- conv2d ----

absl::StatusOr<std::vector<BlobDesc>> Conv2dShape(const ShapeContext& ctx) {
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    if (auto s = ExpectFloat(ctx, static_cast<int>(i)); !s.ok()) return s;
  }
  const ConvGeometry g = ReadGeometry(ctx.op);
  if (auto s = ValidateGeometry(ctx, g); !s.ok()) return s;
  const Shape& x = ctx.inputs[0].shape;
  const Shape& w = ctx.inputs[1].shape;
  absl::StatusOr<Shape> y = ConvOutputShape(ctx, x, w, g);
  if (!y.ok()) return y.status();
  if (ctx.inputs.size() == 3 && ctx.inputs[2].shape != Shape({w[0]})) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "input 'bias' ", ctx.inputs[2].shape.ToString(),
                     " does not fit 'weight' ", w.ToString(), " (expected (", w[0], ",))"));
  }
  const std::string& activation = AttrString(ctx.op, "activation");
  if (activation != "" && activation != "relu") {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "unsupported fused activation '", activation, "'"));
  }
  return std::vector<BlobDesc>{{*std::move(y), DataType::kFloat}};
}

// Copies the geometry attrs of the forward op onto a gradient op.
OpBuilder& WithGeometry(OpBuilder& op, const flowrt::OpConf& forward) {
  for (const char* name : {"strides", "dilations", "pad_before", "pad_after"}) {
    op.Attr(name, AttrInts(forward, name));
  }
  return op.Attr("groups", AttrInt(forward, "groups"));
}

void Conv2dGrad(GradContext& ctx) {
  Blob dy = ctx.output_grad(0);
  if (AttrString(ctx.op(), "activation") == "relu") {
    dy = ctx.Op("relu_grad").Input(dy).Input(ctx.output(0)).Build1();
  }
  if (ctx.needs_input_grad(0)) {
    OpBuilder op = ctx.Op("conv2d_grad_data");
    WithGeometry(op, ctx.op()).Input(dy).Input(ctx.input(1));
    op.Attr("x_shape", ctx.input(0).shape().dims());
    ctx.SetInputGrad(0, op.Build1());
  }
  const bool has_bias = ctx.op().input_size() == 3;
  if (ctx.needs_input_grad(1) || (has_bias && ctx.needs_input_grad(2))) {
    OpBuilder op = ctx.Op("conv2d_grad_weight");
    WithGeometry(op, ctx.op()).Input(dy).Input(ctx.input(0));
    op.Attr("weight_shape", ctx.input(1).shape().dims());
    std::vector<Blob> grads = op.Build();
    ctx.SetInputGrad(1, grads[0]);
    if (has_bias) ctx.SetInputGrad(2, grads[1]);
  }
}

// flowrt's forward for one input channel (ops/conv2d_direct_forward_kernel.h) where
// UseDirectConvForward says so: images to whichever thread is free, each written blocked into y,
// or into the thread's scratch and transposed when y is stored plain (the same values either way).
class DirectConvForwardKernel : public Kernel {
 public:
  explicit DirectConvForwardKernel(const KernelContext& ctx)
      : x_(ctx.in<float>(0)),
        weight_(ctx.in<float>(1)),
        bias_(ctx.inputs.size() == 3 ? ctx.in<float>(2) : nullptr),
        y_(ctx.out<float>(0)),
        y_plain_(ctx.output_layouts[0] == Layout::kPlain),
        batch_(ctx.inputs[0].shape()[0]),
        image_(ctx.outputs[0].shape().NumElements() / batch_),
        cells_(image_ / ctx.outputs[0].shape()[1]),
        threads_(std::max(1, std::min<int>(omp_get_max_threads(), batch_))),
        conv_(DirectForwardGeometry(ctx.op, ctx.inputs[0].shape(), ctx.inputs[1].shape(),
                                    ctx.outputs[0].shape())),
        scratch_size_(conv_.scratch_size() + (y_plain_ ? image_ : 0)),
        packed_(Shape({conv_.packed_size()}), DataType::kFloat),
        scratch_(Shape({threads_ * scratch_size_}), DataType::kFloat) {}

  absl::Status Run() override {
    float* packed = packed_.data<float>();
    conv_.PackWeights(weight_, packed);
    // At most the OpenMP count of the moment: 1 when the executor runs chunks-only
    // (runtime/thread_governor.h).
#pragma omp parallel for schedule(dynamic, 1) num_threads(std::min(threads_, omp_get_max_threads()))
    for (int64_t n = 0; n < batch_; ++n) {
      float* scratch = scratch_.data<float>() + omp_get_thread_num() * scratch_size_;
      float* blocked = y_plain_ ? scratch + conv_.scratch_size() : y_ + n * image_;
      conv_.Image(n, x_, packed, bias_, blocked, scratch);
      if (!y_plain_) continue;
      // (O/16, cells, 16) → (O, cells)
      float* y = y_ + n * image_;
      for (int64_t o = 0; o < image_ / cells_; ++o) {
        const float* lane = blocked + (o / 16) * cells_ * 16 + o % 16;
        for (int64_t p = 0; p < cells_; ++p) y[o * cells_ + p] = lane[p * 16];
      }
    }
    return absl::OkStatus();
  }

 private:
  const float* x_;
  const float* weight_;
  const float* bias_;  // or null
  float* y_;
  bool y_plain_;
  int64_t batch_, image_, cells_;  // y's images, floats per image, cells per channel
  int threads_;
  DirectConvForward conv_;
  int64_t scratch_size_;  // per thread: the padded image, and one blocked image if y is plain
  Tensor packed_;         // the weight, (O/16, KH·KW, 16)
  Tensor scratch_;
};

absl::StatusOr<std::unique_ptr<Kernel>> MakeConv2dKernel(const KernelContext& ctx) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    const bool bias = ctx.inputs.size() == 3;
    const ConvGeometry g = ReadGeometry(ctx.op);
    if (UseDirectConvForward(ctx.inputs[0].shape(), ctx.inputs[1].shape(), g.groups)) {
      return std::make_unique<DirectConvForwardKernel>(ctx);
    }
    const DnnlConv conv(ctx.inputs[0].shape(), ctx.inputs[1].shape(), ctx.outputs[0].shape(), g);
    auto make_pd = [&](int64_t n) {
      return Conv2dForwardPd(ctx.op, ctx.inputs[0].shape(), ctx.inputs[1].shape(),
                             ctx.outputs[0].shape(), bias, ctx.env.is_train, n);
    };
    std::vector<DnnlKernel::PrimitiveArg> bias_arg;
    if (bias) {
      bias_arg.push_back({DNNL_ARG_BIAS, Chunking::kWhole,
                          [&](const auto&) { return DnnlMemory(ctx.inputs[2], tag::x); }});
    }
    return ConvKernel<dnnl::convolution_forward>(ctx, conv, DNNL_ARG_SRC, DNNL_ARG_DST, make_pd,
                                                 bias_arg);
  });
}

// ---- conv2d_grad_data: dy (N, O, OH, OW), weight (O, C/groups, KH, KW) → dx = x_shape ----

absl::StatusOr<std::vector<BlobDesc>> GradDataShape(const ShapeContext& ctx) {
  const ConvGeometry g = ReadGeometry(ctx.op);
  if (auto s = ValidateGeometry(ctx, g); !s.ok()) return s;
  const Shape x(AttrInts(ctx.op, "x_shape"));
  absl::StatusOr<Shape> y = ConvOutputShape(ctx, x, ctx.inputs[1].shape, g);
  if (!y.ok()) return y.status();
  if (*y != ctx.inputs[0].shape) {
    return absl::InvalidArgumentError(absl::StrCat(
        ctx.Where(), "input 'dy' ", ctx.inputs[0].shape.ToString(), " is not the output shape ",
        y->ToString(), " of x ", x.ToString(), " and weight ", ctx.inputs[1].shape.ToString()));
  }
  return std::vector<BlobDesc>{{x, DataType::kFloat}};
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeGradDataKernel(const KernelContext& ctx) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    const ConvGeometry g = ReadGeometry(ctx.op);
    const Shape& dx = ctx.outputs[0].shape();
    const Shape& dy = ctx.inputs[0].shape();
    auto make_pd = [&](int64_t n) {
      const DnnlConv conv(WithBatch(dx, n), ctx.inputs[1].shape(), WithBatch(dy, n), g);
      dnnl::convolution_forward::primitive_desc hint(
          conv.Forward(prop_kind::forward_training, false), CpuEngine());
      return dnnl::convolution_backward_data::primitive_desc(
          {algorithm::convolution_direct, conv.Any(conv.src), conv.Any(conv.weights),
           conv.Any(conv.dst), conv.strides, conv.dilates, conv.pad_l, conv.pad_r},
          UserScratchpad(), CpuEngine(), hint);
    };
    return ConvKernel<dnnl::convolution_backward_data>(
        ctx, DnnlConv(dx, ctx.inputs[1].shape(), dy, g), DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC,
        make_pd);
  });
}

// ---- conv2d_grad_weight: dy (N, O, OH, OW), x (N, C, H, W) → dweight = weight_shape,
//      dbias (O,) ----

absl::StatusOr<std::vector<BlobDesc>> GradWeightShape(const ShapeContext& ctx) {
  const ConvGeometry g = ReadGeometry(ctx.op);
  if (auto s = ValidateGeometry(ctx, g); !s.ok()) return s;
  const Shape w(AttrInts(ctx.op, "weight_shape"));
  absl::StatusOr<Shape> y = ConvOutputShape(ctx, ctx.inputs[1].shape, w, g);
  if (!y.ok()) return y.status();
  if (*y != ctx.inputs[0].shape) {
    return absl::InvalidArgumentError(absl::StrCat(
        ctx.Where(), "input 'dy' ", ctx.inputs[0].shape.ToString(), " is not the output shape ",
        y->ToString(), " of x ", ctx.inputs[1].shape.ToString(), " and weight ", w.ToString()));
  }
  return std::vector<BlobDesc>{{w, DataType::kFloat}, {Shape({w[0]}), DataType::kFloat}};
}

// flowrt's direct kernel instead of oneDNN's backward-weights primitive where
// UseDirectGradWeight (ops/conv2d_grad_weight_direct_kernel.h) says so, by measurement.
class DirectGradWeightKernel : public Kernel {
 public:
  DirectGradWeightKernel(const KernelContext& ctx, const ConvGeometry& g)
      : x_(ctx.in<float>(1)),
        dy_(ctx.in<float>(0)),
        dweight_(ctx.out<float>(0)),
        dbias_(ctx.out<float>(1)),
        dy_blocked_(ctx.input_layouts[0] == Layout::kBlocked),
        direct_(Geometry(ctx, g), BlockedChannels(), ctx.input_layouts[1] == Layout::kBlocked,
                omp_get_max_threads()) {}
  absl::Status Run() override {
    direct_.Run(x_, dy_, dy_blocked_, dweight_, dbias_);
    return absl::OkStatus();
  }

 private:
  static GradWeightGeometry Geometry(const KernelContext& ctx, const ConvGeometry& g) {
    const Shape& x = ctx.inputs[1].shape();
    const Shape& dy = ctx.inputs[0].shape();
    const Shape& w = ctx.outputs[0].shape();
    return {x[0],
            x[1],
            x[2],
            x[3],
            dy[1],
            dy[2],
            dy[3],
            w[2],
            w[3],
            {g.strides[0], g.strides[1]},
            {g.dilations[0], g.dilations[1]},
            {g.pad_before[0], g.pad_before[1]}};
  }
  const float* x_;
  const float* dy_;
  float* dweight_;
  float* dbias_;
  bool dy_blocked_;
  DirectGradWeight direct_;
};

absl::StatusOr<std::unique_ptr<Kernel>> MakeGradWeightKernel(const KernelContext& ctx) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    const ConvGeometry g = ReadGeometry(ctx.op);
    if (UseDirectGradWeight(ctx.inputs[1].shape(), ctx.inputs[0].shape(),
                            ctx.input_layouts[1] == Layout::kBlocked, g.groups)) {
      return std::make_unique<DirectGradWeightKernel>(ctx, g);
    }
    const Shape& x = ctx.inputs[1].shape();
    const Shape& dy = ctx.inputs[0].shape();
    const DnnlConv conv(x, ctx.outputs[0].shape(), dy, g);
    auto make_pd = [&](int64_t n) {
      const DnnlConv part(WithBatch(x, n), ctx.outputs[0].shape(), WithBatch(dy, n), g);
      dnnl::convolution_forward::primitive_desc hint(
          part.Forward(prop_kind::forward_training, true), CpuEngine());
      return dnnl::convolution_backward_weights::primitive_desc(
          {algorithm::convolution_direct, part.Any(part.src), part.Any(part.weights),
           part.Plain(part.bias), part.Any(part.dst), part.strides, part.dilates, part.pad_l,
           part.pad_r},
          UserScratchpad(), CpuEngine(), hint);
    };
    auto kernel = std::make_unique<DnnlKernel>();
    DnnlKernel* k = kernel.get();
    auto input = [&ctx, k](int i) {
      return [&ctx, k, i](const dnnl::memory::desc& wanted) {
        return k->Input(ctx.inputs[i], DnnlDesc(ctx.inputs[i].shape(), ctx.input_layouts[i]),
                        wanted);
      };
    };
    // In BatchChunks at any thread count, the weight gradient being the chunks' gradients summed
    // in chunk order: the same bits at 1, 2 or 3 threads, where oneDNN's own threading sums over
    // the images in an order that depends on the thread count (on AVX-512). It costs ~1% of
    // LeNet's step at 1 thread (conv2: 16 chunks of 7 images, each a 205 KB gradient to add up);
    // beside a busy loop the threads share the chunks out as they come free. Weights over 4 MB
    // (DnnlKernel::kMaxSummedBytes / 16) run as one primitive instead.
    const std::vector<DnnlKernel::PrimitiveArg> args = {
        {DNNL_ARG_DIFF_DST, Chunking::kBatched, input(0)},
        {DNNL_ARG_SRC, Chunking::kBatched, input(1)},
        {DNNL_ARG_DIFF_WEIGHTS, Chunking::kSummed,
         [&](const auto& wanted) {
           return k->Output(ctx.outputs[0], conv.PlainWeights(), wanted);
         }},
        {DNNL_ARG_DIFF_BIAS, Chunking::kSummed, [&](const auto& wanted) {
           return k->Output(ctx.outputs[1], conv.Plain(conv.bias), wanted);
         }}};
    const int64_t batch = x[0];
    if (batch < 2 || !kernel->AddBatchChunks<dnnl::convolution_backward_weights>(
                         batch, omp_get_max_threads(), make_pd, args)) {
      kernel->AddPrimitive<dnnl::convolution_backward_weights>(make_pd(batch), args);
    }
    return kernel;
  });
}

REGISTER_OP("conv2d")
    .Input("x")
    .Input("weight")
    .OptionalInput("bias")
    .Output("y")
    .ShapeFn(Conv2dShape)
    .BlockedLayout(/*x*/ {0}, /*y*/ {0})
    .GradFn(Conv2dGrad)
    .KernelFn(MakeConv2dKernel);
REGISTER_OP("conv2d_grad_data")
    .Input("dy")
    .Input("weight")
    .Output("dx")
    .ShapeFn(GradDataShape)
    .BlockedLayout(/*dy*/ {0}, /*dx*/ {0})
    .NoGradient()
    .KernelFn(MakeGradDataKernel);
REGISTER_OP("conv2d_grad_weight")
    .Input("dy")
    .Input("x")
    .Output("dweight")
    .Output("dbias")
    .ShapeFn(GradWeightShape)
    .BlockedLayout(/*dy, x*/ {0, 1}, {})
    .NoGradient()
    .KernelFn(MakeGradWeightKernel);

}  // namespace

ConvForwardGeometry DirectForwardGeometry(const flowrt::OpConf& op, const Shape& x, const Shape& w,
                                          const Shape& y) {
  const ConvGeometry g = ReadGeometry(op);
  return {x[2],
          x[3],
          y[1],
          y[2],
          y[3],
          w[2],
          w[3],
          {g.strides[0], g.strides[1]},
          {g.dilations[0], g.dilations[1]},
          {g.pad_before[0], g.pad_before[1]},
          AttrString(op, "activation") == "relu"};
}

dnnl::convolution_forward::primitive_desc Conv2dForwardPd(const flowrt::OpConf& op, const Shape& x,
                                                          const Shape& w, const Shape& y, bool bias,
                                                          bool is_train, int64_t n) {
  dnnl::primitive_attr attr = UserScratchpad();
  if (AttrString(op, "activation") == "relu") {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  // No workspace is kept for backward, so predict jobs may use the inference variant.
  const prop_kind prop = is_train ? prop_kind::forward_training : prop_kind::forward_inference;
  const DnnlConv part(WithBatch(x, n), w, WithBatch(y, n), ReadGeometry(op));
  return dnnl::convolution_forward::primitive_desc(part.Forward(prop, bias), attr, CpuEngine());
}

}  // namespace flow
