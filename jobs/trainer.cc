#include "jobs/trainer.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "checkpoint/snapshot_manager.h"
#include "data/mnist.h"
#include "graph/checkpoint.h"
#include "graph/data_parallel.h"
#include "graph/flow.h"
#include "jobs/model_jobs.h"
#include "jobs/models.h"
#include "report/metrics.h"
#include "report/progress.h"
#include "runtime/communicator.h"
#include "runtime/random.h"
#include "runtime/status.h"

namespace flow::jobs {
namespace {

// Fraction of test examples whose argmax logit is the label.
// Rows of logits (N, classes) whose argmax is the label (N,).
int64_t CountCorrect(const Tensor& logits, const Tensor& labels) {
  const int64_t n = logits.shape()[0], classes = logits.shape()[1];
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits.data<float>() + i * classes;
    const int64_t predicted = std::max_element(row, row + classes) - row;
    correct += predicted == labels.data<int32_t>()[i];
  }
  return correct;
}

// The eval job of a training session (it shares the live weights of the train job).
absl::StatusOr<double> TestAccuracy(JobFunction& eval_job, const data::Split& test) {
  int64_t correct = 0, total = 0;
  for (int b = 0; b < test.num_batches(); ++b) {
    const Tensor images = test.images(b);
    FLOWRT_RETURN_IF_ERROR(eval_job.RunInPlace({&images, 1}));
    const Tensor& logits = eval_job.fetch(0);  // (N, 10)
    correct += CountCorrect(logits, test.labels(b));
    total += logits.shape()[0];
  }
  return static_cast<double>(correct) / static_cast<double>(total);
}

// checkpoint::save refuses a path that exists and is not an empty directory; say so before
// training rather than after it.
absl::Status CheckSaveTarget(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::file_status status = fs::symlink_status(path, error);
  if (status.type() == fs::file_type::not_found) return absl::OkStatus();
  if (status.type() == fs::file_type::directory && fs::is_empty(path, error) && !error) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat("--save=", path, ": ", path,
                   " already exists and is not an empty directory; snapshots go to a new or "
                   "empty directory (pick another name or remove it)"));
}

// Whether `path` already holds a complete snapshot at train step `step`: a resumed run whose
// steps are all done finds its --save written by the run it finishes.
absl::StatusOr<bool> HoldsCompleteSnapshotAt(const std::string& path, int64_t step) {
  if (!std::filesystem::exists(std::filesystem::path(path) / "snapshot_done")) return false;
  FLOWRT_ASSIGN_OR_RETURN(checkpoint::Snapshot snapshot, checkpoint::get(path));
  const auto it = snapshot.find(optimizer::TrainStepVariableName(kTrainJobName));
  if (it == snapshot.end()) return false;
  FLOWRT_ASSIGN_OR_RETURN(Tensor saved_step, it->second.Read());
  return saved_step.num_elements() == 1 && saved_step.dtype() == kInt64 &&
         saved_step.data<int64_t>()[0] == step;
}

// Under mpirun every rank runs Train, and whatever one rank cannot do must fail all of them at
// the same point: Agree (runtime/communicator.h) is that point. Work on files happens on rank 0
// only (OnRankZero); the others learn its outcome. In one process both are the plain call.
template <typename T>
absl::StatusOr<T> Agreed(absl::StatusOr<T> value) {
  FLOWRT_RETURN_IF_ERROR(Communicator::World().Agree(value.status()));
  return value;
}

absl::Status OnRankZero(const std::function<absl::Status()>& fn) {
  Communicator& world = Communicator::World();
  return world.Agree(world.rank() == 0 ? fn() : absl::OkStatus());
}

// Every flag that changes what the ranks compute together (not --threads, which may differ per
// machine, nor how progress is shown). Ranks started with different flags are refused.
uint64_t ConfigHash(const TrainConfig& c) {
  return StableHash64(absl::StrCat(c.model, "|", c.data_dir, "|", c.epochs, "|", c.steps, "|",
                                   c.batch_size, "|", c.optimizer, "|", c.lr, "|", c.momentum, "|",
                                   c.clip_norm, "|", c.dropout, "|", c.seed, "|", c.shuffle, "|",
                                   c.load, "|", c.save, "|", c.snapshot_root, "|", c.snapshot_every,
                                   "|", c.keep, "|", c.resume, "|", c.evaluate));
}

