// Optimizer::minimize: what every optimizer shares. Each optimizer's own part (its checks, slots
// and update op) is one file: optimizer_sgd.cc, optimizer_adam.cc.
#include "graph/optimizer.h"

#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "framework/job_builder.h"
#include "graph/autodiff.h"
#include "graph/data_parallel.h"
#include "graph/get_variable.h"
#include "graph/initializer.h"
#include "graph/math_ops.h"

namespace flow::optimizer {

std::string TrainStepVariableName(absl::string_view job_name) {
  return absl::StrCat("System-Train-TrainStep-", job_name);
}

absl::Status CheckGradClipping(float clip_norm) {
  if (clip_norm >= 0.f) return absl::OkStatus();  // NaN fails
  return absl::InvalidArgumentError(absl::StrCat("must be >= 0 (0 = off), got ", clip_norm));
}

Optimizer::Optimizer(absl::string_view name, PiecewiseConstantScheduler scheduler,
                     float loss_scale_factor, float grad_clipping)
    : name_(name),
      scheduler_(std::move(scheduler)),
      loss_scale_factor_(loss_scale_factor),
      grad_clipping_(grad_clipping) {}

void Optimizer::minimize(const Blob& loss) {
  if (!loss.ok()) return;
  JobBuilder* builder = loss.builder();
  JobBuilder::Activation active(builder);
  if (!builder->is_train()) {
    builder->Fail(absl::FailedPreconditionError(
        "minimize() in a predict job; declare the job with JobType::kTrain"));
    return;
  }
  if (builder->minimized()) {
    builder->Fail(absl::FailedPreconditionError("minimize() called twice in one job"));
    return;
  }
  if (loss.dtype() != DataType::kFloat) {
    builder->Fail(absl::InvalidArgumentError(absl::StrCat(
        "minimize(): loss ", loss.name(), " must be kFloat, got ", DataTypeName(loss.dtype()))));
    return;
  }
  if (scheduler_.values().size() != scheduler_.boundaries().size() + 1) {
    builder->Fail(absl::InvalidArgumentError(
        absl::StrCat("PiecewiseConstantScheduler needs one more value than boundaries, got ",
                     scheduler_.values().size(), " values and ", scheduler_.boundaries().size(),
                     " boundaries")));
    return;
  }
  if (!(loss_scale_factor_ > 0.f) || std::isinf(loss_scale_factor_)) {
    builder->Fail(absl::InvalidArgumentError(absl::StrCat(
        name_, " loss_scale_factor must be finite and > 0, got ", loss_scale_factor_)));
    return;
  }
  if (absl::Status s = CheckGradClipping(grad_clipping_); !s.ok()) {
    builder->Fail(absl::Status(s.code(), absl::StrCat(name_, " grad_clipping ", s.message())));
    return;
  }
  if (absl::Status s = Check(); !s.ok()) {
    builder->Fail(s);
    return;
  }

  // Trainable variables, in name order (deterministic op order).
  std::vector<Blob> vars;
  std::vector<const flowrt::VariableConf*> confs;
  for (const auto& [name, blob] : builder->variables()) {
    const flowrt::VariableConf* conf = builder->FindVariableConf(name);
    if (conf->trainable() && blob.dtype() == DataType::kFloat) {
      vars.push_back(blob);
      confs.push_back(conf);
    }
  }
  // watch_diff blobs ride along: their gradients come out of the same backward pass.
  std::vector<Blob> xs = vars;
  for (const JobBuilder::Watch& w : builder->watches()) {
    if (w.diff) xs.push_back(w.blob);
  }
  const float seed = loss_scale_factor_ / static_cast<float>(loss.shape().NumElements());
  absl::StatusOr<std::vector<Blob>> grads = Gradients({loss}, xs, {fill_like(loss, seed)});
  if (!grads.ok()) return;  // recorded in the job
  size_t next_watched = vars.size();
  for (JobBuilder::Watch& w : builder->watches()) {
    if (!w.diff) continue;
    const Blob& grad = (*grads)[next_watched++];
    // The loss does not depend on it: its gradient is zero, as OneFlow reports.
    w.fetched = grad.ok() ? grad.name() : fill_like(w.blob, 0.f).name();
  }
  grads->resize(vars.size());
  // Under mpirun each rank's gradients are of the mean over its own slice of the batch; their
  // mean over the ranks is the gradient one process computes over the global batch.
  if (builder->num_ranks() > 1) AverageGradientsOverRanks(builder, &*grads, builder->num_ranks());

  Blob step = get_variable(TrainStepVariableName(builder->job_name()), {1},
                           {.dtype = DataType::kInt64,
                            .initializer = constant_initializer(0, DataType::kInt64),
                            .trainable = false});
  // The executor binds ExecEnv::train_step to this variable op ("<op name>/out" is its blob).
  if (step.ok())
    builder->mutable_job()->set_train_step(step.name().substr(0, step.name().rfind('/')));
  Blob lr = OpBuilder("piecewise_constant_lr")
                .Name("System-Train-LearningRate")
                .Input(step)
                .Attr("boundaries", scheduler_.boundaries())
                .Attr("values", scheduler_.values())
                .Build1();
  float unscale = 1.f / loss_scale_factor_;
  // Clipping: one coefficient over every gradient, already holding the unscale, which the
  // updates then multiply their gradient by instead of applying `unscale` themselves.
  Blob grad_scale;
  if (grad_clipping_ > 0.f) {
    OpBuilder clip("clip_by_global_norm_coefficient");
    clip.Name("System-Train-ClipByGlobalNorm")
        .Attr("max_norm", grad_clipping_)
        .Attr("scale", unscale);
    int num_grads = 0;
    for (const Blob& grad : *grads) {
      if (!grad.ok()) continue;
      clip.Input(grad);
      ++num_grads;
    }
    if (num_grads > 0) {
      grad_scale = clip.Build1();
      unscale = 1.f;
    }
  }
  const std::vector<std::string> slot_suffixes = Slots();
  for (size_t i = 0; i < vars.size(); ++i) {
    const Blob& grad = (*grads)[i];
    if (!grad.ok()) continue;  // the loss does not depend on this variable
    const flowrt::VariableConf& conf = *confs[i];
    // Slots copy the variable's seed (OneFlow copies its op conf); zeros use no random stream.
    std::vector<Blob> slots;
    for (const std::string& suffix : slot_suffixes) {
      slots.push_back(get_variable(
          absl::StrCat(conf.name(), "-", suffix), vars[i].shape(),
          {.initializer = constant_initializer(0),
           .trainable = false,
           .random_seed = conf.has_random_seed() ? std::optional<int64_t>(conf.random_seed())
                                                 : std::nullopt}));
    }
    EmitUpdate({.variable = vars[i],
                .conf = conf,
                .slots = slots,
                .grad = grad,
                .lr = lr,
                .grad_scale = grad_scale,
                .scale = unscale,
                .train_step = step});
  }
  OpBuilder("train_step_increment").Name("System-Train-TrainStep-Increment").Input(step).Build();
  if (builder->status().ok()) builder->mutable_job()->set_loss(loss.name());
}

}  // namespace flow::optimizer
