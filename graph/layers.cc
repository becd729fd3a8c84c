#include "graph/layers.h"

#include "absl/strings/str_cat.h"
#include "framework/job_builder.h"
#include "graph/initializer.h"
#include "graph/math_ops.h"
#include "graph/nn.h"
#include "graph/scope.h"

namespace flow::layers {

Blob dense(const Blob& inputs, int64_t units, const DenseOptions& options) {
  if (!inputs.ok()) return inputs;
  JobBuilder* builder = inputs.builder();
  if (inputs.shape().rank() < 2) {
    return builder->Fail(absl::InvalidArgumentError(
        absl::StrCat("dense '", options.name, "': input ", inputs.name(), " has shape ",
                     inputs.shape().ToString(), ", rank must be at least 2")));
  }
  const Shape in_shape = inputs.shape();
  const int64_t in_features = in_shape[in_shape.rank() - 1];
  Blob x = in_shape.rank() == 2 ? inputs : reshape(inputs, {-1, in_features});

  const std::string op_name = builder->UniqueOpName(options.name);
  Blob weight, bias;
  {
    scope::Namespace ns(options.name);
    weight =
        get_variable("weight", {units, in_features},
                     {.initializer = options.kernel_initializer.value_or(constant_initializer(0)),
                      .regularizer = options.kernel_regularizer,
                      .trainable = options.trainable,
                      .model_name = "weight",
                      .distribute = options.model_distribute,
                      .reuse = false});
    if (options.use_bias) {
      bias =
          get_variable("bias", {units},
                       {.initializer = options.bias_initializer.value_or(constant_initializer(0)),
                        .regularizer = options.bias_regularizer,
                        .trainable = options.trainable,
                        .model_name = "bias",
                        .distribute = options.model_distribute,
                        .reuse = false});
    }
  }
  const bool fuse_relu = options.activation == &nn::relu;
  OpBuilder op("dense");
  op.ExactName(op_name).Input(x).Input(weight).Attr("activation", fuse_relu ? "relu" : "");
  if (options.use_bias) op.Input(bias);
  Blob y = op.Build1();
  if (options.activation != nullptr && !fuse_relu) y = options.activation(y, "activation");
  if (in_shape.rank() > 2) {
    std::vector<int64_t> out_dims(in_shape.dims().begin(), in_shape.dims().end() - 1);
    out_dims.push_back(units);
    y = reshape(y, out_dims);
  }
  return y;
}

}  // namespace flow::layers
