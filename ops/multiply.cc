// multiply: out = a · b element-wise, same shape, float32 (OneFlow's flow.math.multiply without
// broadcasting).
// Gradient: da = multiply(dout, b), db = multiply(dout, a).
#include "graph/autodiff.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

void MultiplyGrad(GradContext& ctx) {
  if (ctx.needs_input_grad(0)) {
    ctx.SetInputGrad(0, ctx.Op("multiply").Input(ctx.output_grad(0)).Input(ctx.input(1)).Build1());
  }
  if (ctx.needs_input_grad(1)) {
    ctx.SetInputGrad(1, ctx.Op("multiply").Input(ctx.output_grad(0)).Input(ctx.input(0)).Build1());
  }
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeMultiplyKernel(const KernelContext& ctx) {
  const float* a = ctx.in<float>(0);
  const float* b = ctx.in<float>(1);
  float* out = ctx.out<float>(0);
  return std::make_unique<ParallelLoopKernel>(ctx.outputs[0].num_elements(),
                                              [=](int64_t begin, int64_t end) {
#pragma omp simd
                                                for (int64_t i = begin; i < end; ++i) {
                                                  out[i] = a[i] * b[i];
                                                }
                                              });
}

REGISTER_OP("multiply")
    .Input("a")
    .Input("b")
    .Output("out")
    .ShapeFn(SameShapeFloatInputs)
    .GradFn(MultiplyGrad)
    .KernelFn(MakeMultiplyKernel);

}  // namespace
}  // namespace flow
