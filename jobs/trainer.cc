#include "jobs/trainer.h"

#include <chrono>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "checkpoint/checkpoint.h"
#include "data/mnist.h"
#include "graph/flow.h"
#include "jobs/models.h"
#include "runtime/status.h"

namespace flow::jobs {
namespace {

absl::StatusOr<const Model*> GetModel(const std::string& name) {
  const Model* model = FindModel(name);
  if (model == nullptr) {
    std::vector<std::string> names;
    for (const Model& m : AllModels()) names.push_back(m.name);
    return absl::InvalidArgumentError(
        absl::StrCat("unknown model '", name, "'; choose one of ", absl::StrJoin(names, ", ")));
  }
  return model;
}

Placeholder ImagesPlaceholder(int batch) {
  return Placeholder({batch, 1, 28, 28}, kFloat, "images");
}

// A predict job returning logits (N, 10), sharing the variables of `session`.
JobFunction MakeEvalJob(Session& session, const Model* model, int batch) {
  return global_function(
      session, "eval_job", JobType::kPredict,
      [model](Blob images) { return model->logits(images, {.train = false}); },
      ImagesPlaceholder(batch));
}

// Fraction of test examples whose argmax logit is the label.
absl::StatusOr<double> TestAccuracy(JobFunction& eval_job, const data::Split& test) {
  int64_t correct = 0, total = 0;
  for (int b = 0; b < test.num_batches(); ++b) {
    const Tensor images = test.images(b);
    RETURN_IF_ERROR(eval_job.RunInPlace({&images, 1}));
    const Tensor& logits = eval_job.fetch(0);  // (N, 10)
    const Tensor labels = test.labels(b);
    const int64_t n = logits.shape()[0], classes = logits.shape()[1];
    for (int64_t i = 0; i < n; ++i) {
      const float* row = logits.data<float>() + i * classes;
      const int64_t predicted = std::max_element(row, row + classes) - row;
      correct += predicted == labels.data<int32_t>()[i];
    }
    total += n;
  }
  return static_cast<double>(correct) / static_cast<double>(total);
}

}  // namespace

absl::StatusOr<TrainResult> Train(const TrainConfig& config) {
  std::ostream& log = config.log ? *config.log : std::cout;
  ASSIGN_OR_RETURN(const Model* model, GetModel(config.model));
  if (config.batch_size < 1) return absl::InvalidArgumentError("--batch_size must be positive");
  ASSIGN_OR_RETURN(data::Mnist mnist,
                   data::load_mnist(config.batch_size, config.batch_size, config.data_dir,
                                    {.shuffle = config.shuffle, .seed = config.seed}));
  Session session({.seed = config.seed, .threads = config.threads});
  const float dropout = config.dropout;
  const float lr = config.lr, momentum = config.momentum;
  JobFunction train_job = global_function(
      session, "train_job", JobType::kTrain,
      [&](Blob images, Blob labels) {
        scope::Placement cpu("cpu", "0:0");
        Blob logits = model->logits(images, {.train = true, .dropout = dropout});
        Blob loss = nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {lr}), {.momentum = momentum})
            .minimize(loss);
        return loss;
      },
      ImagesPlaceholder(config.batch_size), Placeholder({config.batch_size}, kInt32, "labels"));
  RETURN_IF_ERROR(train_job.Compile());
  JobFunction eval_job = MakeEvalJob(session, model, config.batch_size);
  RETURN_IF_ERROR(eval_job.Compile());

  TrainResult result;
  if (!config.load.empty()) {
    ASSIGN_OR_RETURN(checkpoint::Snapshot snapshot, checkpoint::get(config.load));
    ASSIGN_OR_RETURN(result.load_report, load_variables(snapshot, true, session));
    log << "loaded " << result.load_report.loaded.size() << " variables from " << config.load;
    if (!result.load_report.missing.empty()) {
      log << "; initialized (not in snapshot): " << absl::StrJoin(result.load_report.missing, ", ");
    }
    if (!result.load_report.unexpected.empty()) {
      log << "; ignored (not in model): " << absl::StrJoin(result.load_report.unexpected, ", ");
    }
    log << "\n";
  }

  const int64_t* train_step =
      session.FindVariable(optimizer::TrainStepVariableName("train_job"))->data<int64_t>();
  const int batches = mnist.train.num_batches();
  const int64_t steps = config.steps > 0 ? config.steps : config.epochs * batches;
  const auto start = std::chrono::steady_clock::now();
  auto window_start = start;
  for (int64_t i = 0; i < steps; ++i) {
    const int64_t step = *train_step;
    mnist.train.SetEpoch(step / batches);
    const Tensor feeds[] = {mnist.train.images(static_cast<int>(step % batches)),
                            mnist.train.labels(static_cast<int>(step % batches))};
    RETURN_IF_ERROR(train_job.RunInPlace(feeds));
    ++result.steps_run;
    const bool last = i + 1 == steps;
    if (config.log_every > 0 && ((i + 1) % config.log_every == 0 || last)) {
      result.last_loss = train_job.fetch(0).mean();
      const auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - window_start).count();
      const int64_t window_steps =
          (i + 1) % config.log_every == 0 ? config.log_every : (i + 1) % config.log_every;
      log << absl::StrFormat("step %d  epoch %d  loss %.6f  %.0f images/s\n", *train_step,
                             (*train_step - 1) / batches + 1, result.last_loss,
                             window_steps * config.batch_size / seconds);
      window_start = now;
    }
  }
  if (steps > 0) result.last_loss = train_job.fetch(0).mean();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.images_per_second = seconds > 0 ? result.steps_run * config.batch_size / seconds : 0;
  result.train_step = *train_step;

  if (config.evaluate) {
    ASSIGN_OR_RETURN(result.test_accuracy, TestAccuracy(eval_job, mnist.test));
    log << absl::StrFormat("accuracy: %.4f\n", result.test_accuracy);
  }
  if (!config.save.empty()) {
    RETURN_IF_ERROR(checkpoint::save(config.save, session));
    log << "saved " << session.VariableNames().size() << " variables to " << config.save << "\n";
  }
  return result;
}

absl::StatusOr<double> Evaluate(const EvalConfig& config) {
  ASSIGN_OR_RETURN(const Model* model, GetModel(config.model));
  if (config.load.empty()) return absl::InvalidArgumentError("eval needs --load=SNAPSHOT");
  ASSIGN_OR_RETURN(data::Mnist mnist,
                   data::load_mnist(config.batch_size, config.batch_size, config.data_dir));
  Session session({.threads = config.threads});
  JobFunction eval_job = MakeEvalJob(session, model, config.batch_size);
  RETURN_IF_ERROR(eval_job.Compile());
  ASSIGN_OR_RETURN(checkpoint::Snapshot snapshot, checkpoint::get(config.load));
  ASSIGN_OR_RETURN(LoadReport report, load_variables(snapshot, true, session));
  if (!report.missing.empty()) {
    return absl::NotFoundError(absl::StrCat("snapshot ", config.load, " does not fit model '",
                                            config.model, "': it lacks ",
                                            absl::StrJoin(report.missing, ", ")));
  }
  return TestAccuracy(eval_job, mnist.test);
}

}  // namespace flow::jobs
