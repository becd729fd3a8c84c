#include "jobs/model_jobs.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/flow.h"
#include "jobs/models.h"
#include "runtime/status.h"

namespace flow::jobs {

absl::StatusOr<float> DefaultLearningRate(absl::string_view optimizer) {
  if (optimizer == "sgd") return 0.1f;
  if (optimizer == "adam") return 0.001f;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown optimizer '", optimizer, "'; choose sgd or adam"));
}

absl::StatusOr<JobFunction> BuildModelJob(Session& session, absl::string_view model_name,
                                          const ModelJobOptions& options) {
  const Model* model = FindModel(model_name);
  if (model == nullptr) {
    std::vector<std::string> names;
    for (const Model& m : AllModels()) names.push_back(m.name);
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown model '", model_name, "'; choose one of ", absl::StrJoin(names, ", ")));
  }
  if (options.batch_size < 1) return absl::InvalidArgumentError("batch size must be positive");
  const Placeholder images({options.batch_size, 1, 28, 28}, kFloat, "images");
  if (options.train) {
    FLOWRT_RETURN_IF_ERROR(DefaultLearningRate(options.optimizer).status());
    const bool adam = options.optimizer == "adam";
    if (adam && options.momentum != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("momentum ", options.momentum, " is SGD's; the adam optimizer takes none"));
    }
    const float dropout = options.dropout, lr = options.lr, momentum = options.momentum,
                clip_norm = options.clip_norm;
    JobFunction train_job = global_function(
        session, kTrainJobName, JobType::kTrain,
        [=](Blob images, Blob labels) {
          scope::Placement cpu("cpu", "0:0");
          Blob logits = model->logits(images, {.train = true, .dropout = dropout});
          Blob loss = nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
          optimizer::PiecewiseConstantScheduler schedule({}, {lr});
          if (adam) {
            optimizer::Adam(schedule, {.grad_clipping = clip_norm}).minimize(loss);
          } else {
            optimizer::SGD(schedule, {.momentum = momentum, .grad_clipping = clip_norm})
                .minimize(loss);
          }
          return loss;
        },
        images, Placeholder({options.batch_size}, kInt32, "labels"));
    FLOWRT_RETURN_IF_ERROR(train_job.Compile());
    return train_job;
  }
  JobFunction eval_job = global_function(
      session, "eval_job", JobType::kPredict,
      [model](Blob images) { return model->logits(images, {.train = false}); }, images);
  FLOWRT_RETURN_IF_ERROR(eval_job.Compile());
  return eval_job;
}

}  // namespace flow::jobs
