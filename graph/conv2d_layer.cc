// flow::layers::conv2d (declared in graph/layers.h): OneFlow's flow.layers.conv2d on NCHW data.
// Creates "<name>-weight" (filters, C/groups, KH, KW) OIHW and "<name>-bias" (filters,) in
// scope::Namespace(name) with reuse off (or `weight_name` / `bias_name` in the current
// namespace), resolves the padding mode to explicit pads (ops/window.h) and emits one "conv2d"
// op with relu fused; other activations are applied after.
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "framework/job_builder.h"
#include "graph/initializer.h"
#include "graph/layers.h"
#include "graph/nn.h"
#include "graph/scope.h"
#include "ops/window.h"

namespace flow::layers {
namespace {

// OneFlow takes an int or a pair for kernel_size, strides and dilation_rate.
absl::StatusOr<std::vector<int64_t>> Pair(const std::string& where, const char* what,
                                          const std::vector<int64_t>& v) {
  if (v.size() == 1) return std::vector<int64_t>{v[0], v[0]};
  if (v.size() == 2) return v;
  return absl::InvalidArgumentError(
      absl::StrCat(where, what, " [", absl::StrJoin(v, ", "), "] must have 1 or 2 elements"));
}

}  // namespace

Blob conv2d(const Blob& inputs, int64_t filters, const std::vector<int64_t>& kernel_size,
            const Conv2dOptions& options) {
  if (!inputs.ok()) return inputs;
  JobBuilder* builder = inputs.builder();
  const std::string where = absl::StrCat("conv2d '", options.name, "': ");
  auto fail = [&](absl::Status status) { return builder->Fail(std::move(status)); };

  const std::string data_format = absl::AsciiStrToUpper(options.data_format);
  if (data_format == "NHWC" || data_format == "CHANNELS_LAST") {
    return fail(absl::UnimplementedError(
        absl::StrCat(where, "data_format \"", options.data_format,
                     "\" is not supported: flowrt runs NCHW only (transpose the input to NCHW)")));
  }
  if (data_format != "NCHW" && data_format != "CHANNELS_FIRST") {
    return fail(absl::InvalidArgumentError(
        absl::StrCat(where, "unknown data_format \"", options.data_format, "\" (expected NCHW)")));
  }
  const Shape& x = inputs.shape();
  if (x.rank() != 4) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        where, "input ", inputs.name(), " has shape ", x.ToString(), ", expected (N, C, H, W)")));
  }
  if (filters < 1 || options.groups < 1 || x[1] % options.groups != 0 ||
      filters % options.groups != 0) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat(where, "groups ", options.groups, " must be positive and divide both the ",
                     x[1], " input channels of ", x.ToString(), " and the ", filters, " filters")));
  }
  absl::StatusOr<std::vector<int64_t>> kernel = Pair(where, "kernel_size", kernel_size);
  if (!kernel.ok()) return fail(kernel.status());
  absl::StatusOr<std::vector<int64_t>> strides = Pair(where, "strides", options.strides);
  if (!strides.ok()) return fail(strides.status());
  absl::StatusOr<std::vector<int64_t>> dilations =
      Pair(where, "dilation_rate", options.dilation_rate);
  if (!dilations.ok()) return fail(dilations.status());

  // Padding → explicit pads per spatial dim.
  std::vector<int64_t> pad_before(2), pad_after(2);
  if (absl::AsciiStrToUpper(options.padding) == "EXPLICIT") {
    const std::vector<int64_t>& p = options.explicit_padding;
    if (p.size() != 4) {
      return fail(absl::InvalidArgumentError(absl::StrCat(where, "explicit_padding [",
                                                          absl::StrJoin(p, ", "),
                                                          "] must be {top, bottom, left, right}")));
    }
    pad_before = {p[0], p[2]};
    pad_after = {p[1], p[3]};
  } else {
    if (!IsWindowPaddingMode(options.padding)) {
      return fail(absl::InvalidArgumentError(
          absl::StrCat(where, "unknown padding \"", options.padding,
                       "\" (expected \"SAME\", \"VALID\" or \"EXPLICIT\" with explicit_padding)")));
    }
    for (int d = 0; d < 2; ++d) {
      absl::StatusOr<WindowDim> window =
          ComputeWindow(x[2 + d], (*kernel)[d], (*strides)[d], (*dilations)[d], options.padding);
      if (!window.ok()) {
        return fail(absl::InvalidArgumentError(absl::StrCat(where, d == 0 ? "height" : "width",
                                                            " of input ", x.ToString(), ": ",
                                                            window.status().message())));
      }
      pad_before[d] = window->pad_before;
      pad_after[d] = window->pad_after;
    }
  }

  Initializer kernel_init;
  if (options.kernel_initializer.has_value()) {
    kernel_init = *options.kernel_initializer;
  } else {
    absl::StatusOr<Initializer> xavier = xavier_uniform_initializer("NCHW");
    if (!xavier.ok()) return fail(xavier.status());
    kernel_init = *std::move(xavier);
  }
  const Shape weight_shape({filters, x[1] / options.groups, (*kernel)[0], (*kernel)[1]});
  const GetVariableOptions weight_options = {.initializer = kernel_init,
                                             .regularizer = options.kernel_regularizer,
                                             .trainable = options.trainable,
                                             .model_name = "weight",
                                             .random_seed = std::nullopt,
                                             .distribute = {},
                                             .reuse = false};
  const GetVariableOptions bias_options = {
      .initializer = options.bias_initializer.value_or(constant_initializer(0)),
      .regularizer = options.bias_regularizer,
      .trainable = options.trainable,
      .model_name = "bias",
      .random_seed = std::nullopt,
      .distribute = {},
      .reuse = false};

  const std::string op_name = builder->UniqueOpName(options.name);
  Blob weight, bias;
  {
    scope::Namespace ns(options.name);
    if (options.weight_name.empty()) weight = get_variable("weight", weight_shape, weight_options);
    if (options.use_bias && options.bias_name.empty()) {
      bias = get_variable("bias", Shape({filters}), bias_options);
    }
  }
  if (!options.weight_name.empty()) {
    weight = get_variable(options.weight_name, weight_shape, weight_options);
  }
  if (options.use_bias && !options.bias_name.empty()) {
    bias = get_variable(options.bias_name, Shape({filters}), bias_options);
  }

  const bool fuse_relu = options.activation == &nn::relu;
  OpBuilder op("conv2d");
  op.ExactName(op_name)
      .Input(inputs)
      .Input(weight)
      .Attr("strides", *strides)
      .Attr("dilations", *dilations)
      .Attr("groups", options.groups)
      .Attr("pad_before", pad_before)
      .Attr("pad_after", pad_after)
      .Attr("activation", fuse_relu ? "relu" : "");
  if (options.use_bias) op.Input(bias);
  Blob y = op.Build1();
  if (options.activation != nullptr && !fuse_relu) y = options.activation(y, "activation");
  return y;
}

}  // namespace flow::layers
