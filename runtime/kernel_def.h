// What the executor knows of an op type: how to infer its outputs' shapes, how to make its
// kernel, and how its buffers are bound. The op registry (framework/op_registry.h) extends this
// with what only the graph needs (input names, gradient rule); the executor is handed a lookup
// and never compares op-type strings.
//
//   const KernelDef* def = lookup(op.type());
//   FLOWRT_ASSIGN_OR_RETURN(std::vector<BlobDesc> outs, def->shape_fn(ShapeContext{op, inputs}));
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/job.pb.h"
#include "runtime/kernel.h"
#include "runtime/shape.h"

namespace flow {

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
using KernelFn = std::function<absl::StatusOr<std::unique_ptr<Kernel>>(const KernelContext&)>;

// How the executor binds an op's output: most ops run a kernel into arena buffers; a placeholder
// is written by Run() before the first kernel; a variable is the session's persistent storage.
enum class OpRole { kKernel, kPlaceholder, kVariable };

struct KernelDef {
  OpRole role = OpRole::kKernel;
  ShapeFn shape_fn;
  KernelFn kernel_fn;  // null for the ops the executor binds itself (roles other than kKernel)
  // Output 0 shares input 0's buffer (reshape, identity): no kernel runs, the planner aliases.
  bool aliases_input = false;
  // Which tensors the kernel accepts in the blocked layout (runtime/layout.h); it then reads
  // KernelContext::input_layouts/output_layouts. Everything else is always plain.
  std::vector<int> blocked_inputs, blocked_outputs;  // indices (oneDNN conv and pooling ops)
  // Elementwise over same-shape tensors: all inputs and outputs may be blocked, provided they
  // all share one layout (the kernel never needs to know which).
  bool layout_agnostic = false;
};

// The KernelDef of an op type, or null if there is none (the graph passes FindOp).
using KernelDefLookup = std::function<const KernelDef*(const std::string& op_type)>;

}  // namespace flow
