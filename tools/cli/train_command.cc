// flowrt train / flowrt eval: the CLI face of jobs/trainer.h.
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "jobs/trainer.h"
#include "report/metrics.h"
#include "tools/cli/commands.h"
#include "tools/cli/training_flags.h"

ABSL_FLAG(std::string, job, "lenet", "model: lenet, mlp or mlp_finetune");
ABSL_FLAG(std::string, data, "data/mnist",
          "directory with the four MNIST IDX files (plain or .gz)");
ABSL_FLAG(int64_t, epochs, 0,
          "epochs to train (default 1 when --steps is not set): in this run, on top of a --load'ed "
          "train step; with --resume, in the whole run");
ABSL_FLAG(int64_t, steps, 0,
          "iterations to train: in this run, on top of a --load'ed train step; with --resume, the "
          "whole run's, so a re-run trains only what its latest snapshot has not");
ABSL_FLAG(int32_t, batch_size, 100, "examples per iteration");
ABSL_FLAG(uint64_t, seed, 0, "session seed: initial weights, shuffling, dropout masks");
ABSL_FLAG(bool, shuffle, false, "shuffle the training set each epoch (seeded)");
ABSL_FLAG(int32_t, threads, 0, "kernel threads (0 = OMP_NUM_THREADS if set, else all cores)");
ABSL_FLAG(bool, adapt_threads, true,
          "each step runs on --threads or 1 thread, whichever ran faster lately; 1 thread is tried "
          "only while other programs preempt this one (steady on a busy machine; the results are "
          "the same bits at either count)");
ABSL_FLAG(std::string, load, "", "snapshot to start from (fine-tune/resume) or to evaluate");
ABSL_FLAG(std::string, save, "",
          "snapshot directory to write at the end (must not exist or be empty)");
ABSL_FLAG(std::string, snapshot_root, "",
          "directory of periodic snapshots <root>/snapshot_<step> (written atomically)");
ABSL_FLAG(int64_t, snapshot_every, 0,
          "with --snapshot_root: snapshot every N steps (and at the end)");
ABSL_FLAG(int32_t, keep, 3, "with --snapshot_root: keep the newest K snapshots");
ABSL_FLAG(bool, resume, false,
          "with --snapshot_root: continue from its latest complete snapshot (none yet: start "
          "fresh) until --epochs/--steps are done in all; not with --load");
ABSL_FLAG(int32_t, log_every, 20,
          "when stdout is not a terminal, print a progress line every N steps (0 = never); "
          "also the metrics.csv row interval");
ABSL_FLAG(bool, quiet, false, "print only errors and the final accuracy line");
ABSL_FLAG(bool, evaluate, true,
          "measure test accuracy at each epoch end and at the end (--noevaluate: skip it, e.g. "
          "when timing training)");
ABSL_FLAG(std::string, metrics, "",
          "metrics CSV to write, its directories created as needed (default: beside the "
          "snapshot, <save>.metrics.csv, else <snapshot_root>.metrics.csv, else none; 'none' = "
          "don't)");

namespace flow::cli {

int Fail(const std::string& command, const absl::Status& status) {
  std::cerr << "flowrt " << command << ": " << status.message() << "\n";
  return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
}

int RunTrain(const std::vector<std::string>& args) {
  if (!args.empty()) {
    return Fail("train", absl::InvalidArgumentError(absl::StrCat("unexpected argument '", args[0],
                                                                 "' (flags are --name=value)")));
  }
  const int64_t epochs = absl::GetFlag(FLAGS_epochs), steps = absl::GetFlag(FLAGS_steps);
  if (epochs > 0 && steps > 0) {
    return Fail("train", absl::InvalidArgumentError("give --epochs or --steps, not both"));
  }
  if (epochs < 0 || steps < 0) {
    return Fail("train", absl::InvalidArgumentError("--epochs and --steps must not be negative"));
  }
  absl::StatusOr<jobs::ModelJobOptions> training = ReadTrainingFlags();
  if (!training.ok()) return Fail("train", training.status());
  jobs::TrainConfig config;
  config.model = absl::GetFlag(FLAGS_job);
  config.data_dir = absl::GetFlag(FLAGS_data);
  config.epochs = epochs > 0 ? epochs : 1;
  config.steps = steps;
  config.batch_size = training->batch_size;
  config.optimizer = training->optimizer;
  config.lr = training->lr;
  config.momentum = training->momentum;
  config.clip_norm = training->clip_norm;
  config.dropout = training->dropout;
  config.seed = absl::GetFlag(FLAGS_seed);
  config.shuffle = absl::GetFlag(FLAGS_shuffle);
  config.threads = absl::GetFlag(FLAGS_threads);
  config.adapt_threads = absl::GetFlag(FLAGS_adapt_threads);
  config.load = absl::GetFlag(FLAGS_load);
  config.save = absl::GetFlag(FLAGS_save);
  config.log_every = absl::GetFlag(FLAGS_log_every);
  config.snapshot_root = absl::GetFlag(FLAGS_snapshot_root);
  config.snapshot_every = absl::GetFlag(FLAGS_snapshot_every);
  config.keep = absl::GetFlag(FLAGS_keep);
  config.resume = absl::GetFlag(FLAGS_resume);
  config.evaluate = absl::GetFlag(FLAGS_evaluate);
  if (absl::GetFlag(FLAGS_quiet)) config.progress = jobs::ProgressStyle::kQuiet;
  const std::string metrics = absl::GetFlag(FLAGS_metrics);
  if (metrics != "none") {
    config.metrics =
        metrics.empty() ? jobs::DefaultMetricsPath(config.save, config.snapshot_root) : metrics;
  }
  absl::StatusOr<jobs::TrainResult> result = jobs::Train(config);
  if (!result.ok()) return Fail("train", result.status());
  return 0;
}

int RunEval(const std::vector<std::string>& args) {
  if (!args.empty()) {
    return Fail("eval",
                absl::InvalidArgumentError(absl::StrCat("unexpected argument '", args[0], "'")));
  }
  absl::StatusOr<double> accuracy = jobs::Evaluate({.model = absl::GetFlag(FLAGS_job),
                                                    .data_dir = absl::GetFlag(FLAGS_data),
                                                    .load = absl::GetFlag(FLAGS_load),
                                                    .batch_size = absl::GetFlag(FLAGS_batch_size),
                                                    .threads = absl::GetFlag(FLAGS_threads)});
  if (!accuracy.ok()) return Fail("eval", accuracy.status());
  std::cout << absl::StrFormat("accuracy: %.4f\n", *accuracy);
  return 0;
}

}  // namespace flow::cli
