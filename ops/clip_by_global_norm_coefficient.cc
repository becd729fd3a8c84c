// clip_by_global_norm_coefficient: the gradient factor of clip-by-global-norm (OneFlow's
// ClipGradientByGlobalNorm, PyTorch's clip_grad_norm_), for the update ops' `grad_scale` input.
//   grads: one or more f32 tensors (any shapes) → coefficient: (1,) f32
//   attrs max_norm (> 0; +inf never clips), scale (the factor the gradients are used with: the
//   loss-scale unscale, 1/loss_scale_factor)
//   total_norm = |scale| · sqrt(Σ over every grad of g²)
//   coefficient = scale · min(max_norm / (total_norm + 1e-6), 1)
// so an update that multiplies its raw gradient by the coefficient uses scale·g, clipped. A
// non-finite gradient makes the norm inf or NaN and the coefficient 0 or NaN, as in OneFlow.
// The square sum is accumulated in double over fixed blocks of 16K elements (threads take whole
// blocks; the block sums are added in order), so the result does not depend on the thread count.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/op_registry.h"

namespace flow {
namespace {

constexpr double kEpsilon = 1e-6;          // OneFlow's and PyTorch's, added to the norm
constexpr int64_t kBlock = 1 << 14;        // elements per partial sum
constexpr int64_t kParallelMin = 1 << 15;  // fewer elements run on the calling thread

absl::StatusOr<std::vector<BlobDesc>> CoefficientShape(const ShapeContext& ctx) {
  const float max_norm = AttrFloat(ctx.op, "max_norm");
  if (!(max_norm > 0.f)) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "max_norm must be > 0, got ", max_norm));
  }
  for (int i = 0; i < static_cast<int>(ctx.inputs.size()); ++i) {
    if (auto s = ExpectFloat(ctx, i); !s.ok()) return s;
  }
  return std::vector<BlobDesc>{{Shape({1}), DataType::kFloat}};
}

class CoefficientKernel : public Kernel {
 public:
  explicit CoefficientKernel(const KernelContext& ctx)
      : max_norm_(AttrFloat(ctx.op, "max_norm")),
        scale_(AttrFloat(ctx.op, "scale")),
        out_(ctx.out<float>(0)) {
    for (const Tensor& grad : ctx.inputs) {
      const float* data = grad.data<float>();
      const int64_t n = grad.num_elements();
      for (int64_t begin = 0; begin < n; begin += kBlock) {
        blocks_.push_back({data + begin, std::min(kBlock, n - begin)});
      }
      total_ += n;
    }
    partial_.resize(blocks_.size());
  }

  absl::Status Run() override {
    const int64_t num_blocks = static_cast<int64_t>(blocks_.size());
#pragma omp parallel for schedule(static) if (total_ >= kParallelMin)
    for (int64_t b = 0; b < num_blocks; ++b) {
      const float* x = blocks_[b].data;
      const int64_t n = blocks_[b].size;
      double sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
      partial_[b] = sum;
    }
    double square_sum = 0;
    for (double p : partial_) square_sum += p;
    const double total_norm = std::fabs(static_cast<double>(scale_)) * std::sqrt(square_sum);
    const double clip = std::min(static_cast<double>(max_norm_) / (total_norm + kEpsilon), 1.0);
    *out_ = static_cast<float>(scale_ * clip);
    return absl::OkStatus();
  }

 private:
  struct Block {
    const float* data;
    int64_t size;
  };
  float max_norm_, scale_;
  float* out_;
  std::vector<Block> blocks_;
  std::vector<double> partial_;  // one per block, sized at creation: Run() allocates nothing
  int64_t total_ = 0;
};

REGISTER_OP("clip_by_global_norm_coefficient")
    .VariadicInput("grad")
    .Output("coefficient")
    .ShapeFn(CoefficientShape)
    .NoGradient()
    .Optimizer()
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return std::make_unique<CoefficientKernel>(ctx);
    });

}  // namespace
}  // namespace flow
