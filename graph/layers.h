// OneFlow's flow.layers.* : layers create their variables (with reuse off, so two layers with
// one name are an error) under the namespace "<name>-" and emit fused ops.
//
//   auto init = flow::truncated_normal(0.1);
//   flow::Blob h = flow::layers::dense(x, 512, {.activation = flow::nn::relu,
//                                               .kernel_initializer = init, .name = "dense1"});
//   // variables "dense1-weight" (512, in) and "dense1-bias" (512,)
//   flow::Blob c = flow::layers::conv2d(images, 32, {5, 5}, {.padding = "SAME",
//                                       .activation = flow::nn::relu, .name = "conv1"});
//   // variables "conv1-weight" (32, C, 5, 5) OIHW and "conv1-bias" (32,)
//   flow::Blob n = flow::layers::batch_normalization(c, {.axis = 1, .name = "bn1"});
//   // "bn1-gamma", "bn1-beta" (32,); non-trainable "bn1-moving_mean", "bn1-moving_variance"
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "framework/blob.h"
#include "graph/get_variable.h"
#include "graph/initializer.h"

namespace flow::layers {

// An activation applied to a layer's output; flow::nn::relu is fused into the layer's kernel.
using Activation = Blob (*)(const Blob&, absl::string_view);

struct DenseOptions {
  Activation activation = nullptr;
  bool use_bias = true;
  std::optional<Initializer> kernel_initializer;  // default: constant 0 (OneFlow)
  std::optional<Initializer> bias_initializer;    // default: constant 0
  Regularizer kernel_regularizer;
  Regularizer bias_regularizer;
  bool trainable = true;
  std::string name = "Dense";
  distribute::Distribute model_distribute;
};

// y = activation(x · Wᵀ + b); W is (units, in_features). Inputs of rank > 2 are flattened to
// (-1, last dim) and the result reshaped back, as in OneFlow.
Blob dense(const Blob& inputs, int64_t units, const DenseOptions& options = {});

struct Conv2dOptions {
  std::vector<int64_t> strides = {1, 1};
  // "VALID" (OneFlow's default), "SAME" (= SAME_LOWER), or explicit {top, bottom, left, right}.
  std::string padding = "VALID";
  std::vector<int64_t> explicit_padding;  // used when padding is "EXPLICIT"
  std::string data_format = "NCHW";
  std::vector<int64_t> dilation_rate = {1, 1};
  int64_t groups = 1;
  Activation activation = nullptr;
  bool use_bias = true;
  std::optional<Initializer> kernel_initializer;  // default: xavier_uniform
  std::optional<Initializer> bias_initializer;    // default: constant 0
  Regularizer kernel_regularizer;
  Regularizer bias_regularizer;
  bool trainable = true;
  std::string name = "Conv2d";
  std::string weight_name;  // used as-is (plus namespace) instead of "<name>-weight"
  std::string bias_name;
};

// NCHW input (N, C, H, W), OIHW weight (filters, C/groups, KH, KW) → (N, filters, H', W').
Blob conv2d(const Blob& inputs, int64_t filters, const std::vector<int64_t>& kernel_size,
            const Conv2dOptions& options = {});

struct BatchNormalizationOptions {
  // The channel axis. OneFlow's default is -1 (channels last); flowrt runs NCHW, so its default
  // is 1, and 1 is the only axis it normalizes (-1 is accepted for (N, C) input).
  int64_t axis = 1;
  float momentum = 0.99f;  // moving = momentum·moving + (1 − momentum)·batch (OneFlow's sense)
  float epsilon = 0.001f;  // y = gamma·(x − mean)/sqrt(variance + epsilon) + beta
  bool center = true;      // false: no beta variable, beta = 0
  bool scale = true;       // false: no gamma variable, gamma = 1
  std::optional<Initializer> beta_initializer;   // default zeros
  std::optional<Initializer> gamma_initializer;  // default ones
  Regularizer beta_regularizer;
  Regularizer gamma_regularizer;
  std::optional<Initializer> moving_mean_initializer;      // default zeros
  std::optional<Initializer> moving_variance_initializer;  // default ones
  // false: gamma and beta are frozen and the layer normalizes with the moving statistics, which
  // it does not update, even in a train job (OneFlow: trainable = false implies training = false).
  bool trainable = true;
  // false: use the moving statistics in a train job too. Predict jobs always do.
  bool training = true;
  std::string name = "BatchNorm";
};

// OneFlow's flow.layers.batch_normalization over axis 1 of (N, C, ...) input (ranks 2–5). In a
// train job (trainable and training): batch statistics, and the moving ones updated in place after
// the forward op, the variance unbiased (n/(n − 1), n = elements per channel) as in OneFlow's
// normalization kernels. Otherwise: the moving statistics. Details: batch_normalization_layer.cc.
Blob batch_normalization(const Blob& inputs, const BatchNormalizationOptions& options = {});

}  // namespace flow::layers
