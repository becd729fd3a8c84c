// piecewise_constant_lr: OneFlow's PiecewiseConstantScheduler as an op.
//   train_step: (1,) int64 (pre-increment, 0 on the first iteration) → lr: (1,) f32
//   lr = values[i] for the first i with step ≤ boundaries[i], else values.back().
#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/op_registry.h"

namespace flow {
namespace {

absl::StatusOr<std::vector<BlobDesc>> LrShape(const ShapeContext& ctx) {
  if (ctx.inputs[0].shape != Shape({1}) || ctx.inputs[0].dtype != DataType::kInt64) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "train_step must be kInt64 (1,)"));
  }
  if (AttrFloats(ctx.op, "values").size() != AttrInts(ctx.op, "boundaries").size() + 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "needs one more value than boundaries"));
  }
  return std::vector<BlobDesc>{{Shape({1}), DataType::kFloat}};
}

class PiecewiseConstantKernel : public Kernel {
 public:
  explicit PiecewiseConstantKernel(const KernelContext& ctx)
      : boundaries_(AttrInts(ctx.op, "boundaries")),
        values_(AttrFloats(ctx.op, "values")),
        step_(ctx.in<int64_t>(0)),
        lr_(ctx.out<float>(0)) {}

  absl::Status Run() override {
    size_t i = 0;
    while (i < boundaries_.size() && *step_ > boundaries_[i]) ++i;
    *lr_ = values_[i];
    return absl::OkStatus();
  }

 private:
  std::vector<int64_t> boundaries_;
  std::vector<float> values_;
  const int64_t* step_;
  float* lr_;
};

REGISTER_OP("piecewise_constant_lr")
    .Input("train_step")
    .Output("lr")
    .ShapeFn(LrShape)
    .NoGradient()
    .Optimizer()
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return std::make_unique<PiecewiseConstantKernel>(ctx);
    });

}  // namespace
}  // namespace flow
