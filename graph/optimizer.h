// OneFlow's flow.optimizer: minimize(loss) appends the backward pass (autodiff) and the update
// ops to the train job being recorded, so the whole iteration runs inside the compiled plan.
//
//   flow::optimizer::SGD(flow::optimizer::PiecewiseConstantScheduler({}, {0.1}),
//                        {.momentum = 0}).minimize(loss);
//
// Semantics (OneFlow's): backward seeds every loss element and scales every gradient by
// 1/(number of loss elements) — the objective is the mean. The train job owns the variable
// "System-Train-TrainStep-<job>" (int64 (1,), completed iterations); the schedule reads its
// pre-increment value. momentum ≠ 0 creates a slot "<var>-momentum" per trainable variable.
//
// Per iteration, in OneFlow's order: the gradients (already 1/N-scaled) are unscaled by
// 1/loss_scale_factor; with grad_clipping = c > 0 they are then clipped by their global norm
// (OneFlow's ClipGradientByGlobalNorm, PyTorch's clip_grad_norm_(params, c)):
//   total_norm = sqrt(Σ over every trainable variable's gradient of g²)
//   g ← g · min(c / (total_norm + 1e-6), 1)
// then each variable's l1/l2 regularization is added, then the SGD or momentum update. The norm
// is one op in the plan ("System-Train-ClipByGlobalNorm", clip_by_global_norm_coefficient) whose
// (1,) coefficient the update ops multiply their gradient by: no extra pass over the gradients.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/blob.h"

namespace flow::optimizer {

// lr = values[i] for the first i with step ≤ boundaries[i], else values.back().
// values must have one more element than boundaries (checked at minimize()).
class PiecewiseConstantScheduler {
 public:
  PiecewiseConstantScheduler(std::vector<int64_t> boundaries, std::vector<float> values)
      : boundaries_(std::move(boundaries)), values_(std::move(values)) {}
  const std::vector<int64_t>& boundaries() const { return boundaries_; }
  const std::vector<float>& values() const { return values_; }

 private:
  std::vector<int64_t> boundaries_;
  std::vector<float> values_;
};

struct SGDOptions {
  float momentum = 0.9f;          // OneFlow's default; the doc scripts pass 0
  float loss_scale_factor = 1.f;  // seeds scaled by it, updates unscaled by it; finite, > 0
  // Clip the gradients by their global norm to at most this (see above); 0 = off. Negative or
  // NaN: minimize() records InvalidArgument. +inf is accepted and never clips.
  float grad_clipping = 0.f;
};

class SGD {
 public:
  explicit SGD(PiecewiseConstantScheduler scheduler, SGDOptions options = {})
      : scheduler_(std::move(scheduler)), options_(options) {}
  // Records the backward pass and updates for every trainable variable `loss` depends on.
  // Errors (predict job, bad schedule, bad grad_clipping, a second minimize) are recorded in
  // the job.
  void minimize(const Blob& loss);

 private:
  PiecewiseConstantScheduler scheduler_;
  SGDOptions options_;
};

// The name of a train job's step counter variable.
std::string TrainStepVariableName(absl::string_view job_name);

}  // namespace flow::optimizer
