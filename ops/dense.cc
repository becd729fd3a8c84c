// dense: y = activation(x · Wᵀ + b), OneFlow's flow.layers.dense core, on oneDNN inner product.
//   x: (N, in) f32, weight: (units, in) f32 (OneFlow/PyTorch layout), bias: (units,) optional
//   attr activation: "" or "relu" (fused as a oneDNN post-op) → y: (N, units)
// Gradient: g = relu_grad(dy, y) if fused relu, else dy;
//   dense_grad_input(g, weight) → dx (N, in);  dense_grad_weight(g, x) → dweight, dbias.
#include "absl/strings/str_cat.h"
#include "graph/autodiff.h"
#include "ops/attr.h"
#include "ops/dnnl_kernel.h"
#include "ops/op_registry.h"

namespace flow {
namespace {

using dnnl::algorithm;
using dnnl::prop_kind;
using tag = dnnl::memory::format_tag;

absl::StatusOr<std::vector<BlobDesc>> DenseShape(const ShapeContext& ctx) {
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    if (auto s = ExpectFloat(ctx, static_cast<int>(i)); !s.ok()) return s;
  }
  const Shape& x = ctx.inputs[0].shape;
  const Shape& w = ctx.inputs[1].shape;
  if (x.rank() != 2 || w.rank() != 2 || x[1] != w[1]) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "input 'x' ", x.ToString(),
                                                   " does not fit input 'weight' ", w.ToString(),
                                                   " (expected x (N, in) and weight (units, in))"));
  }
  if (ctx.inputs.size() == 3 && ctx.inputs[2].shape != Shape({w[0]})) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "input 'bias' ",
                                                   ctx.inputs[2].shape.ToString(),
                                                   " does not fit weight ", w.ToString()));
  }
  const std::string& activation = AttrString(ctx.op, "activation");
  if (activation != "" && activation != "relu") {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "unsupported fused activation '", activation, "'"));
  }
  return std::vector<BlobDesc>{{Shape({x[0], w[0]}), DataType::kFloat}};
}

void DenseGrad(GradContext& ctx) {
  Blob dy = ctx.output_grad(0);
  if (AttrString(ctx.op(), "activation") == "relu") {
    dy = ctx.Op("relu_grad").Input(dy).Input(ctx.output(0)).Build1();
  }
  if (ctx.needs_input_grad(0)) {
    ctx.SetInputGrad(0, ctx.Op("dense_grad_input").Input(dy).Input(ctx.input(1)).Build1());
  }
  const bool has_bias = ctx.op().input_size() == 3;
  if (ctx.needs_input_grad(1) || (has_bias && ctx.needs_input_grad(2))) {
    std::vector<Blob> grads = ctx.Op("dense_grad_weight").Input(dy).Input(ctx.input(0)).Build();
    ctx.SetInputGrad(1, grads[0]);
    if (has_bias) ctx.SetInputGrad(2, grads[1]);
  }
}

dnnl::inner_product_forward::primitive_desc ForwardDesc(const Shape& x, const Shape& w, bool bias,
                                                        bool relu) {
  const auto src = DnnlDesc(x, tag::nc);
  const auto weights = DnnlDesc(w, tag::oi);
  const auto dst = DnnlDesc(Shape({x[0], w[0]}), tag::nc);
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  if (bias) {
    const auto b = DnnlDesc(Shape({w[0]}), tag::x);
    return {{prop_kind::forward_training, src, weights, b, dst}, attr, CpuEngine()};
  }
  return {{prop_kind::forward_training, src, weights, dst}, attr, CpuEngine()};
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeDenseKernel(const KernelContext& ctx) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    const bool bias = ctx.inputs.size() == 3;
    auto pd = ForwardDesc(ctx.inputs[0].shape(), ctx.inputs[1].shape(), bias,
                          AttrString(ctx.op, "activation") == "relu");
    std::vector<std::pair<int, dnnl::memory>> args = {
        {DNNL_ARG_SRC, DnnlMemory(ctx.inputs[0], tag::nc)},
        {DNNL_ARG_WEIGHTS, DnnlMemory(ctx.inputs[1], tag::oi)},
        {DNNL_ARG_DST, DnnlMemory(ctx.outputs[0], tag::nc)}};
    if (bias) args.push_back({DNNL_ARG_BIAS, DnnlMemory(ctx.inputs[2], tag::x)});
    auto kernel = std::make_unique<DnnlKernel>();
    kernel->Add(dnnl::inner_product_forward(pd), std::move(args));
    return kernel;
  });
}

