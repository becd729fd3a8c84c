// What the fused ops (ops/conv2d_max_pool2d.cc, ops/max_pool2d_grad_conv2d_grad_weight.cc) share:
// how one op carries the attrs of the two ops it stands for, and a fallback kernel that runs those
// ops' own kernels.
//
// FusedParts: one part's attrs under their own names, the other's under a prefix ("pool_ksize").
//
//   const FusedParts kParts{"pool_", {"ksize", "strides", "pad_before", "pad_after"}};
//   kParts.Prefixed(op, "max_pool2d");  // OpConf "<op>/max_pool2d" with ksize, strides, ...
//   kParts.Rest(op, "conv2d");          // OpConf "<op>/conv2d" with the other attrs
//
// ComposedKernel: the registered kernels one after another, through buffers of its own, where the
// fused kernel does not apply. It computes what the unfused ops compute, bit for bit, because it
// is their kernels.
//
//   ComposedKernel k;
//   Tensor& dx = k.Buffer(Shape({n, c, h, w}));                       // plain f32, owned by k
//   FLOWRT_RETURN_IF_ERROR(k.Add(pool_grad_op, {dy, ws}, {dy_layout, kPlain}, {dx}, {kPlain},
//   env)); FLOWRT_RETURN_IF_ERROR(k.Add(grad_weight_op, {dx, x}, ..., ctx.outputs,
//   ctx.output_layouts, env));
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "proto/job.pb.h"
#include "runtime/kernel.h"
#include "runtime/kernel_def.h"

namespace flow {

struct FusedParts {
  const char* prefix;                 // of the prefixed part's attrs on the fused op
  std::vector<const char*> prefixed;  // the prefixed part's attr names, without the prefix
  // The parts as ops of their own types, named "<fused op>/<type>", so the parts' shape functions
  // name the fused op and the part that refused. No inputs or outputs.
  flowrt::OpConf Prefixed(const flowrt::OpConf& fused, const char* type) const;
  flowrt::OpConf Rest(const flowrt::OpConf& fused, const char* type) const;
  // An error naming the fused op and the first prefixed attr it lacks.
  absl::Status CheckPresent(const ShapeContext& ctx) const;
};

class ComposedKernel : public Kernel {
 public:
  // A plain f32 buffer for an intermediate tensor; the reference stays valid.
  Tensor& Buffer(const Shape& shape);
  // Appends the kernel of `op`'s type (its registered KernelFn) over these tensors. An error from
  // the factory is returned as it is.
  absl::Status Add(flowrt::OpConf op, std::vector<Tensor> inputs, std::vector<Layout> input_layouts,
                   std::vector<Tensor> outputs, std::vector<Layout> output_layouts,
                   const ExecEnv& env, std::vector<bool> output_read = {});
  absl::Status Run() override;

 private:
  std::deque<Tensor> buffers_;
  std::deque<flowrt::OpConf> ops_;  // kept for the parts' lifetime
  std::vector<std::unique_ptr<Kernel>> parts_;
};

}  // namespace flow
