// fill_like: out = value everywhere, with x's shape (float32). Seeds gradients (ones_like).
//   x: (any) → out: same shape; attr value. x is read for its shape only.
#include "framework/attr.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

absl::StatusOr<std::vector<BlobDesc>> FillShape(const ShapeContext& ctx) {
  return std::vector<BlobDesc>{{ctx.inputs[0].shape, DataType::kFloat}};
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeFillKernel(const KernelContext& ctx) {
  const float value = AttrFloat(ctx.op, "value");
  float* out = ctx.out<float>(0);
  return std::make_unique<ParallelLoopKernel>(
      ctx.outputs[0].num_elements(),
      [=](int64_t begin, int64_t end) { std::fill(out + begin, out + end, value); });
}

REGISTER_OP("fill_like")
    .Input("x")
    .Output("out")
    .ShapeFn(FillShape)
    .NoGradient()
    .KernelFn(MakeFillKernel);

}  // namespace
}  // namespace flow
