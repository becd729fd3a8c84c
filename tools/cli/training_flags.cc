#include "tools/cli/training_flags.h"

#include <optional>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"

ABSL_DECLARE_FLAG(int32_t, batch_size);  // train_command.cc: also eval's
ABSL_FLAG(std::string, optimizer, "sgd",
          "sgd (OneFlow's SGD, --momentum) or adam (OneFlow's Adam: beta1 0.9, beta2 0.999, "
          "epsilon 1e-8, no bias correction)");
ABSL_FLAG(std::optional<double>, lr, std::nullopt,
          "learning rate (default: 0.1 for sgd, 0.001 for adam, OneFlow's mlp_mnist.py)");
ABSL_FLAG(double, momentum, 0.0, "SGD momentum (creates <var>-momentum slots when non-zero)");
ABSL_FLAG(double, clip_norm, 0.0,
          "clip the gradients by their global norm to at most this before the update "
          "(PyTorch's clip_grad_norm_; 0 = off)");
ABSL_FLAG(double, dropout, 0.5, "LeNet dropout rate after dense1");

namespace flow::cli {

absl::StatusOr<jobs::ModelJobOptions> ReadTrainingFlags() {
  jobs::ModelJobOptions options;
  options.train = true;
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  options.optimizer = absl::GetFlag(FLAGS_optimizer);
  absl::StatusOr<float> default_lr = jobs::DefaultLearningRate(options.optimizer);
  if (!default_lr.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--optimizer: ", default_lr.status().message()));
  }
  const std::optional<double> lr = absl::GetFlag(FLAGS_lr);
  options.lr = lr.has_value() ? static_cast<float>(*lr) : *default_lr;
  options.momentum = static_cast<float>(absl::GetFlag(FLAGS_momentum));
  options.clip_norm = static_cast<float>(absl::GetFlag(FLAGS_clip_norm));
  options.dropout = static_cast<float>(absl::GetFlag(FLAGS_dropout));
  return options;
}

std::string DescribeTraining(const jobs::ModelJobOptions& options) {
  std::string out = absl::StrCat(options.optimizer, ", lr ", options.lr);
  if (options.momentum != 0) absl::StrAppend(&out, ", momentum ", options.momentum);
  if (options.clip_norm != 0) absl::StrAppend(&out, ", clip norm ", options.clip_norm);
  absl::StrAppend(&out, ", dropout ", options.dropout);
  return out;
}

}  // namespace flow::cli
