// A kernel that runs other ops' registered kernels one after another, through buffers of its own:
// the fallback of a fused op (ops/conv2d_max_pool2d.cc, ops/max_pool2d_grad_conv2d_grad_weight.cc)
// where its fused kernel does not apply. It computes what the unfused ops compute, bit for bit,
// because it is their kernels.
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

namespace flow {

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
