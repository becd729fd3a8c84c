// OneFlow's flow.optimizer: minimize(loss) appends the backward pass (autodiff) and the update
// ops to the train job being recorded, so the whole iteration runs inside the compiled plan.
//
//   flow::optimizer::SGD(flow::optimizer::PiecewiseConstantScheduler({}, {0.1}),
//                        {.momentum = 0}).minimize(loss);
//   flow::optimizer::Adam(flow::optimizer::PiecewiseConstantScheduler({}, {0.001})).minimize(loss);
//
// Semantics (OneFlow's): backward seeds every loss element and scales every gradient by
// 1/(number of loss elements) — the objective is the mean. The train job owns the variable
// "System-Train-TrainStep-<job>" (int64 (1,), completed iterations); the schedule reads its
// pre-increment value.
//
// Under `mpirun -np R` (graph/data_parallel.h) each rank's gradients are then averaged over the
// ranks (bucketed, overlapped all-reduce ops), so every rank applies the one-process update.
//
// Per iteration, in OneFlow's order: the gradients (already 1/N-scaled) are unscaled by
// 1/loss_scale_factor; with grad_clipping = c > 0 they are then clipped by their global norm
// (OneFlow's ClipGradientByGlobalNorm, PyTorch's clip_grad_norm_(params, c)):
//   total_norm = sqrt(Σ over every trainable variable's gradient of g²)
//   g ← g · min(c / (total_norm + 1e-6), 1)
// then each variable's l1/l2 regularization is added, then the optimizer's update. The norm
// is one op in the plan ("System-Train-ClipByGlobalNorm", clip_by_global_norm_coefficient) whose
// (1,) coefficient the update ops multiply their gradient by: no extra pass over the gradients.
//
// Adding an optimizer: derive from Optimizer in one file (graph/optimizer_<name>.cc, see
// optimizer_sgd.cc), override Check (its hyper-parameters), Slots (its "<var>-<suffix>" slot
// variables) and EmitUpdate (its update op, registered with .Optimizer() in ops/); everything
// else — validation of the loss and schedule, autodiff, the learning-rate op, loss scale,
// clipping, the step counter — is Optimizer::minimize's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "framework/blob.h"

namespace flowrt {
class VariableConf;
}

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

// What minimize() hands an optimizer for one trainable variable with a gradient.
struct UpdateArgs {
  const Blob& variable;              // (any) f32
  const flowrt::VariableConf& conf;  // its name, regularizer, seed
  const std::vector<Blob>& slots;    // Slots() in order, each "<var>-<suffix>", variable's shape
  const Blob& grad;                  // variable's shape, 1/N-scaled, not yet unscaled
  const Blob& lr;                    // (1,) f32, this iteration's learning rate
  const Blob& grad_scale;            // (1,) f32 clip coefficient holding the unscale, or !ok()
  float scale;                       // 1/loss_scale_factor, or 1 when grad_scale holds it
  const Blob& train_step;            // (1,) int64, pre-increment
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Records the backward pass and updates for every trainable variable `loss` depends on.
  // Errors (predict job, bad schedule, bad hyper-parameters, a second minimize) are recorded in
  // the job, naming the optimizer and the bad value.
  void minimize(const Blob& loss);

 protected:
  // `name` ("SGD", "Adam") prefixes messages.
  Optimizer(absl::string_view name, PiecewiseConstantScheduler scheduler, float loss_scale_factor,
            float grad_clipping);
  // InvalidArgument naming the optimizer and the value for a bad hyper-parameter of its own.
  virtual absl::Status Check() const { return absl::OkStatus(); }
  // Suffixes of the slot variables each trainable variable gets ("momentum" → "<var>-momentum"),
  // created zero-initialised, non-trainable, saved in snapshots.
  virtual std::vector<std::string> Slots() const { return {}; }
  // Records the update op(s) of one variable, named "<var>-update".
  virtual void EmitUpdate(const UpdateArgs& args) const = 0;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  PiecewiseConstantScheduler scheduler_;
  float loss_scale_factor_;
  float grad_clipping_;
};

struct SGDOptions {
  float momentum = 0.9f;          // OneFlow's default; the doc scripts pass 0
  float loss_scale_factor = 1.f;  // seeds scaled by it, updates unscaled by it; finite, > 0
  // Clip the gradients by their global norm to at most this (see above); 0 = off. Negative or
  // NaN: minimize() records InvalidArgument. +inf is accepted and never clips.
  float grad_clipping = 0.f;
};

// OneFlow's SGD (graph/optimizer_sgd.cc): momentum 0 → sgd_update; else momentum_update with a
// slot "<var>-momentum" per trainable variable.
class SGD : public Optimizer {
 public:
  explicit SGD(PiecewiseConstantScheduler scheduler, SGDOptions options = {});

 private:
  std::vector<std::string> Slots() const override;
  void EmitUpdate(const UpdateArgs& args) const override;
  SGDOptions options_;
};

struct AdamOptions {
  float beta1 = 0.9f;     // in [0, 1)
  float beta2 = 0.999f;   // in [0, 1)
  float epsilon = 1e-8f;  // >= 0, added to sqrt(v) (ops/adam_update.cc)
  // OneFlow's default is false (quick_start/mlp_mnist.py's Adam runs without it).
  bool do_bias_correction = false;
  float loss_scale_factor = 1.f;
  float grad_clipping = 0.f;
};

// OneFlow's Adam (graph/optimizer_adam.cc): adam_update with slots "<var>-m" and "<var>-v".
class Adam : public Optimizer {
 public:
  explicit Adam(PiecewiseConstantScheduler scheduler, AdamOptions options = {});

 private:
  absl::Status Check() const override;
  std::vector<std::string> Slots() const override;
  void EmitUpdate(const UpdateArgs& args) const override;
  AdamOptions options_;
};

// The name of a train job's step counter variable.
std::string TrainStepVariableName(absl::string_view job_name);

// The range of the gradient clip norm (grad_clipping, `flowrt train --clip_norm`): OK for >= 0
// (0 = off); else InvalidArgument "must be >= 0 (0 = off), got <norm>", for the caller to prefix.
absl::Status CheckGradClipping(float clip_norm);

}  // namespace flow::optimizer
