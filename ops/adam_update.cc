// adam_update (in place), OneFlow's Adam as its lazy flow.optimizer.Adam runs it
// (Oneflow-Inc/oneflow oneflow/user/kernels/model_update_kernel_util.h AdamUpdateFunctor and
// model_update_kernel_util.cpp AdamUpdateKernelUtil; defaults from oneflow/python/ops/optimizer.py
// class Adam: beta1 0.9, beta2 0.999, epsilon 1e-8, do_bias_correction False):
//   g' = g·s + l1·sign(w) + l2·w
//   m ← β1·m + (1 − β1)·g'
//   v ← β2·v + (1 − β2)·g'²
//   w ← w − lr_t · m / (√v + ε)
// lr_t = lr, or with do_bias_correction lr·√(1 − β2^t) / (1 − β1^t) for the t-th iteration
// (t = train_step + 1; OneFlow keeps β^t in extra variables, flowrt derives it from the step
// counter, so the snapshot holds only the "<var>-m" and "<var>-v" slots). ε is added to √v, not
// to the bias-corrected √v̂ as PyTorch does: with correction OneFlow's ε is PyTorch's ε·√(1−β2^t)
// (tests/data/make_adam_reference.py maps it). s = scale · grad_scale (just scale without the
// optional input).
//   weight: (any) f32, m, v, grad: same, lr: (1,) f32, train_step: (1,) int64 (pre-increment),
//   [grad_scale: (1,) f32, e.g. the clip-by-global-norm coefficient];
//   attrs beta1, beta2, epsilon, do_bias_correction, scale, l1, l2. No outputs.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "ops/elementwise.h"
#include "ops/optimizer_updates.h"

namespace flow {
namespace {

constexpr int kTrainStep = 5;

absl::StatusOr<std::vector<BlobDesc>> AdamShape(const ShapeContext& ctx) {
  for (int i = 0; i < static_cast<int>(ctx.inputs.size()); ++i) {
    const BlobDesc want = i < 4             ? BlobDesc{ctx.inputs[0].shape, DataType::kFloat}
                          : i == kTrainStep ? BlobDesc{Shape({1}), DataType::kInt64}
                                            : BlobDesc{Shape({1}), DataType::kFloat};
    if (!(ctx.inputs[i] == want)) {
      return absl::InvalidArgumentError(
          absl::StrCat(ctx.Where(), "input ", ctx.op.input(i), " is ",
                       ctx.inputs[i].shape.ToString(), " ", DataTypeName(ctx.inputs[i].dtype),
                       ", expected ", want.shape.ToString(), " ", DataTypeName(want.dtype)));
    }
  }
  return std::vector<BlobDesc>{};
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeAdamKernel(const KernelContext& ctx) {
  float* w = const_cast<float*>(ctx.in<float>(0));
  float* m = const_cast<float*>(ctx.in<float>(1));
  float* v = const_cast<float*>(ctx.in<float>(2));
  const float* g = ctx.in<float>(3);
  const float* lr = ctx.in<float>(4);
  const int64_t* step = ctx.in<int64_t>(kTrainStep);
  const float* grad_scale = ctx.inputs.size() > 6 ? ctx.in<float>(6) : nullptr;
  const float beta1 = AttrFloat(ctx.op, "beta1"), beta2 = AttrFloat(ctx.op, "beta2");
  const float epsilon = AttrFloat(ctx.op, "epsilon");
  const bool bias_correction = AttrBool(ctx.op, "do_bias_correction");
  const float scale = AttrFloat(ctx.op, "scale");
  const float l1 = AttrFloat(ctx.op, "l1"), l2 = AttrFloat(ctx.op, "l2");
  return std::make_unique<ParallelLoopKernel>(
      ctx.inputs[0].num_elements(), [=](int64_t begin, int64_t end) {
        float rate = *lr;
        if (bias_correction) {
          const double t = static_cast<double>(*step) + 1;
          rate = static_cast<float>(rate * std::sqrt(1 - std::pow(double{beta2}, t)) /
                                    (1 - std::pow(double{beta1}, t)));
        }
        const float s = GradScale(scale, grad_scale);
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) {
          const float d = RegularizedGrad(g[i], w[i], s, l1, l2);
          m[i] = beta1 * m[i] + (1 - beta1) * d;
          v[i] = beta2 * v[i] + (1 - beta2) * d * d;
          w[i] -= rate * m[i] / (std::sqrt(v[i]) + epsilon);
        }
      });
}

REGISTER_OP("adam_update")
    .Input("weight")
    .Input("m")
    .Input("v")
    .Input("grad")
    .Input("lr")
    .Input("train_step")
    .OptionalInput("grad_scale")
    .ShapeFn(AdamShape)
    .NoGradient()
    .Optimizer()
    .MutatesInput()
    .KernelFn(MakeAdamKernel);

}  // namespace
}  // namespace flow
