// The jobs `flowrt train`, `flowrt eval`, `flowrt time` and `flowrt graph` run for a model: one
// definition, so they never drift apart.
//
//   flow::Session session;
//   FLOWRT_ASSIGN_OR_RETURN(flow::JobFunction train_job,
//                    flow::jobs::BuildModelJob(session, "lenet", {.train = true}));
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/global_function.h"
#include "graph/session.h"

namespace flow::jobs {

// The name of the train job BuildModelJob builds (its step counter is
// optimizer::TrainStepVariableName(kTrainJobName)).
inline constexpr char kTrainJobName[] = "train_job";

// The training options: read from flags by one reader (tools/cli/training_flags.h) that every
// subcommand uses.
struct ModelJobOptions {
  bool train = false;  // "train_job": loss, backward, optimizer; else "eval_job" returning logits
  int batch_size = 100;
  std::string optimizer = "sgd";  // "sgd" (OneFlow's SGD) or "adam" (OneFlow's Adam, defaults)
  float lr = 0.1f;                // DefaultLearningRate(optimizer) when read from flags
  float momentum = 0.0f;          // sgd only
  float clip_norm = 0.0f;         // grad_clipping: clip by global norm; 0 = off
  float dropout = 0.5f;
};

// The learning rate of a run that gives none: 0.1 for sgd (the doc scripts'), 0.001 for adam
// (OneFlow's quick_start/mlp_mnist.py). InvalidArgument for an unknown optimizer.
absl::StatusOr<float> DefaultLearningRate(absl::string_view optimizer);

// Builds and compiles, in `session`, the train job (images (B,1,28,28) f32, labels (B,) i32 →
// per-example loss (B,)) or the eval job (images → logits (B, 10)) of `model` ("lenet", "mlp",
// "mlp_finetune"). InvalidArgument for an unknown model, optimizer or batch size, or a momentum
// given to adam.
absl::StatusOr<JobFunction> BuildModelJob(Session& session, absl::string_view model,
                                          const ModelJobOptions& options);

}  // namespace flow::jobs
