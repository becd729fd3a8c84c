// add: out = a + b, same shape, float32. The autodiff pass sums fan-out gradients with it.
// Gradient: both inputs receive dout.
#include "graph/autodiff.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

void AddGrad(GradContext& ctx) {
  ctx.SetInputGrad(0, ctx.output_grad(0));
  ctx.SetInputGrad(1, ctx.output_grad(0));
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeAddKernel(const KernelContext& ctx) {
  const float* a = ctx.in<float>(0);
  const float* b = ctx.in<float>(1);
  float* out = ctx.out<float>(0);
  return std::make_unique<ParallelLoopKernel>(ctx.outputs[0].num_elements(),
                                              [=](int64_t begin, int64_t end) {
#pragma omp simd
                                                for (int64_t i = begin; i < end; ++i) {
                                                  out[i] = a[i] + b[i];
                                                }
                                              });
}

REGISTER_OP("add")
    .Input("a")
    .Input("b")
    .Output("out")
    .ShapeFn(SameShapeFloatInputs)
    .LayoutAgnostic()
    .GradFn(AddGrad)
    .KernelFn(MakeAddKernel);

}  // namespace
}  // namespace flow
