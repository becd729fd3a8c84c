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
#include "runtime/kernel.h"
#include "runtime/shape.h"

namespace flow {

class GradContext;  // graph/autodiff.h

// The static description of a blob: what shape inference computes for every output.
struct BlobDesc {
  Shape shape;
  DataType dtype = DataType::kInvalid;
  bool operator==(const BlobDesc& o) const { return shape == o.shape && dtype == o.dtype; }
};

// Shape inference input: the op (for attrs and its name in messages) and its inputs' descs.
struct ShapeContext {
  const flowrt::OpConf& op;
  std::vector<BlobDesc> inputs;
  // "op 'dense1' (dense): " — prefix for error messages.
  std::string Where() const;
};

using ShapeFn = std::function<absl::StatusOr<std::vector<BlobDesc>>(const ShapeContext&)>;
using GradFn = std::function<void(GradContext&)>;
using KernelFn = std::function<absl::StatusOr<std::unique_ptr<Kernel>>(const KernelContext&)>;

struct OpSchema {
  std::string type;
  std::vector<std::string> inputs;  // names, for messages; the last `optional_inputs` may be absent
  int optional_inputs = 0;
  // The last input repeats: it may be given one or more times (clip_by_global_norm_coefficient
  // reads every gradient). Never together with optional inputs.
  bool variadic_input = false;
  std::vector<std::string> outputs;
  ShapeFn shape_fn;
  GradFn grad_fn;            // null with no_gradient = true: the op is not differentiable
  bool no_gradient = false;  // explicit "none" (argmax, update ops, integer ops)
  KernelFn kernel_fn;        // null for ops the executor binds itself (variable, input)
  // Output 0 shares input 0's buffer (reshape, identity): no kernel runs, the planner aliases.
  bool aliases_input = false;
  // Ops that write their first input in place (optimizer updates, step counter). They have no
  // outputs and are never pruned.
  bool mutates_input = false;
  // Part of the optimizer's step rather than the model: the updates, the learning-rate schedule,
  // the clip coefficient, the step counter. Tools (flowrt graph, flowrt time) ask this instead
  // of keeping lists of op types.
  bool optimizer = false;
  // Which tensors the kernel accepts in the blocked layout (runtime/layout.h); it then reads
  // KernelContext::input_layouts/output_layouts. Everything else is always plain.
  std::vector<int> blocked_inputs, blocked_outputs;  // indices (oneDNN conv and pooling ops)
  // Elementwise over same-shape tensors: all inputs and outputs may be blocked, provided they
  // all share one layout (the kernel never needs to know which).
  bool layout_agnostic = false;

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

 private:
  OpSchema* schema_;
};

// Null if no op of that type is registered.
const OpSchema* FindOp(absl::string_view type);
// Every registered op, sorted by type (for the registry sweep test and `flowrt graph`).
std::vector<const OpSchema*> AllOps();

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
