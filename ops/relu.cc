// relu: y = max(x, 0), float32, any shape.
// Gradient: relu_grad(dy, y) = dy where y > 0, else 0 (reads y, so x need not stay alive).
#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

void ReluGrad(GradContext& ctx) {
  ctx.SetInputGrad(0, ctx.Op("relu_grad").Input(ctx.output_grad(0)).Input(ctx.output(0)).Build1());
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeReluKernel(const KernelContext& ctx) {
  const float* x = ctx.in<float>(0);
  float* y = ctx.out<float>(0);
  return std::make_unique<ParallelLoopKernel>(ctx.outputs[0].num_elements(),
                                              [=](int64_t begin, int64_t end) {
#pragma omp simd
                                                for (int64_t i = begin; i < end; ++i) {
                                                  y[i] = x[i] > 0.f ? x[i] : 0.f;
                                                }
                                              });
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeReluGradKernel(const KernelContext& ctx) {
  const float* dy = ctx.in<float>(0);
  const float* y = ctx.in<float>(1);
  float* dx = ctx.out<float>(0);
  return std::make_unique<ParallelLoopKernel>(ctx.outputs[0].num_elements(),
                                              [=](int64_t begin, int64_t end) {
#pragma omp simd
                                                for (int64_t i = begin; i < end; ++i) {
                                                  dx[i] = y[i] > 0.f ? dy[i] : 0.f;
                                                }
                                              });
}

REGISTER_OP("relu")
    .Input("x")
    .Output("y")
    .ShapeFn(SameShapeFloatInputs)
    .LayoutAgnostic()
    .GradFn(ReluGrad)
    .KernelFn(MakeReluKernel);
REGISTER_OP("relu_grad")
    .Input("dy")
    .Input("y")
    .Output("dx")
    .ShapeFn(SameShapeFloatInputs)
    .LayoutAgnostic()
    .NoGradient()
    .KernelFn(MakeReluGradKernel);

}  // namespace
}  // namespace flow
