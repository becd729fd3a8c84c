#include "ops/composed_kernel.h"

#include <utility>

#include "framework/op_registry.h"
#include "runtime/status.h"

namespace flow {

Tensor& ComposedKernel::Buffer(const Shape& shape) {
  return buffers_.emplace_back(shape, DataType::kFloat);
}

absl::Status ComposedKernel::Add(flowrt::OpConf op, std::vector<Tensor> inputs,
                                 std::vector<Layout> input_layouts, std::vector<Tensor> outputs,
                                 std::vector<Layout> output_layouts, const ExecEnv& env,
                                 std::vector<bool> output_read) {
  const KernelDef* def = FindKernelDef(op.type());
  FLOWRT_CHECK(def != nullptr && def->kernel_fn) << op.type();
  const flowrt::OpConf& kept = ops_.emplace_back(std::move(op));
  FLOWRT_ASSIGN_OR_RETURN(
      std::unique_ptr<Kernel> part,
      def->kernel_fn(KernelContext{kept, std::move(inputs), std::move(outputs), env,
                                   std::move(input_layouts), std::move(output_layouts),
                                   std::move(output_read)}));
  parts_.push_back(std::move(part));
  return absl::OkStatus();
}

absl::Status ComposedKernel::Run() {
  for (const std::unique_ptr<Kernel>& part : parts_) FLOWRT_RETURN_IF_ERROR(part->Run());
  return absl::OkStatus();
}

}  // namespace flow
