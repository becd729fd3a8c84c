// flow::layers::batch_normalization (declared in graph/layers.h): OneFlow's
// flow.layers.batch_normalization on axis 1 of (N, C, ...) input, emitting the ops of
// ops/batch_norm.cc and ops/moving_average_update.cc.
//
// OneFlow's semantics, from its source (oneflow/python/ops/layers.py, batch_normalization and
// _get_batch_normalization_variables, v0.3.x–0.4.0; oneflow/python/ops/nn_ops.py,
// batch_normalization and moments; oneflow/user/kernels/normalization_kernel.cpp):
// - Variables, in scope::Namespace(name) with reuse off: "<name>-beta" (C,) zeros and
//   "<name>-gamma" (C,) ones (trainable = the layer's), "<name>-moving_mean" (C,) zeros and
//   "<name>-moving_variance" (C,) ones (never trainable; saved and loaded like any variable, so
//   snapshots interoperate). center = false: no beta variable, beta = 0; scale = false: no gamma,
//   gamma = 1 (OneFlow's flow.constant).
// - y = gamma·(x − mean)·rsqrt(variance + epsilon) + beta: epsilon inside the square root
//   (nn_ops.py: `variance += variance_epsilon; std_inv = rsqrt(variance)`).
// - Which statistics: OneFlow sets training = false when the job is not trainable (a predict job)
//   or trainable = false, whatever `training` says; then the moving statistics are used and not
//   updated. Otherwise the batch's (mean and biased variance over every axis but `axis`).
// - Update, after the forward op: moving = momentum·moving + (1 − momentum)·batch for both
//   statistics (layers.py `update_moving`; normalization_kernel.cpp ComputeMeanAndVar). PyTorch's
//   momentum is 1 − OneFlow's.
// - Biased or unbiased variance in the moving average: OneFlow's `normalization` op kernels use
//   the unbiased batch variance, sum((x − mean)²)/(n − 1) with n = N·H·W
//   (normalization_kernel.cpp's temp_unbias_variance on CPU; normalization_kernel.cu calls
//   cudnnBatchNormalizationForwardTraining with exponentialAverageFactor 1 − momentum, and cuDNN's
//   running variance is the unbiased one). Only layers.py's CPU fallback of v0.3–0.4
//   (flow.nn.moments, a biased reduce_variance: moments([1..5]) = 2) fed the biased one. flowrt
//   follows the kernels, which is also PyTorch's rule: the biased variance normalizes y, the
//   unbiased one enters the moving average. n < 2 in a train job is an error (PyTorch refuses it
//   too; OneFlow would divide by zero).
//
// flowrt differs in one default: axis is 1 (NCHW), not OneFlow's -1 (channels last), and only the
// channel axis 1 is supported (-1 too on (N, C) input).
#include "absl/strings/str_cat.h"
#include "framework/job_builder.h"
#include "graph/initializer.h"
#include "graph/layers.h"
#include "graph/math_ops.h"
#include "graph/scope.h"

namespace flow::layers {

Blob batch_normalization(const Blob& inputs, const BatchNormalizationOptions& options) {
  if (!inputs.ok()) return inputs;
  JobBuilder* builder = inputs.builder();
  const std::string where = absl::StrCat("batch_normalization '", options.name, "': ");
  auto fail = [&](absl::Status status) { return builder->Fail(std::move(status)); };

  const Shape& x = inputs.shape();
  if (x.rank() < 2 || x.rank() > 5) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat(where, "input ", inputs.name(), " has shape ", x.ToString(),
                     ", expected rank 2 to 5 with channels on axis 1 ((N, C) or (N, C, H, W))")));
  }
  const int64_t axis = options.axis < 0 ? options.axis + x.rank() : options.axis;
  if (axis != 1) {
    return fail(absl::UnimplementedError(
        absl::StrCat(where, "axis ", options.axis, " of input ", inputs.name(), " ", x.ToString(),
                     " is not supported: flowrt normalizes the channels of NCHW data, axis 1")));
  }
  const bool training = builder->is_train() && options.trainable && options.training;
  const int64_t per_channel = x.NumElements() / x[1];
  if (training && per_channel < 2) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat(where, "input ", inputs.name(), " ", x.ToString(), " has ", per_channel,
                     " value per channel: a train job needs at least 2 for a batch variance")));
  }

  const Shape params({x[1]});
  Blob beta, gamma, moving_mean, moving_variance;
  {
    scope::Namespace ns(options.name);
    if (options.center) {
      beta = get_variable("beta", params,
                          {.initializer = options.beta_initializer.value_or(zeros_initializer()),
                           .regularizer = options.beta_regularizer,
                           .trainable = options.trainable,
                           .reuse = false});
    }
    if (options.scale) {
      gamma = get_variable("gamma", params,
                           {.initializer = options.gamma_initializer.value_or(ones_initializer()),
                            .regularizer = options.gamma_regularizer,
                            .trainable = options.trainable,
                            .reuse = false});
    }
    moving_mean =
        get_variable("moving_mean", params,
                     {.initializer = options.moving_mean_initializer.value_or(zeros_initializer()),
                      .trainable = false,
                      .reuse = false});
    moving_variance = get_variable(
        "moving_variance", params,
        {.initializer = options.moving_variance_initializer.value_or(ones_initializer()),
         .trainable = false,
         .reuse = false});
  }
  if (!builder->status().ok()) return Blob();
  // OneFlow's flow.constant for the absent parameters: (C,) blobs shaped like the statistics.
  if (!options.center) beta = fill_like(moving_mean, 0.f);
  if (!options.scale) gamma = fill_like(moving_mean, 1.f);

  const std::string op_name = builder->UniqueOpName(options.name);
  if (!training) {
    return OpBuilder("batch_norm_inference")
        .ExactName(op_name)
        .Input(inputs)
        .Input(gamma)
        .Input(beta)
        .Input(moving_mean)
        .Input(moving_variance)
        .Attr("epsilon", options.epsilon)
        .Build1();
  }
  std::vector<Blob> out = OpBuilder("batch_norm")
                              .ExactName(op_name)
                              .Input(inputs)
                              .Input(gamma)
                              .Input(beta)
                              .Attr("epsilon", options.epsilon)
                              .Build();
  if (!out[0].ok()) return out[0];
  const double n = static_cast<double>(per_channel);
  auto update = [&](const Blob& moving, const Blob& batch, const char* what, double scale) {
    OpBuilder("moving_average_update")
        .ExactName(builder->UniqueOpName(absl::StrCat(options.name, "-", what, "-update")))
        .Input(moving)
        .Input(batch)
        .Attr("momentum", options.momentum)
        .Attr("scale", scale)
        .Build();
  };
  update(moving_mean, out[1], "moving_mean", 1.0);
  update(moving_variance, out[2], "moving_variance", n / (n - 1.0));
  return out[0];
}

}  // namespace flow::layers
