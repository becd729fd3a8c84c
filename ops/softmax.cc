// softmax over the last axis: y[..., j] = exp(x[..., j]) / Σ_k exp(x[..., k]), float32, rank ≥ 1.
//   x: (..., C) → y: (..., C). oneDNN subtracts the row max first, so extreme logits stay finite.
// Gradient: softmax_grad(dy, y) = y · (dy − Σ_k dy[..., k] · y[..., k]) (reads y, not x).
// Kernels: oneDNN softmax forward/backward over the tensor viewed as (rows, C), rows = prod(...).
#include "absl/strings/str_cat.h"
#include "framework/grad_context.h"
#include "ops/dnnl_kernel.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

using tag = dnnl::memory::format_tag;

absl::StatusOr<std::vector<BlobDesc>> SoftmaxShape(const ShapeContext& ctx) {
  if (ctx.inputs[0].shape.rank() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        ctx.Where(),
        "input 'x' has shape (); softmax needs rank ≥ 1 (it runs over the last axis)"));
  }
  return SameShapeFloatInputs(ctx);
}

void SoftmaxGrad(GradContext& ctx) {
  ctx.SetInputGrad(0,
                   ctx.Op("softmax_grad").Input(ctx.output_grad(0)).Input(ctx.output(0)).Build1());
}

// The tensor as (rows, C), C = last dim.
Shape Rows(const Shape& shape) {
  const int64_t c = shape[shape.rank() - 1];
  return Shape({c == 0 ? 0 : shape.NumElements() / c, c});
}
dnnl::memory RowsMemory(const Tensor& t) {
  return dnnl::memory(DnnlDesc(Rows(t.shape()), tag::ab), CpuEngine(),
                      const_cast<void*>(t.raw_data()));
}

dnnl::softmax_forward::primitive_desc ForwardDesc(const Shape& shape) {
  return {{dnnl::prop_kind::forward_training, DnnlDesc(Rows(shape), tag::ab), /*axis=*/1},
          CpuEngine()};
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeSoftmaxKernel(const KernelContext& ctx) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    auto kernel = std::make_unique<DnnlKernel>();
    kernel->Add(
        dnnl::softmax_forward(ForwardDesc(ctx.inputs[0].shape())),
        {{DNNL_ARG_SRC, RowsMemory(ctx.inputs[0])}, {DNNL_ARG_DST, RowsMemory(ctx.outputs[0])}});
    return kernel;
  });
}

// softmax_grad: dy (..., C), y (..., C) → dx (..., C).
absl::StatusOr<std::unique_ptr<Kernel>> MakeSoftmaxGradKernel(const KernelContext& ctx) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    const Shape rows = Rows(ctx.inputs[1].shape());
    dnnl::softmax_backward::primitive_desc pd(
        {DnnlDesc(rows, tag::ab), DnnlDesc(rows, tag::ab), /*axis=*/1}, CpuEngine(),
        ForwardDesc(ctx.inputs[1].shape()));
    auto kernel = std::make_unique<DnnlKernel>();
    kernel->Add(dnnl::softmax_backward(pd), {{DNNL_ARG_DIFF_DST, RowsMemory(ctx.inputs[0])},
                                             {DNNL_ARG_DST, RowsMemory(ctx.inputs[1])},
                                             {DNNL_ARG_DIFF_SRC, RowsMemory(ctx.outputs[0])}});
    return kernel;
  });
}

REGISTER_OP("softmax")
    .Input("x")
    .Output("y")
    .ShapeFn(SoftmaxShape)
    .GradFn(SoftmaxGrad)
    .KernelFn(MakeSoftmaxKernel);
REGISTER_OP("softmax_grad")
    .Input("dy")
    .Input("y")
    .Output("dx")
    .ShapeFn(SameShapeFloatInputs)
    .NoGradient()
    .KernelFn(MakeSoftmaxGradKernel);

}  // namespace
}  // namespace flow
