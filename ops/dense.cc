// dense: y = activation(x · Wᵀ + b), OneFlow's flow.layers.dense core, on oneDNN's sgemm
// (the forward on AVX-512: its matmul primitive, MakeMatmulDense).
//   x: (N, in) f32, weight: (units, in) f32 (OneFlow/PyTorch layout), bias: (units,) optional
//   attr activation: "" or "relu" (fused as a oneDNN post-op) → y: (N, units)
// Gradient: g = relu_grad(dy, y) if fused relu, else dy;
//   dense_grad_input(g, weight) → dx (N, in);  dense_grad_weight(g, x) → dweight, dbias.
#include <omp.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "framework/op_registry.h"
#include "oneapi/dnnl/dnnl.h"
#include "ops/dense_grad_weight_tiles.h"
#include "ops/dnnl_kernel.h"
#include "ops/elementwise.h"
#include "ops/one_openmp_thread.h"
#include "ops/optimizer_updates.h"
#include "runtime/layout.h"
#include "runtime/status.h"

namespace flow {
namespace {

absl::StatusOr<std::vector<BlobDesc>> DenseShape(const ShapeContext& ctx) {
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    if (auto s = ExpectFloat(ctx, static_cast<int>(i)); !s.ok()) return s;
  }
  const Shape& x = ctx.inputs[0].shape;
  const Shape& w = ctx.inputs[1].shape;
  if (x.rank() != 2 || w.rank() != 2 || x[1] != w[1]) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "input 'x' ", x.ToString(),
                                                   " does not fit input 'weight' ", w.ToString(),
                                                   " (expected x (N, in) and weight (units, in))"));
  }
  if (ctx.inputs.size() == 3 && ctx.inputs[2].shape != Shape({w[0]})) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "input 'bias' ",
                                                   ctx.inputs[2].shape.ToString(),
                                                   " does not fit weight ", w.ToString()));
  }
  const std::string& activation = AttrString(ctx.op, "activation");
  if (activation != "" && activation != "relu") {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "unsupported fused activation '", activation, "'"));
  }
  return std::vector<BlobDesc>{{Shape({x[0], w[0]}), DataType::kFloat}};
}

void DenseGrad(GradContext& ctx) {
  Blob dy = ctx.output_grad(0);
  if (AttrString(ctx.op(), "activation") == "relu") {
    dy = ctx.Op("relu_grad").Input(dy).Input(ctx.output(0)).Build1();
  }
  if (ctx.needs_input_grad(0)) {
    ctx.SetInputGrad(0, ctx.Op("dense_grad_input").Input(dy).Input(ctx.input(1)).Build1());
  }
  const bool has_bias = ctx.op().input_size() == 3;
  if (ctx.needs_input_grad(1) || (has_bias && ctx.needs_input_grad(2))) {
    std::vector<Blob> grads = ctx.Op("dense_grad_weight").Input(dy).Input(ctx.input(0)).Build();
    ctx.SetInputGrad(1, grads[0]);
    if (has_bias) ctx.SetInputGrad(2, grads[1]);
  }
}

