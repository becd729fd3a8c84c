// Reverse-mode autodiff as a graph pass: it appends ordinary ops (each op's gradient rule, from
// its own file in ops/) to the job being recorded, so backward runs through the same executor,
// memory plan and kernels as forward. The pass owns fan-out accumulation, pruning of ops that do
// not lie between `xs` and `ys`, and deterministic names ("<forward op>_grad", ...).
//
//   // d(sum(loss * seed)) / d(weight), like tf.gradients:
//   std::vector<Blob> grads = Gradients({loss}, {weight}, {seed});
#pragma once

#include <vector>

#include "graph/job_builder.h"

namespace flow {

// What a gradient rule sees: the forward op, its blobs, and the gradients flowing into its
// outputs. The rule emits ops (with Op()) and reports the gradient of each input that needs one.
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
  friend class AutodiffPass;
  GradContext(JobBuilder* builder, const flowrt::OpConf& op) : builder_(builder), op_(op) {}
  JobBuilder* builder_;
  const flowrt::OpConf op_;  // a copy: the job's op list grows while the rule runs
  std::vector<Blob> output_grads_;
  std::vector<bool> needs_input_grad_;
  std::vector<Blob> input_grads_;
};

// Gradients of sum_i(sum(ys[i] * grad_ys[i])) with respect to each of `xs`, emitted into the job
// of `ys`. grad_ys empty means ones. An x that `ys` does not depend on gets a failed blob (no
// error): callers decide whether that matters. Errors (an op on the path without a gradient rule)
// are recorded in the job and returned.
absl::StatusOr<std::vector<Blob>> Gradients(const std::vector<Blob>& ys,
                                            const std::vector<Blob>& xs,
                                            const std::vector<Blob>& grad_ys = {});

}  // namespace flow
