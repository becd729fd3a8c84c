// OneFlow's SGD: momentum 0 is its naive SGD (ops/sgd_update.cc), else momentum SGD
// (ops/momentum_update.cc) with one slot "<var>-momentum" per trainable variable.
#include "framework/job_builder.h"
#include "graph/optimizer.h"
#include "proto/job.pb.h"

namespace flow::optimizer {

SGD::SGD(PiecewiseConstantScheduler scheduler, SGDOptions options)
    : Optimizer("SGD", std::move(scheduler), options.loss_scale_factor, options.grad_clipping),
      options_(options) {}

std::vector<std::string> SGD::Slots() const {
  if (options_.momentum == 0.f) return {};
  return {"momentum"};
}

void SGD::EmitUpdate(const UpdateArgs& args) const {
  const bool momentum = options_.momentum != 0.f;
  OpBuilder update(momentum ? "momentum_update" : "sgd_update");
  update.Name(args.conf.name() + "-update").Input(args.variable);
  if (momentum) update.Input(args.slots[0]);
  update.Input(args.grad).Input(args.lr);
  if (args.grad_scale.ok()) update.Input(args.grad_scale);
  if (momentum) update.Attr("beta", options_.momentum);
  update.Attr("scale", args.scale)
      .Attr("l1", args.conf.regularizer().l1())
      .Attr("l2", args.conf.regularizer().l2())
      .Build();
}

}  // namespace flow::optimizer