// How the three GEMMs use the threads, chosen per ISA because each was measured on its own CPU:
//  - A product under 2^22 multiply-adds (8 MFLOP, ~100 us of one core) runs on one thread: a
//    parallel region costs ~1 us when the team is spinning but ~100 us when it has to be woken
//    (runtime/openmp_wait_policy.h), and sharing out a GEMM as thin as the MLP's dense2
//    (100×512 · 512×10) made each of its three GEMMs 3-5× slower (ops/one_openmp_thread.h).
//  - AVX2 (AMD EPYC Zen 3): the result has the same bits at any thread count
//    (tests/runtime/thread_count_test.cc), and a thread that shares its core with another process
//    holds up nobody. The forward and the input gradient cut the columns of their output into
//    chunks of a multiple of kColumnAlign, which the threads take as they come free, one
//    single-threaded dnnl_sgemm each. Every output element is then summed over the whole depth in
//    sgemm's one order: chunks cut at multiples of 16 columns gave the bits of the uncut call, at
//    8 or 24 they did not, and oneDNN's own threading splits the depth at 3 threads and more,
//    changing them. The weight gradient (depth N = 100) is one call that oneDNN shares out
//    itself: any slice of it ran at ~65 GFLOP/s against ~90 for the whole, and oneDNN's partition
//    kept the bits at 2, 3 and 4 threads. MLP dense1 (in = 784, units = 512),
//    OMP_WAIT_POLICY=active: our column split 0.86-0.89 ms, oneDNN's 0.55-0.62 ms, one thread
//    1.0 ms; LeNet's (in = 3136) 2.23 and 2.29 ms.
//  - AVX-512 (AMD EPYC Zen 5, 1 MB of L2 per core): each thread takes one contiguous range of
//    columns, cut at a multiple of 16, the same at every step, in the input and weight gradients
//    (the weight gradient over its units, the rows of dW; the forward, measured this way too, is
//    now oneDNN's matmul, MakeMatmulDense). A core then keeps its slice of W in its L2 from
//    step to step, and the SGD update, which cuts the weight into equal contiguous parts
//    (ops/elementwise.cc), finds its part of dW in its own cache. The AVX2 scheme there moved the
//    slices between the cores: at 2 threads the MLP's dense1 forward took 0.32-0.33 ms against
//    0.27-0.28, and its SGD update 0.14-0.19 ms against 0.07-0.09 (no faster than one thread);
//    the MLP step 0.79-0.80 ms against 0.66-0.69, and beside a busy loop on one core 1.23 against
//    1.14-1.15 (interleaved runs). Each column is still summed over the whole depth in one
//    order, so the bits do not depend on the thread count (tests/runtime/thread_count_test.cc).
constexpr int64_t kColumnAlign = 48;  // AVX2 chunks
constexpr int64_t kMaxColumnChunks = 16;
constexpr int64_t kRangeAlign = 16;  // AVX-512 ranges: one vector of floats

bool IsSmall(int64_t macs) { return macs < (int64_t{1} << 22); }

bool DynamicChunks() { return BlockedChannels() == 8; }  // oneDNN dispatches to AVX2

// Runs body(begin, end) over [0, n), the columns of a product of `macs` multiply-adds, on the
// OpenMP threads as the comment above says, or over the whole range on one thread when there is
// one thread or the product is small.
template <typename Body>
void SplitColumns(int64_t n, int64_t macs, Body body) {
  const int threads = omp_get_max_threads();
  const int64_t units = (n + kColumnAlign - 1) / kColumnAlign;  // of kColumnAlign columns
  const int64_t chunks = std::min(units, kMaxColumnChunks);
  if (IsSmall(macs) || threads == 1 || chunks == 1) {
    WithOneOpenMpThread([&] { body(0, n); });
    return;
  }
  if (!DynamicChunks()) {
#pragma omp parallel num_threads(threads)
    {
      const int64_t t = omp_get_thread_num();
      const int64_t begin = n * t / threads / kRangeAlign * kRangeAlign;
      const int64_t end = t + 1 == threads ? n : n * (t + 1) / threads / kRangeAlign * kRangeAlign;
      if (begin < end) body(begin, end);
    }
    return;
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = std::min(n, units * c / chunks * kColumnAlign);
    const int64_t end = std::min(n, units * (c + 1) / chunks * kColumnAlign);
    if (begin < end) body(begin, end);
  }
}

// Runs `gemm`, one dnnl_sgemm over the whole product, shared out by oneDNN, or on one thread when
// the product is small.
template <typename Fn>
void RunGemm(int64_t macs, Fn gemm) {
  if (IsSmall(macs)) {
    WithOneOpenMpThread(gemm);
  } else {
    gemm();
  }
}

// Row-major C = op(A) · op(B) (+ C when accumulate), oneDNN's sgemm.
void Gemm(char transa, char transb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const dnnl_status_t status =
      dnnl_sgemm(transa, transb, m, n, k, 1.f, a, lda, b, ldb, 0.f, c, ldc);
  FLOWRT_CHECK(status == dnnl_success) << "dnnl_sgemm failed: " << static_cast<int>(status);
}

