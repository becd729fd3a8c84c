// argmax over the last axis: out[...] = the index of the largest x[..., c], as int32 (OneFlow's
// flow.math.argmax; accuracy in eval jobs).
//   x: (..., C) float32, C ≥ 1 → out: (...) int32; (N, C) → (N,).
// Ties pick the first (lowest) index, as NumPy and PyTorch. A NaN never wins (comparisons with it
// are false) unless it is the first element. Not differentiable.
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "framework/op_registry.h"
#include "runtime/status.h"

namespace flow {
namespace {

absl::StatusOr<std::vector<BlobDesc>> ArgmaxShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, 0));
  const Shape& x = ctx.inputs[0].shape;
  if (x.rank() == 0 || x[x.rank() - 1] == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "input 'x' ", x.ToString(),
                     " has no last axis to take the argmax over (needs rank ≥ 1 and C ≥ 1)"));
  }
  if (x[x.rank() - 1] > INT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "input 'x' ", x.ToString(),
                                                   " has more classes than an int32 index holds"));
  }
  std::vector<int64_t> dims(x.dims().begin(), x.dims().end() - 1);
  return std::vector<BlobDesc>{{Shape(dims), DataType::kInt32}};
}

class ArgmaxKernel : public Kernel {
 public:
  explicit ArgmaxKernel(const KernelContext& ctx)
      : x_(ctx.in<float>(0)),
        out_(ctx.out<int32_t>(0)),
        rows_(ctx.outputs[0].num_elements()),
        classes_(ctx.inputs[0].shape()[ctx.inputs[0].shape().rank() - 1]) {}

  absl::Status Run() override {
#pragma omp parallel for if (rows_ * classes_ >= (1 << 15))
    for (int64_t r = 0; r < rows_; ++r) {
      const float* row = x_ + r * classes_;
      int64_t best = 0;
      for (int64_t c = 1; c < classes_; ++c) {
        if (row[c] > row[best]) best = c;
      }
      out_[r] = static_cast<int32_t>(best);
    }
    return absl::OkStatus();
  }

 private:
  const float* x_;
  int32_t* out_;
  int64_t rows_, classes_;
};

REGISTER_OP("argmax")
    .Input("x")
    .Output("out")
    .ShapeFn(ArgmaxShape)
    .NoGradient()
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return std::make_unique<ArgmaxKernel>(ctx);
    });

}  // namespace
}  // namespace flow
