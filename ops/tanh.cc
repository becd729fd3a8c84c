// tanh: y = tanh(x), float32, any shape.
// Gradient: tanh_grad(dy, y) = dy · (1 − y²) (reads y, so x need not stay alive).
// Kernels: oneDNN eltwise (tanh_use_dst_for_bwd) over the flat tensor; far faster than a loop of
// std::tanh, which GCC does not vectorize.
#include "framework/grad_context.h"
#include "ops/dnnl_eltwise.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

constexpr auto kAlgorithm = dnnl::algorithm::eltwise_tanh_use_dst_for_bwd;

void TanhGrad(GradContext& ctx) {
  ctx.SetInputGrad(0, ctx.Op("tanh_grad").Input(ctx.output_grad(0)).Input(ctx.output(0)).Build1());
}

REGISTER_OP("tanh")
    .Input("x")
    .Output("y")
    .ShapeFn(SameShapeFloatInputs)
    .GradFn(TanhGrad)
    .KernelFn([](const KernelContext& ctx) { return MakeDnnlEltwiseForward(ctx, kAlgorithm); });
REGISTER_OP("tanh_grad")
    .Input("dy")
    .Input("y")
    .Output("dx")
    .ShapeFn(SameShapeFloatInputs)
    .NoGradient()
    .KernelFn([](const KernelContext& ctx) { return MakeDnnlEltwiseBackward(ctx, kAlgorithm); });

}  // namespace
}  // namespace flow