// y (N, units) = relu?(x (N, in) · Wᵀ + b), in chunks of units (columns of y): each chunk reads
// (and sgemm packs) only its slice of W, the largest operand — splitting over rows of x instead
// made every thread pack all of W (LeNet's dense1: 6.4 MB).
class DenseKernel : public Kernel {
 public:
  explicit DenseKernel(const KernelContext& ctx)
      : rows_(ctx.inputs[0].shape()[0]),
        in_(ctx.inputs[0].shape()[1]),
        units_(ctx.inputs[1].shape()[0]),
        relu_(AttrString(ctx.op, "activation") == "relu"),
        x_(ctx.in<float>(0)),
        w_(ctx.in<float>(1)),
        b_(ctx.inputs.size() == 3 ? ctx.in<float>(2) : nullptr),
        y_(ctx.out<float>(0)) {}

  absl::Status Run() override {
    SplitColumns(units_, rows_ * in_ * units_, [this](int64_t begin, int64_t end) {
      Gemm('N', 'T', rows_, end - begin, in_, x_, in_, w_ + begin * in_, in_, y_ + begin, units_);
      for (int64_t r = 0; r < rows_; ++r) {
        float* row = y_ + r * units_;
        if (b_ != nullptr) {
#pragma omp simd
          for (int64_t u = begin; u < end; ++u) row[u] += b_[u];
        }
        if (relu_) {
#pragma omp simd
          for (int64_t u = begin; u < end; ++u) row[u] = row[u] > 0.f ? row[u] : 0.f;
        }
      }
    });
    return absl::OkStatus();
  }

 private:
  int64_t rows_, in_, units_;
  bool relu_;
  const float* x_;
  const float* w_;
  const float* b_;
  float* y_;
};