// dense_grad_input: dy (N, units), weight (units, in) → dx (N, in) = dy · W.
absl::StatusOr<std::vector<BlobDesc>> GradInputShape(const ShapeContext& ctx) {
  const Shape& dy = ctx.inputs[0].shape;
  const Shape& w = ctx.inputs[1].shape;
  return std::vector<BlobDesc>{{Shape({dy[0], w[1]}), DataType::kFloat}};
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeGradInputKernel(const KernelContext& ctx) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    const Shape& w = ctx.inputs[1].shape();
    const Shape& dx = ctx.outputs[0].shape();
    auto hint = ForwardDesc(dx, w, false, false);
    dnnl::inner_product_backward_data::primitive_desc pd(
        {DnnlDesc(dx, tag::nc), DnnlDesc(w, tag::oi), DnnlDesc(ctx.inputs[0].shape(), tag::nc)},
        CpuEngine(), hint);
    auto kernel = std::make_unique<DnnlKernel>();
    kernel->Add(dnnl::inner_product_backward_data(pd),
                {{DNNL_ARG_DIFF_DST, DnnlMemory(ctx.inputs[0], tag::nc)},
                 {DNNL_ARG_WEIGHTS, DnnlMemory(ctx.inputs[1], tag::oi)},
                 {DNNL_ARG_DIFF_SRC, DnnlMemory(ctx.outputs[0], tag::nc)}});
    return kernel;
  });
}

// dense_grad_weight: dy (N, units), x (N, in) → dweight (units, in) = dyᵀ · x, dbias (units,).
absl::StatusOr<std::vector<BlobDesc>> GradWeightShape(const ShapeContext& ctx) {
  const Shape& dy = ctx.inputs[0].shape;
  const Shape& x = ctx.inputs[1].shape;
  return std::vector<BlobDesc>{{Shape({dy[1], x[1]}), DataType::kFloat},
                               {Shape({dy[1]}), DataType::kFloat}};
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeGradWeightKernel(const KernelContext& ctx) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    const Shape& x = ctx.inputs[1].shape();
    const Shape& w = ctx.outputs[0].shape();
    auto hint = ForwardDesc(x, w, true, false);
    dnnl::inner_product_backward_weights::primitive_desc pd(
        {DnnlDesc(x, tag::nc), DnnlDesc(w, tag::oi), DnnlDesc(ctx.outputs[1].shape(), tag::x),
         DnnlDesc(ctx.inputs[0].shape(), tag::nc)},
        CpuEngine(), hint);
    auto kernel = std::make_unique<DnnlKernel>();
    kernel->Add(dnnl::inner_product_backward_weights(pd),
                {{DNNL_ARG_SRC, DnnlMemory(ctx.inputs[1], tag::nc)},
                 {DNNL_ARG_DIFF_DST, DnnlMemory(ctx.inputs[0], tag::nc)},
                 {DNNL_ARG_DIFF_WEIGHTS, DnnlMemory(ctx.outputs[0], tag::oi)},
                 {DNNL_ARG_DIFF_BIAS, DnnlMemory(ctx.outputs[1], tag::x)}});
    return kernel;
  });
}

REGISTER_OP("dense")
    .Input("x")
    .Input("weight")
    .OptionalInput("bias")
    .Output("y")
    .ShapeFn(DenseShape)
    .GradFn(DenseGrad)
    .KernelFn(MakeDenseKernel);
REGISTER_OP("dense_grad_input")
    .Input("dy")
    .Input("weight")
    .Output("dx")
    .ShapeFn(GradInputShape)
    .NoGradient()
    .KernelFn(MakeGradInputKernel);
REGISTER_OP("dense_grad_weight")
    .Input("dy")
    .Input("x")
    .Output("dweight")
    .Output("dbias")
    .ShapeFn(GradWeightShape)
    .NoGradient()
    .KernelFn(MakeGradWeightKernel);

}  // namespace
}  // namespace flow