absl::Status CheckConfig(const TrainConfig& config) {
  if (config.batch_size < 1) return absl::InvalidArgumentError("--batch_size must be positive");
  if (const int ranks = Communicator::World().size(); config.batch_size % ranks != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--batch_size=", config.batch_size, " is the global batch, which ", ranks,
                     " ranks cannot split evenly; give a multiple of ", ranks));
  }
  if (absl::Status s = optimizer::CheckGradClipping(config.clip_norm); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("--clip_norm ", s.message()));
  }
  if (config.resume && !config.load.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "give --resume or --load=", config.load,
        ", not both: --resume continues from the latest complete snapshot under --snapshot_root, "
        "--load starts from the snapshot it names"));
  }
  if (config.snapshot_root.empty() && (config.resume || config.snapshot_every > 0)) {
    return absl::InvalidArgumentError("--resume and --snapshot_every need --snapshot_root");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SaveToManager(checkpoint::SnapshotManager& manager, Session& session,
                                          int64_t step) {
  const std::map<std::string, Tensor> all = session.get_all_variables();
  return manager.Save(step, std::vector<std::pair<std::string, Tensor>>(all.begin(), all.end()));
}

}  // namespace

absl::StatusOr<TrainResult> Train(const TrainConfig& config) {
  Communicator& world = Communicator::World();
  const bool rank_zero = world.rank() == 0;
  std::ostream null_log(nullptr);  // ranks other than 0 print nothing but their errors
  std::ostream& log = !rank_zero ? null_log : config.log ? *config.log : std::cout;
  if (world.distributed()) {
    FLOWRT_RETURN_IF_ERROR(CheckSameOnEveryRank(ConfigHash(config), "the train flags"));
  }
  FLOWRT_RETURN_IF_ERROR(world.Agree(CheckConfig(config)));
  // Checked before any training; a --resume run checks once it knows whether it is already done.
  if (!config.save.empty() && !config.resume) {
    FLOWRT_RETURN_IF_ERROR(OnRankZero([&] { return CheckSaveTarget(config.save); }));
  }
  // Every rank reads the whole data set and feeds the same global batch; each computes its rows.
  FLOWRT_ASSIGN_OR_RETURN(
      data::Mnist mnist,
      Agreed(data::load_mnist(config.batch_size, config.batch_size, config.data_dir,
                              {.shuffle = config.shuffle, .seed = config.seed})));
  Session session(
      {.seed = config.seed, .threads = config.threads, .adapt_threads = config.adapt_threads});
  const ModelJobOptions job_options{.batch_size = config.batch_size,
                                    .optimizer = config.optimizer,
                                    .lr = config.lr,
                                    .momentum = config.momentum,
                                    .clip_norm = config.clip_norm,
                                    .dropout = config.dropout};
  ModelJobOptions train_options = job_options;
  train_options.train = true;
  FLOWRT_ASSIGN_OR_RETURN(JobFunction train_job,
                          Agreed(BuildModelJob(session, config.model, train_options)));
  FLOWRT_ASSIGN_OR_RETURN(JobFunction eval_job,
                          Agreed(BuildModelJob(session, config.model, job_options)));

  TrainResult result;
  const int batches = mnist.train.num_batches();
  Progress progress({.style = rank_zero ? config.progress : ProgressStyle::kQuiet,
                     .out = &log,
                     .log_every = config.log_every,
                     .batch_size = config.batch_size,
                     .steps_per_epoch = batches,
                     .lr = config.lr});
  // Snapshots are rank 0's: it opens the root, finds the latest, loads, and writes; `periodic`
  // says on every rank that the run has a root.
  const bool periodic = !config.snapshot_root.empty();
  std::optional<checkpoint::SnapshotManager> manager;
  std::string load = config.load;
  FLOWRT_RETURN_IF_ERROR(OnRankZero([&]() -> absl::Status {
    if (!periodic) return absl::OkStatus();
    FLOWRT_ASSIGN_OR_RETURN(manager, checkpoint::SnapshotManager::Open(config.snapshot_root,
                                                                       {.keep_last = config.keep}));
    if (config.resume) {
      FLOWRT_ASSIGN_OR_RETURN(std::optional<checkpoint::SnapshotInfo> latest, manager->Latest());
      if (latest.has_value()) {
        load = latest->path;
      } else {
        progress.Note(
            absl::StrCat("no complete snapshot in ", config.snapshot_root, "; starting fresh"));
      }
    }
    return absl::OkStatus();
  }));
  world.Broadcast(&load);
  if (!load.empty()) {
    FLOWRT_RETURN_IF_ERROR(OnRankZero([&]() -> absl::Status {
      FLOWRT_ASSIGN_OR_RETURN(checkpoint::Snapshot snapshot, checkpoint::get(load));
      FLOWRT_ASSIGN_OR_RETURN(result.load_report, load_variables(snapshot, true, session));
      return absl::OkStatus();
    }));
    // Every variable, the optimizer's slots and the train step included, as rank 0 loaded it.
    if (world.distributed()) {
      std::map<std::string, Tensor> all = session.get_all_variables();
      BroadcastFromRankZero(all);
    }
    std::string line =
        absl::StrCat("loaded ", result.load_report.loaded.size(), " variables from ", load);
    if (!result.load_report.missing.empty()) {
      absl::StrAppend(&line, "; initialized (not in snapshot): ",
                      absl::StrJoin(result.load_report.missing, ", "));
    }
    if (!result.load_report.unexpected.empty()) {
      absl::StrAppend(
          &line, "; ignored (not in model): ", absl::StrJoin(result.load_report.unexpected, ", "));
    }
    progress.Note(line);
  }
  std::optional<MetricsWriter> metrics;  // rank 0's
  if (!config.metrics.empty()) {
    FLOWRT_RETURN_IF_ERROR(OnRankZero([&]() -> absl::Status {
      FLOWRT_ASSIGN_OR_RETURN(metrics,
                              MetricsWriter::Open(config.metrics, config.resume && !load.empty()));
      return absl::OkStatus();
    }));
  }

  const int64_t* train_step =
      session.FindVariable(optimizer::TrainStepVariableName(kTrainJobName))->data<int64_t>();
  // --load counts the asked steps on top of the loaded counter (fine-tuning: load at 600, one
  // epoch, save at 1200); --resume finishes the run the command describes, whose last step is
  // the asked count, so the same command re-run after a crash trains only what is left.
  const int64_t asked = config.steps > 0 ? config.steps : config.epochs * batches;
  const int64_t steps = config.resume ? std::max<int64_t>(0, asked - *train_step) : asked;
  if (config.resume && !load.empty()) {
    progress.Note(absl::StrCat(
        "resumed from ", load, " at step ", *train_step, "; ",
        steps > 0 ? absl::StrCat(steps, " steps to go")
                  : absl::StrCat("the run's ", asked, " steps are done, nothing to train")));
  }
  bool save_done = false;  // a finished run's --save, found by the same command re-run
  if (config.resume && !config.save.empty()) {
    FLOWRT_RETURN_IF_ERROR(OnRankZero([&]() -> absl::Status {
      if (steps == 0) {
        FLOWRT_ASSIGN_OR_RETURN(save_done, HoldsCompleteSnapshotAt(config.save, *train_step));
      }
      return save_done ? absl::OkStatus() : CheckSaveTarget(config.save);
    }));
    world.Broadcast(&save_done, sizeof(save_done));
  }
  int64_t snapshot_at = config.resume && !load.empty() ? *train_step : -1;  // in the root
  const double wait_before = world.wait_seconds();
  const auto start = std::chrono::steady_clock::now();
  auto metrics_window_start = start;
  int64_t metrics_window_step = *train_step;
  int64_t evaluated_at = -1;  // the train step test_accuracy was measured at
  progress.Begin(*train_step, steps);
  for (int64_t i = 0; i < steps; ++i) {
    const int64_t step = *train_step;
    mnist.train.SetEpoch(step / batches);
    const Tensor feeds[] = {mnist.train.images(static_cast<int>(step % batches)),
                            mnist.train.labels(static_cast<int>(step % batches))};
    FLOWRT_RETURN_IF_ERROR(train_job.RunInPlace(feeds));
    ++result.steps_run;
    if (periodic && config.snapshot_every > 0 && *train_step % config.snapshot_every == 0) {
      FLOWRT_RETURN_IF_ERROR(OnRankZero([&]() -> absl::Status {
        FLOWRT_ASSIGN_OR_RETURN(std::string path, SaveToManager(*manager, session, *train_step));
        progress.Note(absl::StrCat("snapshot ", path));
        return absl::OkStatus();
      }));
      snapshot_at = *train_step;
    }
    // Everything below runs only on logging steps: the step itself does not allocate.
    const int64_t now_step = *train_step;
    const bool last = i + 1 == steps;
    const bool epoch_end = now_step % batches == 0;
    const bool metrics_due =
        metrics.has_value() &&
        ((config.log_every > 0 && now_step % config.log_every == 0) || epoch_end || last);
    const bool progress_due = progress.Due(now_step, last);
    if (!metrics_due && !progress_due && !epoch_end && !last) continue;
    result.last_loss = train_job.fetch(0).mean();
    progress.Report(now_step, result.last_loss);
    const auto logged_at = std::chrono::steady_clock::now();  // before evaluating
    double accuracy = -1;
    if ((epoch_end || last) && config.evaluate) {
      FLOWRT_ASSIGN_OR_RETURN(accuracy, TestAccuracy(eval_job, mnist.test));
      result.test_accuracy = accuracy;
      evaluated_at = now_step;
    }
    if (metrics_due) {
      const double seconds =
          std::chrono::duration<double>(logged_at - metrics_window_start).count();
      FLOWRT_RETURN_IF_ERROR(metrics->Row(
          {.step = now_step,
           .epoch = (now_step - 1) / batches + 1,
           .loss = result.last_loss,
           .lr = config.lr,
           .images_per_second =
               seconds > 0 ? (now_step - metrics_window_step) * config.batch_size / seconds : 0,
           .test_accuracy = accuracy}));
      metrics_window_start = std::chrono::steady_clock::now();  // eval time is not training time
      metrics_window_step = now_step;
    }
    if (epoch_end || last) progress.EpochEnd((now_step - 1) / batches + 1, accuracy);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.images_per_second = seconds > 0 ? result.steps_run * config.batch_size / seconds : 0;
  result.train_step = *train_step;
  result.train_seconds = seconds;
  result.comm_wait_seconds = world.wait_seconds() - wait_before;
  if (world.distributed()) {
    progress.Note(absl::StrFormat(
        "data-parallel over %d ranks: %.0f images/s; rank 0 waited %.3f s of %.3f s (%.1f%%) for "
        "gradient all-reduces",
        world.size(), result.images_per_second, result.comm_wait_seconds, seconds,
        seconds > 0 ? 100 * result.comm_wait_seconds / seconds : 0.0));
  }

  if (config.evaluate) {
    if (evaluated_at != *train_step) {
      FLOWRT_ASSIGN_OR_RETURN(result.test_accuracy, TestAccuracy(eval_job, mnist.test));
    }
    log << absl::StrFormat("accuracy: %.4f\n", result.test_accuracy);
  }
  if (periodic && snapshot_at != *train_step) {
    FLOWRT_RETURN_IF_ERROR(OnRankZero([&]() -> absl::Status {
      FLOWRT_ASSIGN_OR_RETURN(std::string path, SaveToManager(*manager, session, *train_step));
      progress.Note(absl::StrCat("snapshot ", path));
      return absl::OkStatus();
    }));
  }
  if (save_done) {
    progress.Note(absl::StrCat("--save=", config.save, " already holds step ", *train_step));
  } else if (!config.save.empty()) {
    // Collective under mpirun: rank 0 writes, every rank gets its outcome (checkpoint.h).
    FLOWRT_RETURN_IF_ERROR(checkpoint::save(config.save, session));
    progress.Note(
        absl::StrCat("saved ", session.VariableNames().size(), " variables to ", config.save));
  }
  return result;
}

// Runs on flow::Predictor, as any inference in flowrt does: the model's logits job loaded once
// from the snapshot, then one call per test batch into a reused (batch, 10) logits tensor.
absl::StatusOr<double> Evaluate(const EvalConfig& config) {
  if (config.load.empty()) return absl::InvalidArgumentError("eval needs --load=SNAPSHOT");
  const Model* model = FindModel(config.model);
  if (model == nullptr) {  // BuildModelJob's message for an unknown model
    Session scratch;
    return BuildModelJob(scratch, config.model, {}).status();
  }
  if (config.batch_size < 1) return absl::InvalidArgumentError("batch size must be positive");
  FLOWRT_ASSIGN_OR_RETURN(data::Mnist mnist,
                          data::load_mnist(config.batch_size, config.batch_size, config.data_dir));
  auto logits = [model](const Blob& images) { return model->logits(images, {.train = false}); };
  FLOWRT_ASSIGN_OR_RETURN(std::unique_ptr<Predictor> predictor,
                          Predictor::Load(config.load, logits, Placeholder({1, 28, 28}, kFloat),
                                          {.threads = config.threads, .name = "eval_job"}));
  FLOWRT_ASSIGN_OR_RETURN(const Shape logits_shape, predictor->OutputShape(config.batch_size));
  Tensor batch_logits(logits_shape, predictor->output_dtype());  // (N, 10)
  int64_t correct = 0, total = 0;
  for (int b = 0; b < mnist.test.num_batches(); ++b) {
    FLOWRT_RETURN_IF_ERROR(predictor->Predict(mnist.test.images(b), &batch_logits));
    correct += CountCorrect(batch_logits, mnist.test.labels(b));
    total += logits_shape[0];
  }
  return static_cast<double>(correct) / static_cast<double>(total);
}

}  // namespace flow::jobs