// The same product as oneDNN's matmul primitive (brgemm), bias and ReLU fused as its bias and
// post-op, W read in place as the (in, units) matrix in "ba" order; oneDNN shares it out over the
// threads itself. On AVX-512 it beat sgemm at LeNet's dense1 (100×3136 · 3136×512, AMD EPYC Zen 5,
// standalone): 1.59 against 1.98 ms at 1 thread, 0.84 against 1.00 at 2; at the MLP's (in = 784)
// they tie (0.373 against 0.381). Not on AVX2, where it was not measured.
std::unique_ptr<Kernel> MakeMatmulDense(const KernelContext& ctx) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const int64_t rows = ctx.inputs[0].shape()[0], in = ctx.inputs[0].shape()[1];
  const int64_t units = ctx.inputs[1].shape()[0];
  const bool has_bias = ctx.inputs.size() == 3;
  const dnnl::memory::desc x({rows, in}, dt::f32, tag::ab);
  const dnnl::memory::desc w({in, units}, dt::f32, tag::ba);  // (units, in) row-major
  const dnnl::memory::desc b({1, units}, dt::f32, tag::ab);
  const dnnl::memory::desc y({rows, units}, dt::f32, tag::ab);
  dnnl::primitive_attr attr = UserScratchpad();
  if (AttrString(ctx.op, "activation") == "relu") {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  const dnnl::matmul::primitive_desc pd(
      has_bias ? dnnl::matmul::desc(x, w, b, y) : dnnl::matmul::desc(x, w, y), attr, CpuEngine());
  auto memory = [](const dnnl::memory::desc& desc, const float* data) {
    return dnnl::memory(desc, CpuEngine(), const_cast<float*>(data));
  };
  std::vector<std::pair<int, dnnl::memory>> args = {{DNNL_ARG_SRC, memory(x, ctx.in<float>(0))},
                                                    {DNNL_ARG_WEIGHTS, memory(w, ctx.in<float>(1))},
                                                    {DNNL_ARG_DST, memory(y, ctx.out<float>(0))}};
  if (has_bias) args.push_back({DNNL_ARG_BIAS, memory(b, ctx.in<float>(2))});
  auto kernel = std::make_unique<DnnlKernel>();
  kernel->Add(dnnl::matmul(pd), pd.scratchpad_desc(), std::move(args));
  return kernel;
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeDenseKernel(const KernelContext& ctx) {
  const int64_t macs =
      ctx.inputs[0].shape()[0] * ctx.inputs[0].shape()[1] * ctx.inputs[1].shape()[0];
  if (DynamicChunks() || IsSmall(macs)) return std::make_unique<DenseKernel>(ctx);
  return CatchDnnl([&] { return MakeMatmulDense(ctx); });
}

// dense_grad_input: dy (N, units), weight (units, in) → dx (N, in) = dy · W.
absl::StatusOr<std::vector<BlobDesc>> GradInputShape(const ShapeContext& ctx) {
  const Shape& dy = ctx.inputs[0].shape;
  const Shape& w = ctx.inputs[1].shape;
  return std::vector<BlobDesc>{{Shape({dy[0], w[1]}), DataType::kFloat}};
}

class DenseGradInputKernel : public Kernel {
 public:
  explicit DenseGradInputKernel(const KernelContext& ctx)
      : rows_(ctx.inputs[0].shape()[0]),
        units_(ctx.inputs[0].shape()[1]),
        in_(ctx.inputs[1].shape()[1]),
        dy_(ctx.in<float>(0)),
        w_(ctx.in<float>(1)),
        dx_(ctx.out<float>(0)) {}

  // In chunks of columns of dx, so each chunk reads its slice of W only.
  absl::Status Run() override {
    SplitColumns(in_, rows_ * in_ * units_, [this](int64_t begin, int64_t end) {
      Gemm('N', 'N', rows_, end - begin, units_, dy_, units_, w_ + begin, in_, dx_ + begin, in_);
    });
    return absl::OkStatus();
  }

 private:
  int64_t rows_, units_, in_;
  const float* dy_;
  const float* w_;
  float* dx_;
};

// db (units,) = the column sums of dy (N, units), row after row: dense_grad_weight's and
// dense_grad_bias's, so the two give the same bits.
void SumColumns(const float* dy, int64_t rows, int64_t units, float* db) {
  for (int64_t u = 0; u < units; ++u) db[u] = 0.f;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = dy + r * units;
    for (int64_t u = 0; u < units; ++u) db[u] += row[u];
  }
}

// dense_grad_weight: dy (N, units), x (N, in) → dweight (units, in) = dyᵀ · x, dbias (units,).
// The GEMM is one call that oneDNN shares out on AVX2, one range of units (rows of dW) per thread
// on AVX-512 (see the comment above kColumnAlign); dbias is a column sum, on the calling thread.
absl::StatusOr<std::vector<BlobDesc>> GradWeightShape(const ShapeContext& ctx) {
  const Shape& dy = ctx.inputs[0].shape;
  const Shape& x = ctx.inputs[1].shape;
  return std::vector<BlobDesc>{{Shape({dy[1], x[1]}), DataType::kFloat},
                               {Shape({dy[1]}), DataType::kFloat}};
}

// dW (units, in) = dyᵀ · x by the scheme above, dy (N, units), x (N, in): one call that oneDNN
// shares out on AVX2, one range of units (rows of dW) per thread on AVX-512.
void WeightGradGemm(int64_t rows, int64_t units, int64_t in, const float* dy, const float* x,
                    float* dw) {
  const int64_t macs = rows * in * units;
  if (DynamicChunks()) {
    RunGemm(macs, [&] { Gemm('T', 'N', units, in, rows, dy, units, x, in, dw, in); });
  } else {
    SplitColumns(units, macs, [&](int64_t begin, int64_t end) {
      Gemm('T', 'N', end - begin, in, rows, dy + begin, units, x, in, dw + begin * in, in);
    });
  }
}

class DenseGradWeightKernel : public Kernel {
 public:
  explicit DenseGradWeightKernel(const KernelContext& ctx)
      : rows_(ctx.inputs[0].shape()[0]),
        units_(ctx.inputs[0].shape()[1]),
        in_(ctx.inputs[1].shape()[1]),
        dy_(ctx.in<float>(0)),
        x_(ctx.in<float>(1)),
        dw_(ctx.out<float>(0)),
        db_(ctx.out<float>(1)) {}

