#include "graph/get_variable.h"

#include "absl/strings/str_cat.h"
#include "framework/job_builder.h"
#include "graph/initializer_proto.h"
#include "runtime/status.h"

namespace flow {

Blob get_variable(const std::string& name, const Shape& shape, const GetVariableOptions& options) {
  JobBuilder* builder = JobBuilder::Current();
  FLOWRT_CHECK(builder != nullptr)
      << "flow::get_variable(\"" << name << "\") called outside a global_function body";
  const std::string full_name = builder->NamespacePrefix() + name;
  if (name.empty()) {
    return builder->Fail(absl::InvalidArgumentError("get_variable: empty variable name"));
  }
  if (!options.initializer.has_value()) {
    return builder->Fail(
        absl::InvalidArgumentError(absl::StrCat("variable '", full_name, "' has no initializer")));
  }
  if (absl::Status valid = ValidateInitializer(*options.initializer, shape, options.dtype);
      !valid.ok()) {
    return builder->Fail(
        absl::Status(valid.code(), absl::StrCat("variable '", full_name, "': ", valid.message())));
  }
  flowrt::VariableConf conf;
  conf.set_name(full_name);
  for (int64_t d : shape.dims()) conf.mutable_shape()->add_dim(d);
  conf.set_data_type(static_cast<oneflow::DataType>(options.dtype));
  *conf.mutable_initializer() = InitializerProto::Get(*options.initializer);
  conf.set_trainable(options.trainable);
  conf.set_model_name(options.model_name);
  if (options.random_seed.has_value()) conf.set_random_seed(*options.random_seed);
  conf.mutable_regularizer()->set_l1(options.regularizer.l1);
  conf.mutable_regularizer()->set_l2(options.regularizer.l2);
  conf.set_split_axis(options.distribute.split_axis);
  return builder->GetOrCreateVariable(conf, options.reuse);
}

}  // namespace flow
