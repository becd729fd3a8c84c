#include "ops/dnnl_eltwise.h"

#include "ops/dnnl_kernel.h"

namespace flow {
namespace {

using tag = dnnl::memory::format_tag;

// The tensor as a flat (n,) vector.
dnnl::memory::desc FlatDesc(const Tensor& t) { return DnnlDesc(Shape({t.num_elements()}), tag::a); }
dnnl::memory FlatMemory(const Tensor& t) {
  return dnnl::memory(FlatDesc(t), CpuEngine(), const_cast<void*>(t.raw_data()));
}

dnnl::eltwise_forward::primitive_desc ForwardDesc(const Tensor& x, dnnl::algorithm algorithm) {
  return {{dnnl::prop_kind::forward_training, algorithm, FlatDesc(x)}, CpuEngine()};
}

}  // namespace

absl::StatusOr<std::unique_ptr<Kernel>> MakeDnnlEltwiseForward(const KernelContext& ctx,
                                                               dnnl::algorithm algorithm) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    auto kernel = std::make_unique<DnnlKernel>();
    kernel->Add(
        dnnl::eltwise_forward(ForwardDesc(ctx.inputs[0], algorithm)),
        {{DNNL_ARG_SRC, FlatMemory(ctx.inputs[0])}, {DNNL_ARG_DST, FlatMemory(ctx.outputs[0])}});
    return kernel;
  });
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeDnnlEltwiseBackward(const KernelContext& ctx,
                                                                dnnl::algorithm algorithm) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    const Tensor& dy = ctx.inputs[0];
    const Tensor& y = ctx.inputs[1];
    dnnl::eltwise_backward::primitive_desc pd({algorithm, FlatDesc(dy), FlatDesc(y)}, CpuEngine(),
                                              ForwardDesc(y, algorithm));
    auto kernel = std::make_unique<DnnlKernel>();
    kernel->Add(dnnl::eltwise_backward(pd), {{DNNL_ARG_DIFF_DST, FlatMemory(dy)},
                                             {DNNL_ARG_DST, FlatMemory(y)},
                                             {DNNL_ARG_DIFF_SRC, FlatMemory(ctx.outputs[0])}});
    return kernel;
  });
}

}  // namespace flow
