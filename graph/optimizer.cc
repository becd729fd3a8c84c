#include "graph/optimizer.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "graph/autodiff.h"
#include "graph/get_variable.h"
#include "graph/initializer.h"
#include "graph/job_builder.h"
#include "graph/math_ops.h"

namespace flow::optimizer {

std::string TrainStepVariableName(absl::string_view job_name) {
  return absl::StrCat("System-Train-TrainStep-", job_name);
}

void SGD::minimize(const Blob& loss) {
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
  if (!(options_.loss_scale_factor > 0.f) || std::isinf(options_.loss_scale_factor)) {
    builder->Fail(absl::InvalidArgumentError(absl::StrCat(
        "SGD loss_scale_factor must be finite and > 0, got ", options_.loss_scale_factor)));
    return;
  }
  if (!(options_.grad_clipping >= 0.f)) {  // negative or NaN
    builder->Fail(absl::InvalidArgumentError(absl::StrCat(
        "SGD grad_clipping must be >= 0 (the clip norm; 0 = off), got ", options_.grad_clipping)));
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
  const float seed = options_.loss_scale_factor / static_cast<float>(loss.shape().NumElements());
  absl::StatusOr<std::vector<Blob>> grads = Gradients({loss}, vars, {fill_like(loss, seed)});
  if (!grads.ok()) return;  // recorded in the job

  Blob step = get_variable(TrainStepVariableName(builder->job_name()), {1},
                           {.dtype = DataType::kInt64,
                            .initializer = constant_initializer(0, DataType::kInt64),
                            .trainable = false});
  Blob lr = OpBuilder("piecewise_constant_lr")
                .Name("System-Train-LearningRate")
                .Input(step)
                .Attr("boundaries", scheduler_.boundaries())
                .Attr("values", scheduler_.values())
                .Build1();
  float unscale = 1.f / options_.loss_scale_factor;
  // Clipping: one coefficient over every gradient, already holding the unscale, which the
  // updates then multiply their gradient by instead of applying `unscale` themselves.
  Blob grad_scale;
  if (options_.grad_clipping > 0.f) {
    OpBuilder clip("clip_by_global_norm_coefficient");
    clip.Name("System-Train-ClipByGlobalNorm")
        .Attr("max_norm", options_.grad_clipping)
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
  for (size_t i = 0; i < vars.size(); ++i) {
    const Blob& grad = (*grads)[i];
    if (!grad.ok()) continue;  // the loss does not depend on this variable
    const std::string& name = confs[i]->name();
    const float l1 = confs[i]->regularizer().l1(), l2 = confs[i]->regularizer().l2();
    if (options_.momentum == 0.f) {
      OpBuilder update("sgd_update");
      update.Name(name + "-update").Input(vars[i]).Input(grad).Input(lr);
      if (grad_scale.ok()) update.Input(grad_scale);
      update.Attr("scale", unscale).Attr("l1", l1).Attr("l2", l2).Build();
    } else {
      Blob slot = get_variable(name + "-momentum", vars[i].shape(),
                               {.initializer = constant_initializer(0),
                                .trainable = false,
                                .random_seed = confs[i]->has_random_seed()
                                                   ? std::optional<int64_t>(confs[i]->random_seed())
                                                   : std::nullopt});
      OpBuilder update("momentum_update");
      update.Name(name + "-update").Input(vars[i]).Input(slot).Input(grad).Input(lr);
      if (grad_scale.ok()) update.Input(grad_scale);
      update.Attr("beta", options_.momentum)
          .Attr("scale", unscale)
          .Attr("l1", l1)
          .Attr("l2", l2)
          .Build();
    }
  }
  OpBuilder("train_step_increment").Name("System-Train-TrainStep-Increment").Input(step).Build();
  if (builder->status().ok()) builder->mutable_job()->set_loss(loss.name());
}

}  // namespace flow::optimizer