  absl::Status Run() override {
    WeightGradGemm(rows_, units_, in_, dy_, x_, dw_);
    SumColumns(dy_, rows_, units_, db_);
    return absl::OkStatus();
  }

 private:
  int64_t rows_, units_, in_;
  const float* dy_;
  const float* x_;
  float* dw_;
  float* db_;
};

// dense_grad_bias: dy (N, units) → dbias (units,), dense_grad_weight's bias half; what is left of
// it when its weight gradient goes straight into the SGD update (below).
absl::StatusOr<std::vector<BlobDesc>> GradBiasShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, 0));
  const Shape& dy = ctx.inputs[0].shape;
  if (dy.rank() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "input 'dy' ", dy.ToString(), " is not (N, units)"));
  }
  return std::vector<BlobDesc>{{Shape({dy[1]}), DataType::kFloat}};
}

class DenseGradBiasKernel : public Kernel {
 public:
  explicit DenseGradBiasKernel(const KernelContext& ctx)
      : rows_(ctx.inputs[0].shape()[0]),
        units_(ctx.inputs[0].shape()[1]),
        dy_(ctx.in<float>(0)),
        db_(ctx.out<float>(0)) {}

  absl::Status Run() override {
    SumColumns(dy_, rows_, units_, db_);
    return absl::OkStatus();
  }

 private:
  int64_t rows_, units_;
  const float* dy_;
  float* db_;
};

// dense_grad_weight_sgd_update (in place): sgd_update(W, dense_grad_weight(dy, x).dweight) with
// dW never written out (graph/passes/sgd_update_into_dense_grad_weight.h):
//   W ← W − lr · RegularizedGrad(dyᵀ · x, W)     W (units, in), dy (N, units), x (N, in), lr (1,)
// attrs scale, l1, l2 as sgd_update's. No outputs. The session applies the rewrite where oneDNN
// dispatches to AVX-512 (SgdUpdateIntoDenseGradWeightPays). There, for products from 2^22
// multiply-adds and N ≤ 256, flowrt's register tiles (ops/dense_grad_weight_tiles.h) compute dW
// with sgemm's bits and update W from the registers, one range of units per thread as in
// dense_grad_weight; otherwise dW is sgemm's, in a buffer of the kernel's, then updated as
// sgd_update does. Either way the weights get the bits of the two ops it replaces
// (tests/runtime/exact_compile_options_test.cc).
absl::StatusOr<std::vector<BlobDesc>> GradWeightSgdShape(const ShapeContext& ctx) {
  for (int i = 0; i < 4; ++i) FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, i));
  const Shape& w = ctx.inputs[0].shape;
  const Shape& dy = ctx.inputs[1].shape;
  const Shape& x = ctx.inputs[2].shape;
  if (w.rank() != 2 || dy.rank() != 2 || x.rank() != 2 || dy[0] != x[0] || w[0] != dy[1] ||
      w[1] != x[1]) {
    return absl::InvalidArgumentError(absl::StrCat(
        ctx.Where(), "weight ", w.ToString(), ", dy ", dy.ToString(), " and x ", x.ToString(),
        " do not fit (expected weight (units, in), dy (N, units), x (N, in))"));
  }
  if (ctx.inputs[3].shape != Shape({1})) {
    return absl::InvalidArgumentError(absl::StrCat(
        ctx.Where(), "input 'lr' is ", ctx.inputs[3].shape.ToString(), ", expected (1)"));
  }
  return std::vector<BlobDesc>{};
}

