// The interface of a gradient rule (OpSchema::grad_fn, written in each op's file in ops/): the
// forward op, its blobs, and the gradients flowing into its outputs. The rule emits ops (with
// Op()) into the job being recorded and reports the gradient of each input that needs one. The
// autodiff pass (graph/autodiff.h) makes the contexts and owns everything else.
//
//   void ReluGrad(GradContext& ctx) {   // ops/relu.cc
//     ctx.SetInputGrad(0, ctx.Op("relu_grad").Input(ctx.output_grad(0)).Input(ctx.output(0))
//                             .Build1());
//   }
#pragma once

#include <vector>

#include "absl/strings/string_view.h"
#include "framework/job_builder.h"
#include "proto/job.pb.h"

namespace flow {

class GradContext {
 public:
  const flowrt::OpConf& op() const { return op_; }
  Blob input(int i) const;
  Blob output(int i) const;
  // The gradient of output i; a failed (not ok) blob if no gradient reaches it.
  Blob output_grad(int i) const { return output_grads_[i]; }
  // Whether input i leads to a blob whose gradient was asked for; rules may skip the others.
  bool needs_input_grad(int i) const { return needs_input_grad_[i]; }
  void SetInputGrad(int i, const Blob& grad);
  // An op builder named after the forward op ("<op>_grad", "<op>_grad_1", ...).
  OpBuilder Op(absl::string_view type) const;

 private:
  friend class AutodiffPass;  // graph/autodiff.cc
  GradContext(JobBuilder* builder, const flowrt::OpConf& op) : builder_(builder), op_(op) {}
  JobBuilder* builder_;
  const flowrt::OpConf op_;  // a copy: the job's op list grows while the rule runs
  std::vector<Blob> output_grads_;
  std::vector<bool> needs_input_grad_;
  std::vector<Blob> input_grads_;
};

}  // namespace flow
