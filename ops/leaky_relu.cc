// leaky_relu: y = x for x > 0, else alpha · x; float32, any shape; attr alpha (float, OneFlow's
// flow.nn.leaky_relu default 0.2).
// Gradient: leaky_relu_grad(dy, x) = dy for x > 0, else alpha · dy (PyTorch's and OneFlow's choice
// at x = 0: the alpha side).
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

void LeakyReluGrad(GradContext& ctx) {
  ctx.SetInputGrad(0, ctx.Op("leaky_relu_grad")
                          .Input(ctx.output_grad(0))
                          .Input(ctx.input(0))
                          .Attr("alpha", AttrFloat(ctx.op(), "alpha"))
                          .Build1());
}

REGISTER_OP("leaky_relu")
    .Input("x")
    .Output("y")
    .ShapeFn(SameShapeFloatInputs)
    .LayoutAgnostic()
    .GradFn(LeakyReluGrad)
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      const float alpha = AttrFloat(ctx.op, "alpha");
      return MakeMapKernel(ctx, [alpha](float x) { return x > 0.f ? x : alpha * x; });
    });
REGISTER_OP("leaky_relu_grad")
    .Input("dy")
    .Input("x")
    .Output("dx")
    .ShapeFn(SameShapeFloatInputs)
    .LayoutAgnostic()
    .NoGradient()
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      const float alpha = AttrFloat(ctx.op, "alpha");
      return MakeZipKernel(ctx, [alpha](float dy, float x) { return x > 0.f ? dy : alpha * dy; });
    });

}  // namespace
}  // namespace flow
