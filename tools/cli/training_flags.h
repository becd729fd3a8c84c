// The one reader of the training options (jobs::ModelJobOptions) from flags, used by every
// subcommand that builds a train job (train, time, graph), so they cannot drift apart:
//   --job --batch_size --optimizer=sgd|adam --lr (default: 0.1 sgd, 0.001 adam) --momentum
//   --clip_norm --dropout
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "jobs/model_jobs.h"

namespace flow::cli {

// The options the flags give, with `train` set. InvalidArgument for an unknown --optimizer.
absl::StatusOr<jobs::ModelJobOptions> ReadTrainingFlags();

// "adam, lr 0.001, dropout 0.5" (plus momentum and clip norm when set): what a run trains with.
std::string DescribeTraining(const jobs::ModelJobOptions& options);

}  // namespace flow::cli
