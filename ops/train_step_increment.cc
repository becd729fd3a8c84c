// train_step_increment (in place): step += 1 after an iteration's updates. The last op of a
// train job, so everything in the step (lr schedule, dropout streams) saw the pre-increment value.
//   train_step: (1,) int64. No outputs.
#include "absl/strings/str_cat.h"
#include "framework/op_registry.h"

namespace flow {
namespace {

absl::StatusOr<std::vector<BlobDesc>> StepShape(const ShapeContext& ctx) {
  if (ctx.inputs[0].shape != Shape({1}) || ctx.inputs[0].dtype != DataType::kInt64) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "train_step must be kInt64 (1,)"));
  }
  return std::vector<BlobDesc>{};
}

class IncrementKernel : public Kernel {
 public:
  explicit IncrementKernel(int64_t* step) : step_(step) {}
  absl::Status Run() override {
    ++*step_;
    return absl::OkStatus();
  }

 private:
  int64_t* step_;
};

REGISTER_OP("train_step_increment")
    .Input("train_step")
    .ShapeFn(StepShape)
    .NoGradient()
    .Optimizer()
    .MutatesInput()
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return std::make_unique<IncrementKernel>(const_cast<int64_t*>(ctx.in<int64_t>(0)));
    });

}  // namespace
}  // namespace flow