class DenseGradWeightSgdKernel : public Kernel {
 public:
  explicit DenseGradWeightSgdKernel(const KernelContext& ctx)
      : units_(ctx.inputs[0].shape()[0]),
        in_(ctx.inputs[0].shape()[1]),
        rows_(ctx.inputs[1].shape()[0]),
        w_(const_cast<float*>(ctx.in<float>(0))),
        dy_(ctx.in<float>(1)),
        x_(ctx.in<float>(2)),
        lr_(ctx.in<float>(3)),
        scale_(AttrFloat(ctx.op, "scale")),
        l1_(AttrFloat(ctx.op, "l1")),
        l2_(AttrFloat(ctx.op, "l2")) {
    if (!DynamicChunks() && !IsSmall(rows_ * in_ * units_) && rows_ <= kTileMaxRows) {
      tiles_ = std::make_unique<DenseGradWeightTiles>(rows_, units_, in_, omp_get_max_threads());
      return;
    }
    dw_ = AllocateAligned(ctx.inputs[0].num_elements() * static_cast<int64_t>(sizeof(float)));
    update_ = std::make_unique<ParallelLoopKernel>(
        ctx.inputs[0].num_elements(), [this](int64_t begin, int64_t end) {
          SgdStep(w_, static_cast<const float*>(dw_.get()), begin, end, *lr_, scale_, l1_, l2_);
        });
  }

  absl::Status Run() override {
    if (tiles_ != nullptr) {
      const DenseGradWeightSgd sgd{.rate = *lr_, .scale = scale_, .l1 = l1_, .l2 = l2_};
      SplitColumns(units_, rows_ * in_ * units_,
                   [&](int64_t begin, int64_t end) { tiles_->Run(dy_, x_, sgd, w_, begin, end); });
      return absl::OkStatus();
    }
    WeightGradGemm(rows_, units_, in_, dy_, x_, static_cast<float*>(dw_.get()));
    return update_->Run();
  }

 private:
  // The tiles' sums are sgemm's bits only while sgemm sums the depth N in one pass: oneDNN 2.6 on
  // AVX-512 did up to N = 300 and not from 512 (it then adds partial sums), so a larger batch
  // takes the sgemm path (tests/graph/sgd_update_into_dense_grad_weight_test.cc checks 256).
  static constexpr int64_t kTileMaxRows = 256;

  int64_t units_, in_, rows_;
  float* w_;
  const float* dy_;
  const float* x_;
  const float* lr_;
  float scale_, l1_, l2_;
  std::unique_ptr<DenseGradWeightTiles> tiles_;  // AVX-512: tiles into the update
  std::shared_ptr<void> dw_;                     // otherwise: sgemm's dW (aligned as the arena),
  std::unique_ptr<ParallelLoopKernel> update_;   // then sgd_update's loop over it
};

template <typename K>
absl::StatusOr<std::unique_ptr<Kernel>> Make(const KernelContext& ctx) {
  return std::make_unique<K>(ctx);
}

REGISTER_OP("dense")
    .Input("x")
    .Input("weight")
    .OptionalInput("bias")
    .Output("y")
    .ShapeFn(DenseShape)
    .GradFn(DenseGrad)
    .KernelFn(MakeDenseKernel);
REGISTER_OP("dense_grad_input")
    .Input("dy")
    .Input("weight")
    .Output("dx")
    .ShapeFn(GradInputShape)
    .NoGradient()
    .KernelFn(Make<DenseGradInputKernel>);
REGISTER_OP("dense_grad_weight")
    .Input("dy")
    .Input("x")
    .Output("dweight")
    .Output("dbias")
    .ShapeFn(GradWeightShape)
    .NoGradient()
    .KernelFn(Make<DenseGradWeightKernel>);
REGISTER_OP("dense_grad_bias")
    .Input("dy")
    .Output("dbias")
    .ShapeFn(GradBiasShape)
    .NoGradient()
    .KernelFn(Make<DenseGradBiasKernel>);
REGISTER_OP("dense_grad_weight_sgd_update")
    .Input("weight")
    .Input("dy")
    .Input("x")
    .Input("lr")
    .ShapeFn(GradWeightSgdShape)
    .NoGradient()
    .Optimizer()
    .MutatesInput()
    .KernelFn(Make<DenseGradWeightSgdKernel>);

}  // namespace
}  // namespace flow
