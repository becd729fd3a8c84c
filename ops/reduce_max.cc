// reduce_max: out = max of x over attr axes (empty = every axis), float32; attr keepdims; NaN
// propagates (OneFlow's flow.math.reduce_max, PyTorch's amax).
//   x (N, C, H, W), axes {2, 3} → out (N, C), or (N, C, 1, 1) with keepdims
// Gradient: reduce_max_grad(dy, x, out) splits each dout cell evenly among the x cells that equal
// its max (TensorFlow's, OneFlow's and PyTorch amax's rule for ties); the others get 0.
#include <cmath>
#include <limits>
#include <memory>

#include "framework/attr.h"
#include "framework/grad_context.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace flow {
namespace {

// For each of x's elements, in order, the offset of its cell in the reduced output: the
// output's C-order strides with 0 on the reduced axes, walked by an odometer (no divisions).
class ReducedOffsets {
 public:
  ReducedOffsets(const Shape& x, const std::vector<int64_t>& axes)
      : dims_(x.dims()), strides_(x.rank(), 0), index_(x.rank(), 0) {
    int64_t stride = 1;
    for (int i = x.rank() - 1; i >= 0; --i) {
      const bool reduced = std::find(axes.begin(), axes.end(), i) != axes.end();
      if (!reduced) {
        strides_[i] = stride;
        stride *= x.dim(i);
      }
    }
  }
  // The offset of the current element, then steps to the next one.
  int64_t Next() {
    const int64_t now = offset_;
    for (int i = static_cast<int>(dims_.size()) - 1; i >= 0; --i) {
      offset_ += strides_[i];
      if (++index_[i] < dims_[i]) break;
      offset_ -= strides_[i] * dims_[i];
      index_[i] = 0;
    }
    return now;
  }

 private:
  std::vector<int64_t> dims_, strides_, index_;
  int64_t offset_ = 0;
};

class ReduceMaxKernel : public Kernel {
 public:
  ReduceMaxKernel(const KernelContext& ctx, std::vector<int64_t> axes)
      : x_(ctx.in<float>(0)),
        out_(ctx.out<float>(0)),
        x_shape_(ctx.inputs[0].shape()),
        axes_(std::move(axes)),
        n_(ctx.inputs[0].num_elements()),
        cells_(ctx.outputs[0].num_elements()) {}
  absl::Status Run() override {
    std::fill(out_, out_ + cells_, -std::numeric_limits<float>::infinity());
    ReducedOffsets cell(x_shape_, axes_);
    for (int64_t i = 0; i < n_; ++i) {
      float& m = out_[cell.Next()];
      if (x_[i] > m || std::isnan(x_[i])) m = std::isnan(m) ? m : x_[i];
    }
    return absl::OkStatus();
  }

 private:
  const float* x_;
  float* out_;
  Shape x_shape_;
  std::vector<int64_t> axes_;
  int64_t n_, cells_;
};

// dx = dy / count where x equals its cell's max, else 0; count (one per cell) is this kernel's
// own scratch, sized when the plan is compiled.
class ReduceMaxGradKernel : public Kernel {
 public:
  ReduceMaxGradKernel(const KernelContext& ctx, std::vector<int64_t> axes)
      : dy_(ctx.in<float>(0)),
        x_(ctx.in<float>(1)),
        max_(ctx.in<float>(2)),
        dx_(ctx.out<float>(0)),
        x_shape_(ctx.inputs[1].shape()),
        axes_(std::move(axes)),
        n_(ctx.inputs[1].num_elements()),
        count_(ctx.inputs[2].num_elements()) {}
  absl::Status Run() override {
    std::fill(count_.begin(), count_.end(), 0.f);
    ReducedOffsets counting(x_shape_, axes_);
    for (int64_t i = 0; i < n_; ++i) {
      const int64_t c = counting.Next();
      if (x_[i] == max_[c]) count_[c] += 1.f;
    }
    ReducedOffsets cell(x_shape_, axes_);
    for (int64_t i = 0; i < n_; ++i) {
      const int64_t c = cell.Next();
      dx_[i] = x_[i] == max_[c] ? dy_[c] / count_[c] : 0.f;
    }
    return absl::OkStatus();
  }

 private:
  const float* dy_;
  const float* x_;
  const float* max_;
  float* dx_;
  Shape x_shape_;
  std::vector<int64_t> axes_;
  int64_t n_;
  std::vector<float> count_;
};

std::vector<int64_t> Axes(const flowrt::OpConf& op, int rank) {
  return NormalizedAxes(AttrInts(op, "axes"), rank);
}

void ReduceMaxGrad(GradContext& ctx) {
  ctx.SetInputGrad(0, ctx.Op("reduce_max_grad")
                          .Input(ctx.output_grad(0))
                          .Input(ctx.input(0))
                          .Input(ctx.output(0))
                          .Attr("axes", AttrInts(ctx.op(), "axes"))
                          .Build1());
}

absl::StatusOr<std::vector<BlobDesc>> ReduceMaxGradShape(const ShapeContext& ctx) {
  return std::vector<BlobDesc>{ctx.inputs[1]};
}

REGISTER_OP("reduce_max")
    .Input("x")
    .Output("out")
    .ShapeFn(ReduceShape)
    .GradFn(ReduceMaxGrad)
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return std::make_unique<ReduceMaxKernel>(ctx, Axes(ctx.op, ctx.inputs[0].shape().rank()));
    });
REGISTER_OP("reduce_max_grad")
    .Input("dy")
    .Input("x")
    .Input("max")
    .Output("dx")
    .ShapeFn(ReduceMaxGradShape)
    .NoGradient()
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return std::make_unique<ReduceMaxGradKernel>(ctx, Axes(ctx.op, ctx.inputs[1].shape().rank()));
    });

}  // namespace
}  // namespace flow
