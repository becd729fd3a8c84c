#include "framework/op_registry.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "runtime/status.h"

namespace flow {
namespace {

std::map<std::string, std::unique_ptr<OpSchema>, std::less<>>& Registry() {
  static auto* registry = new std::map<std::string, std::unique_ptr<OpSchema>, std::less<>>();
  return *registry;
}

}  // namespace

const std::string& OpSchema::InputName(int i) const {
  FLOWRT_CHECK(!inputs.empty()) << type << " has no inputs";
  return inputs[std::min<size_t>(static_cast<size_t>(i), inputs.size() - 1)];
}

OpRegistration::OpRegistration(absl::string_view type) {
  auto& slot = Registry()[std::string(type)];
  FLOWRT_CHECK(slot == nullptr) << "op registered twice: " << std::string(type);
  slot = std::make_unique<OpSchema>();
  schema_ = slot.get();
  schema_->type = std::string(type);
}
OpRegistration& OpRegistration::Input(absl::string_view name) {
  FLOWRT_CHECK_EQ(schema_->optional_inputs, 0) << "required input after an optional one";
  FLOWRT_CHECK(!schema_->variadic_input) << "input after the variadic one";
  schema_->inputs.emplace_back(name);
  return *this;
}
OpRegistration& OpRegistration::OptionalInput(absl::string_view name) {
  FLOWRT_CHECK(!schema_->variadic_input) << "input after the variadic one";
  schema_->inputs.emplace_back(name);
  ++schema_->optional_inputs;
  return *this;
}
OpRegistration& OpRegistration::VariadicInput(absl::string_view name) {
  FLOWRT_CHECK_EQ(schema_->optional_inputs, 0) << "a variadic input and optional ones";
  FLOWRT_CHECK(!schema_->variadic_input) << "two variadic inputs";
  schema_->inputs.emplace_back(name);
  schema_->variadic_input = true;
  return *this;
}
OpRegistration& OpRegistration::Output(absl::string_view name) {
  schema_->outputs.emplace_back(name);
  return *this;
}
OpRegistration& OpRegistration::ShapeFn(flow::ShapeFn fn) {
  schema_->shape_fn = std::move(fn);
  return *this;
}
OpRegistration& OpRegistration::GradFn(flow::GradFn fn) {
  schema_->grad_fn = std::move(fn);
  return *this;
}
OpRegistration& OpRegistration::NoGradient() {
  schema_->no_gradient = true;
  return *this;
}
OpRegistration& OpRegistration::KernelFn(flow::KernelFn fn) {
  schema_->kernel_fn = std::move(fn);
  return *this;
}
OpRegistration& OpRegistration::AliasesInput() {
  schema_->aliases_input = true;
  return *this;
}
OpRegistration& OpRegistration::MutatesInput() {
  schema_->mutates_input = true;
  return *this;
}
OpRegistration& OpRegistration::Optimizer() {
  schema_->optimizer = true;
  return *this;
}

OpRegistration& OpRegistration::BlockedLayout(std::vector<int> inputs, std::vector<int> outputs) {
  schema_->blocked_inputs = std::move(inputs);
  schema_->blocked_outputs = std::move(outputs);
  return *this;
}
OpRegistration& OpRegistration::LayoutAgnostic() {
  schema_->layout_agnostic = true;
  return *this;
}
OpRegistration& OpRegistration::Placeholder() {
  schema_->role = OpRole::kPlaceholder;
  return *this;
}
OpRegistration& OpRegistration::Variable() {
  schema_->role = OpRole::kVariable;
  return *this;
}

const OpSchema* FindOp(absl::string_view type) {
  auto it = Registry().find(type);
  return it == Registry().end() ? nullptr : it->second.get();
}

const KernelDef* FindKernelDef(const std::string& type) { return FindOp(type); }

std::vector<const OpSchema*> AllOps() {
  std::vector<const OpSchema*> ops;
  for (const auto& [type, schema] : Registry()) ops.push_back(schema.get());
  return ops;
}

absl::Status ExpectFloat(const ShapeContext& ctx, int i) {
  if (ctx.inputs[i].dtype == DataType::kFloat) return absl::OkStatus();
  const OpSchema* schema = FindOp(ctx.op.type());
  return absl::InvalidArgumentError(
      absl::StrCat(ctx.Where(), "input '", schema ? schema->InputName(i) : std::to_string(i), "' ",
                   ctx.op.input(i), " has dtype ", DataTypeName(ctx.inputs[i].dtype), " and shape ",
                   ctx.inputs[i].shape.ToString(), "; this op computes in kFloat only"));
}

}  // namespace flow
