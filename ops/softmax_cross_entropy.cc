// softmax_cross_entropy: OneFlow's flow.nn.softmax_cross_entropy_with_logits, dense labels.
//   logits: (N, C) f32, labels: (N, C) f32 (a distribution per row) → loss: (N,) per-example
//   loss[n] = −Σ_c labels[n, c] · log_softmax(logits[n])[c]
//           = Σ_c labels[n, c] · (logsumexp(logits[n]) − logits[n, c])
// Log-sum-exp around the row max, so extreme logits give finite losses (PyTorch's
// cross_entropy with probability targets gives the same numbers).
// Gradients (softmax_cross_entropy_grad, attr wrt):
//   dlogits[n, c] = dloss[n] · (softmax[n, c] · Σ_k labels[n, k] − labels[n, c])
//   dlabels[n, c] = −dloss[n] · log_softmax[n, c]
#include <cmath>

#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

absl::StatusOr<std::vector<BlobDesc>> LossShape(const ShapeContext& ctx) {
  if (auto s = ExpectFloat(ctx, 0); !s.ok()) return s;
  if (auto s = ExpectFloat(ctx, 1); !s.ok()) return s;
  const Shape& logits = ctx.inputs[0].shape;
  const Shape& labels = ctx.inputs[1].shape;
  if (logits.rank() != 2 || labels != logits) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "logits ", logits.ToString(),
                                                   " and labels ", labels.ToString(),
                                                   " do not fit (expected both (N, C))"));
  }
  return std::vector<BlobDesc>{{Shape({logits[0]}), kFloat}};
}

// The row's log-sum-exp, accumulated in double.
float LogSumExp(const float* row, int64_t classes) {
  float max = row[0];
  for (int64_t c = 1; c < classes; ++c) max = std::max(max, row[c]);
  double sum = 0;
  for (int64_t c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(row[c] - max));
  return max + static_cast<float>(std::log(sum));
}

enum class Mode { kLoss, kGradLogits, kGradLabels };

class SoftmaxCrossEntropyKernel : public Kernel {
 public:
  // Inputs: kLoss (logits, labels); the gradients (dloss, logits, labels).
  SoftmaxCrossEntropyKernel(const KernelContext& ctx, Mode mode)
      : mode_(mode),
        first_(mode == Mode::kLoss ? 0 : 1),
        rows_(ctx.inputs[first_].shape()[0]),
        classes_(ctx.inputs[first_].shape()[1]),
        dloss_(mode == Mode::kLoss ? nullptr : ctx.in<float>(0)),
        logits_(ctx.in<float>(first_)),
        labels_(ctx.in<float>(first_ + 1)),
        out_(ctx.out<float>(0)) {}

  absl::Status Run() override {
#pragma omp parallel for if (rows_ * classes_ > 65536)
    for (int64_t n = 0; n < rows_; ++n) {
      const float* row = logits_ + n * classes_;
      const float* label = labels_ + n * classes_;
      const float lse = LogSumExp(row, classes_);
      if (mode_ == Mode::kLoss) {
        double loss = 0;
        for (int64_t c = 0; c < classes_; ++c) loss += double{label[c]} * (lse - row[c]);
        out_[n] = static_cast<float>(loss);
        continue;
      }
      float* drow = out_ + n * classes_;
      if (mode_ == Mode::kGradLabels) {
        for (int64_t c = 0; c < classes_; ++c) drow[c] = -dloss_[n] * (row[c] - lse);
        continue;
      }
      double label_sum = 0;
      for (int64_t c = 0; c < classes_; ++c) label_sum += label[c];
      for (int64_t c = 0; c < classes_; ++c) {
        drow[c] = dloss_[n] * (std::exp(row[c] - lse) * static_cast<float>(label_sum) - label[c]);
      }
    }
    return absl::OkStatus();
  }

 private:
  Mode mode_;
  int first_;
  int64_t rows_, classes_;
  const float* dloss_;
  const float* logits_;
  const float* labels_;
  float* out_;
};

void LossGrad(GradContext& ctx) {
  for (int i : {0, 1}) {
    if (!ctx.needs_input_grad(i)) continue;
    ctx.SetInputGrad(i, ctx.Op("softmax_cross_entropy_grad")
                            .Input(ctx.output_grad(0))
                            .Input(ctx.input(0))
                            .Input(ctx.input(1))
                            .Attr("wrt", i == 0 ? "logits" : "labels")
                            .Build1());
  }
}

absl::StatusOr<std::vector<BlobDesc>> GradShape(const ShapeContext& ctx) {
  return std::vector<BlobDesc>{ctx.inputs[1]};
}

REGISTER_OP("softmax_cross_entropy")
    .Input("logits")
    .Input("labels")
    .Output("loss")
    .ShapeFn(LossShape)
    .GradFn(LossGrad)
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return std::make_unique<SoftmaxCrossEntropyKernel>(ctx, Mode::kLoss);
    });
REGISTER_OP("softmax_cross_entropy_grad")
    .Input("dloss")
    .Input("logits")
    .Input("labels")
    .Output("dx")
    .ShapeFn(GradShape)
    .NoGradient()
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      const bool labels = AttrString(ctx.op, "wrt") == "labels";
      return std::make_unique<SoftmaxCrossEntropyKernel>(
          ctx, labels ? Mode::kGradLabels : Mode::kGradLogits);
    });

}  // namespace
}  // namespace flow
