#include "ops/fused_op.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/op_registry.h"
#include "runtime/status.h"

namespace flow {

flowrt::OpConf FusedParts::Prefixed(const flowrt::OpConf& fused, const char* type) const {
  flowrt::OpConf part;
  part.set_name(absl::StrCat(fused.name(), "/", type));
  part.set_type(type);
  for (const char* name : prefixed) {
    const auto it = fused.attr().find(absl::StrCat(prefix, name));
    if (it != fused.attr().end()) (*part.mutable_attr())[name] = it->second;
  }
  return part;
}

flowrt::OpConf FusedParts::Rest(const flowrt::OpConf& fused, const char* type) const {
  flowrt::OpConf part = fused;
  part.set_name(absl::StrCat(fused.name(), "/", type));
  part.set_type(type);
  part.clear_input();
  part.clear_output();
  for (const char* name : prefixed) part.mutable_attr()->erase(absl::StrCat(prefix, name));
  return part;
}

absl::Status FusedParts::CheckPresent(const ShapeContext& ctx) const {
  for (const char* name : prefixed) {
    if (!HasAttr(ctx.op, absl::StrCat(prefix, name))) {
      return absl::InvalidArgumentError(
          absl::StrCat(ctx.Where(), "attr ", prefix, name, " is missing"));
    }
  }
  return absl::OkStatus();
}

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
