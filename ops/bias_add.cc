// bias_add: y = x + b along attr axis (OneFlow's flow.nn.bias_add), float32.
//   x: (N, C, ...) with axis 1 (NCHW; OneFlow's default), or (N, ..., C) with axis −1 / rank−1
//   (NHWC); b: (x.shape[axis],) → y: x's shape.
// Gradient: dx = dy; db = reduce_sum(dy, every axis but `axis`).
#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "framework/op_registry.h"
#include "runtime/status.h"

namespace flow {
namespace {

// attr axis in [0, rank), or a user error.
absl::StatusOr<int> BiasAxis(const ShapeContext& ctx) {
  const Shape& x = ctx.inputs[0].shape;
  const int64_t axis = AttrInt(ctx.op, "axis");
  if (axis < -x.rank() || axis >= x.rank()) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "axis ", axis, " is out of range for input 'x' ", x.ToString()));
  }
  return static_cast<int>(axis < 0 ? axis + x.rank() : axis);
}

int NormalizedAxis(const flowrt::OpConf& op, int rank) {
  const int64_t axis = AttrInt(op, "axis");
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

absl::StatusOr<std::vector<BlobDesc>> BiasAddShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, 0));
  FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, 1));
  FLOWRT_ASSIGN_OR_RETURN(const int axis, BiasAxis(ctx));
  const Shape& x = ctx.inputs[0].shape;
  const Shape& b = ctx.inputs[1].shape;
  if (b != Shape({x[axis]})) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "input 'b' ", b.ToString(), " does not fit input 'x' ",
                     x.ToString(), " along axis ", axis, " (expected (", x[axis], ",))"));
  }
  return std::vector<BlobDesc>{ctx.inputs[0]};
}

void BiasAddGrad(GradContext& ctx) {
  const Blob dy = ctx.output_grad(0);
  if (ctx.needs_input_grad(0)) ctx.SetInputGrad(0, dy);
  if (ctx.needs_input_grad(1)) {
    const int rank = dy.shape().rank();
    const int axis = NormalizedAxis(ctx.op(), rank);
    std::vector<int64_t> others;
    for (int i = 0; i < rank; ++i) {
      if (i != axis) others.push_back(i);
    }
    // An empty list would mean "every axis": a rank-1 x has no other axis, so db = dy.
    ctx.SetInputGrad(
        1,
        others.empty()
            ? dy
            : ctx.Op("reduce_sum").Input(dy).Attr("axes", others).Attr("keepdims", false).Build1());
  }
}

// x viewed as (outer, C, inner): y[o, c, i] = x[o, c, i] + b[c].
class BiasAddKernel : public Kernel {
 public:
  BiasAddKernel(const KernelContext& ctx, int axis)
      : x_(ctx.in<float>(0)), b_(ctx.in<float>(1)), y_(ctx.out<float>(0)) {
    const Shape& x = ctx.inputs[0].shape();
    channels_ = x[axis];
    for (int i = 0; i < axis; ++i) outer_ *= x[i];
    for (int i = axis + 1; i < x.rank(); ++i) inner_ *= x[i];
  }

  absl::Status Run() override {
    const int64_t channels = channels_, inner = inner_;
    const float* x = x_;
    const float* b = b_;
    float* y = y_;
#pragma omp parallel for if (outer_ * channels * inner >= (1 << 15))
    for (int64_t o = 0; o < outer_; ++o) {
      const int64_t row = o * channels * inner;
      if (inner == 1) {  // NC / NHWC: add the bias vector to each row
#pragma omp simd
        for (int64_t c = 0; c < channels; ++c) y[row + c] = x[row + c] + b[c];
        continue;
      }
      for (int64_t c = 0; c < channels; ++c) {
        const float bias = b[c];
        const float* src = x + row + c * inner;
        float* dst = y + row + c * inner;
#pragma omp simd
        for (int64_t i = 0; i < inner; ++i) dst[i] = src[i] + bias;
      }
    }
    return absl::OkStatus();
  }

 private:
  const float* x_;
  const float* b_;
  float* y_;
  int64_t outer_ = 1, channels_ = 1, inner_ = 1;
};

absl::StatusOr<std::unique_ptr<Kernel>> MakeBiasAddKernel(const KernelContext& ctx) {
  return std::make_unique<BiasAddKernel>(ctx, NormalizedAxis(ctx.op, ctx.inputs[0].shape().rank()));
}

REGISTER_OP("bias_add")
    .Input("x")
    .Input("b")
    .Output("y")
    .ShapeFn(BiasAddShape)
    .GradFn(BiasAddGrad)
    .KernelFn(MakeBiasAddKernel);

}  // namespace
}  // namespace flow
