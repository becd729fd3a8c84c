// OneFlow's Adam (ops/adam_update.cc has the rule and its source): slots "<var>-m" (first
// moment) and "<var>-v" (second moment), zero-initialised.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "framework/job_builder.h"
#include "graph/optimizer.h"
#include "proto/job.pb.h"

namespace flow::optimizer {

Adam::Adam(PiecewiseConstantScheduler scheduler, AdamOptions options)
    : Optimizer("Adam", std::move(scheduler), options.loss_scale_factor, options.grad_clipping),
      options_(options) {}

absl::Status Adam::Check() const {
  for (const auto& [what, beta] : {std::pair{"beta1", options_.beta1}, {"beta2", options_.beta2}}) {
    if (!(beta >= 0.f && beta < 1.f)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name(), " ", what, " must be in [0, 1), got ", beta));
    }
  }
  if (!(options_.epsilon >= 0.f) || std::isinf(options_.epsilon)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name(), " epsilon must be finite and >= 0, got ", options_.epsilon));
  }
  return absl::OkStatus();
}

std::vector<std::string> Adam::Slots() const { return {"m", "v"}; }

void Adam::EmitUpdate(const UpdateArgs& args) const {
  OpBuilder update("adam_update");
  update.Name(args.conf.name() + "-update")
      .Input(args.variable)
      .Input(args.slots[0])
      .Input(args.slots[1])
      .Input(args.grad)
      .Input(args.lr)
      .Input(args.train_step);
  if (args.grad_scale.ok()) update.Input(args.grad_scale);
  update.Attr("beta1", options_.beta1)
      .Attr("beta2", options_.beta2)
      .Attr("epsilon", options_.epsilon)
      .Attr("do_bias_correction", options_.do_bias_correction)
      .Attr("scale", args.scale)
      .Attr("l1", args.conf.regularizer().l1())
      .Attr("l2", args.conf.regularizer().l2())
      .Build();
}

}  // namespace flow::optimizer
