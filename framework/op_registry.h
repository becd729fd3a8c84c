// The op registry: every op type declares, in its own file, its inputs and outputs, a shape
// function, a gradient rule (or an explicit "none") and a CPU kernel factory. The job builder,
// autodiff and the executor look ops up here, so a new op edits no central switch.
//
//   REGISTER_OP("relu")                  // ops/relu.cc
//       .Input("x")
//       .Output("y")
//       .ShapeFn(SameShapeFloatInputs)    // ops/elementwise.h
//       .LayoutAgnostic()
//       .GradFn(ReluGrad)
//       .KernelFn(MakeReluKernel);
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/job.pb.h"
#include "runtime/kernel_def.h"

namespace flow {

class GradContext;  // framework/grad_context.h

using GradFn = std::function<void(GradContext&)>;

// The executor's part (shape function, kernel factory, role, buffer and layout flags) is the
// KernelDef base (runtime/kernel_def.h); the rest is what the graph side reads.
struct OpSchema : KernelDef {
  std::string type;
  std::vector<std::string> inputs;  // names, for messages; the last `optional_inputs` may be absent
  int optional_inputs = 0;
  // The last input repeats: it may be given one or more times (clip_by_global_norm_coefficient
  // reads every gradient). Never together with optional inputs.
  bool variadic_input = false;
  std::vector<std::string> outputs;
  GradFn grad_fn;            // null with no_gradient = true: the op is not differentiable
  bool no_gradient = false;  // explicit "none" (argmax, update ops, integer ops)
  // Ops that write their first input in place (optimizer updates, step counter). They have no
  // outputs and are never pruned.
  bool mutates_input = false;
  // Part of the optimizer's step rather than the model: the updates, the learning-rate schedule,
  // the clip coefficient, the step counter. Tools (flowrt graph, flowrt time) ask this instead
  // of keeping lists of op types.
  bool optimizer = false;

  // The declared name of the op's input i (for messages): the repeated name past the last one.
  const std::string& InputName(int i) const;
};

class OpRegistration {
 public:
  explicit OpRegistration(absl::string_view type);
  OpRegistration& Input(absl::string_view name);
  OpRegistration& OptionalInput(absl::string_view name);
  // The last input, given one or more times (the op then takes any number ≥ its inputs).
  OpRegistration& VariadicInput(absl::string_view name);
  OpRegistration& Output(absl::string_view name);
  OpRegistration& ShapeFn(ShapeFn fn);
  OpRegistration& GradFn(GradFn fn);
  OpRegistration& NoGradient();
  OpRegistration& KernelFn(KernelFn fn);
  OpRegistration& AliasesInput();
  OpRegistration& MutatesInput();
  OpRegistration& Optimizer();  // OpSchema::optimizer
  OpRegistration& BlockedLayout(std::vector<int> inputs, std::vector<int> outputs);
  OpRegistration& LayoutAgnostic();
  // KernelDef::role: the executor feeds it (placeholder) or binds it to session storage.
  OpRegistration& Placeholder();
  OpRegistration& Variable();

 private:
  OpSchema* schema_;
};

// Null if no op of that type is registered.
const OpSchema* FindOp(absl::string_view type);
// Every registered op, sorted by type (for the registry sweep test and `flowrt graph`).
std::vector<const OpSchema*> AllOps();
// FindOp as the executor's lookup (runtime/kernel_def.h).
const KernelDef* FindKernelDef(const std::string& type);

// Checks input i has dtype kFloat (the only compute dtype of the CPU kernels).
absl::Status ExpectFloat(const ShapeContext& ctx, int i);

#define FLOWRT_REGISTER_CONCAT_INNER(a, b) a##b
#define FLOWRT_REGISTER_CONCAT(a, b) FLOWRT_REGISTER_CONCAT_INNER(a, b)
// A static registration object per op (a copy of the builder chain's result, holding only the
// schema pointer), so nothing is heap-allocated outside the registry itself.
#define REGISTER_OP(type)                                                \
  [[maybe_unused]] static ::flow::OpRegistration FLOWRT_REGISTER_CONCAT( \
      flowrt_op_registration_, __COUNTER__) = ::flow::OpRegistration(type)

}  // namespace flow
