// sparse_softmax_cross_entropy: OneFlow's flow.nn.sparse_softmax_cross_entropy_with_logits.
//   logits: (N, C) f32, labels: (N,) or (N, 1) int32/int64 → loss: (N,) per-example
//   loss[n] = logsumexp(logits[n]) − logits[n, label[n]]
// Computed as log-sum-exp around the row max, so extreme logits give large finite losses (no
// inf/nan); OneFlow instead clamps softmax at 1e-20 (max loss 46.05) — flowrt follows PyTorch's
// exact value. A label outside [0, C) is an error naming the op, the row and the label.
// Gradient: dlogits[n, c] = dloss[n] · (softmax(logits[n])[c] − [c == label[n]]).
#include <cmath>

#include "absl/strings/str_cat.h"
#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

absl::StatusOr<std::vector<BlobDesc>> LossShape(const ShapeContext& ctx) {
  if (auto s = ExpectFloat(ctx, 0); !s.ok()) return s;
  const Shape& logits = ctx.inputs[0].shape;
  const BlobDesc& labels = ctx.inputs[1];
  const bool labels_fit = labels.shape == Shape({logits.rank() == 2 ? logits[0] : -1}) ||
                          labels.shape == Shape({logits.rank() == 2 ? logits[0] : -1, 1});
  if (logits.rank() != 2 || !labels_fit) {
    return absl::InvalidArgumentError(absl::StrCat(
        ctx.Where(), "logits ", logits.ToString(), " and labels ", labels.shape.ToString(),
        " do not fit (expected logits (N, C) and labels (N,))"));
  }
  if (labels.dtype != DataType::kInt32 && labels.dtype != DataType::kInt64) {
    return absl::InvalidArgumentError(absl::StrCat(
        ctx.Where(), "labels must be kInt32 or kInt64, got ", DataTypeName(labels.dtype)));
  }
  return std::vector<BlobDesc>{{Shape({logits[0]}), DataType::kFloat}};
}

// Reads label n of either integer width.
struct Labels {
  const void* data;
  bool is64;
  int64_t operator[](int64_t n) const {
    return is64 ? static_cast<const int64_t*>(data)[n] : static_cast<const int32_t*>(data)[n];
  }
};

// Row max and log-sum-exp of one row of logits.
void RowStats(const float* row, int64_t classes, float* max_out, float* lse_out) {
  float max = row[0];
  for (int64_t c = 1; c < classes; ++c) max = std::max(max, row[c]);
  double sum = 0;
  for (int64_t c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(row[c] - max));
  *max_out = max;
  *lse_out = max + static_cast<float>(std::log(sum));
}

class CrossEntropyKernel : public Kernel {
 public:
  CrossEntropyKernel(const KernelContext& ctx, bool backward)
      : op_name_(ctx.op.name()),
        backward_(backward),
        rows_(ctx.inputs[backward ? 1 : 0].shape()[0]),
        classes_(ctx.inputs[backward ? 1 : 0].shape()[1]),
        dloss_(backward ? ctx.in<float>(0) : nullptr),
        logits_(ctx.in<float>(backward ? 1 : 0)),
        labels_{ctx.inputs[backward ? 2 : 1].raw_data(),
                ctx.inputs[backward ? 2 : 1].dtype() == DataType::kInt64},
        out_(ctx.out<float>(0)) {}

  absl::Status Run() override {
    for (int64_t n = 0; n < rows_; ++n) {
      const int64_t label = labels_[n];
      if (label < 0 || label >= classes_) {
        return absl::InvalidArgumentError(absl::StrCat("op '", op_name_, "': label ", label,
                                                       " of example ", n, " is outside [0, ",
                                                       classes_, ")"));
      }
    }
#pragma omp parallel for if (rows_ * classes_ > 65536)
    for (int64_t n = 0; n < rows_; ++n) {
      const float* row = logits_ + n * classes_;
      float max, lse;
      RowStats(row, classes_, &max, &lse);
      const int64_t label = labels_[n];
      if (!backward_) {
        out_[n] = lse - row[label];
        continue;
      }
      float* drow = out_ + n * classes_;
      for (int64_t c = 0; c < classes_; ++c) {
        drow[c] = dloss_[n] * (std::exp(row[c] - lse) - (c == label ? 1.f : 0.f));
      }
    }
    return absl::OkStatus();
  }

 private:
  std::string op_name_;
  bool backward_;
  int64_t rows_, classes_;
  const float* dloss_;
  const float* logits_;
  Labels labels_;
  float* out_;
};

void LossGrad(GradContext& ctx) {
  ctx.SetInputGrad(0, ctx.Op("sparse_softmax_cross_entropy_grad")
                          .Input(ctx.output_grad(0))
                          .Input(ctx.input(0))
                          .Input(ctx.input(1))
                          .Build1());
}

absl::StatusOr<std::vector<BlobDesc>> LossGradShape(const ShapeContext& ctx) {
  return std::vector<BlobDesc>{ctx.inputs[1]};
}

REGISTER_OP("sparse_softmax_cross_entropy")
    .Input("logits")
    .Input("labels")
    .Output("loss")
    .ShapeFn(LossShape)
    .GradFn(LossGrad)
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return std::make_unique<CrossEntropyKernel>(ctx, /*backward=*/false);
    });
REGISTER_OP("sparse_softmax_cross_entropy_grad")
    .Input("dloss")
    .Input("logits")
    .Input("labels")
    .Output("dlogits")
    .ShapeFn(LossGradShape)
    .NoGradient()
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return std::make_unique<CrossEntropyKernel>(ctx, /*backward=*/true);
    });

}  // namespace
}  // namespace flow
