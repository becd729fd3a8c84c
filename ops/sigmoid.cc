// sigmoid: y = 1 / (1 + exp(−x)), float32, any shape.
// Gradient: sigmoid_grad(dy, y) = dy · y · (1 − y) (reads y, so x need not stay alive).
// Kernels: oneDNN eltwise (logistic_use_dst_for_bwd) over the flat tensor. Its JIT code beat a
// `#pragma omp simd` loop of std::exp by ~7× on (100, 512), single-threaded.
#include "framework/grad_context.h"
#include "ops/dnnl_eltwise.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

constexpr auto kAlgorithm = dnnl::algorithm::eltwise_logistic_use_dst_for_bwd;

void SigmoidGrad(GradContext& ctx) {
  ctx.SetInputGrad(0,
                   ctx.Op("sigmoid_grad").Input(ctx.output_grad(0)).Input(ctx.output(0)).Build1());
}

REGISTER_OP("sigmoid")
    .Input("x")
    .Output("y")
    .ShapeFn(SameShapeFloatInputs)
    .GradFn(SigmoidGrad)
    .KernelFn([](const KernelContext& ctx) { return MakeDnnlEltwiseForward(ctx, kAlgorithm); });
REGISTER_OP("sigmoid_grad")
    .Input("dy")
    .Input("y")
    .Output("dx")
    .ShapeFn(SameShapeFloatInputs)
    .NoGradient()
    .KernelFn([](const KernelContext& ctx) { return MakeDnnlEltwiseBackward(ctx, kAlgorithm); });

}  // namespace
}  // namespace flow
