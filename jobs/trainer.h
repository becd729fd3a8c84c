// The training and evaluation loops behind `flowrt train` / `flowrt eval` and the examples:
// MNIST in, a model from models.h, SGD with OneFlow's semantics, snapshots out.
//
//   FLOWRT_ASSIGN_OR_RETURN(flow::jobs::TrainResult r,
//                    flow::jobs::Train({.model = "lenet", .data_dir = "data/mnist", .epochs = 1,
//                                       .save = "lenet_models_1"}));
//
// The loop is driven by the global train step: batch = step % batches_per_epoch and epoch =
// step / batches_per_epoch, so a run resumed from a snapshot (whose train step is restored) feeds
// the same batches, in the same shuffled order, with the same dropout masks as one that never
// stopped.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "absl/status/statusor.h"
#include "graph/session.h"
#include "report/progress.h"

namespace flow::jobs {

struct TrainConfig {
  std::string model = "lenet";
  std::string data_dir = "data/mnist";
  // How long to train: `steps` iterations, or `epochs` of the training set when steps is 0. With
  // `load` they count on top of the loaded train step (fine-tuning); with `resume` they are the
  // whole run's length, so only what the latest snapshot has not done yet is trained.
  int64_t epochs = 1;
  int64_t steps = 0;
  int batch_size = 100;
  std::string optimizer = "sgd";  // "sgd" or "adam" (jobs/model_jobs.h)
  float lr = 0.1f;
  float momentum = 0.f;   // sgd only
  float clip_norm = 0.f;  // clip the gradients by their global norm to at most this; 0 = off
  float dropout = 0.5f;
  uint64_t seed = 0;
  bool shuffle = false;
  int threads = 0;            // 0 = OMP_NUM_THREADS, else all cores
  bool adapt_threads = true;  // SessionOptions::adapt_threads
  std::string load;           // snapshot to start from (fine-tune / resume)
  std::string save;           // snapshot to write at the end
  // Periodic snapshots: <snapshot_root>/snapshot_<step> every `snapshot_every` steps (and at
  // the end), keeping the newest `keep`; `resume` starts from the latest complete one there (or
  // from scratch when there is none yet) and is an error together with `load`.
  std::string snapshot_root;
  int64_t snapshot_every = 0;
  int keep = 3;
  bool resume = false;
  int log_every = 20;           // plain progress lines and metrics rows every N steps; 0 = none
  bool evaluate = true;         // test accuracy at each epoch end and at the end of the run
  std::ostream* log = nullptr;  // progress; null = std::cout
  // kAuto: a live line on a terminal, plain lines otherwise; kQuiet: only the accuracy line.
  ProgressStyle progress = ProgressStyle::kAuto;
  // metrics.csv to write (see report/metrics.h); empty = none. `flowrt train` defaults it with
  // DefaultMetricsPath(). A resumed run (`resume`) appends to it.
  std::string metrics;
};

struct TrainResult {
  int64_t steps_run = 0;         // iterations this run trained
  int64_t train_step = 0;        // the counter after the run
  double last_loss = 0;          // mean loss of the last batch
  double test_accuracy = -1;     // -1 when not evaluated
  double images_per_second = 0;  // training throughput of this run
  LoadReport load_report;        // what --load loaded / left initialized
  // Under mpirun: seconds of this run's training spent blocked waiting for gradient all-reduces
  // (what backward did not hide), and the training seconds (images_per_second's denominator).
  double comm_wait_seconds = 0;
  double train_seconds = 0;
};

absl::StatusOr<TrainResult> Train(const TrainConfig& config);

struct EvalConfig {
  std::string model = "lenet";
  std::string data_dir = "data/mnist";
  std::string load;  // required: every variable of the model must be in it
  int batch_size = 100;
  int threads = 0;
};

// Test-set accuracy in [0, 1] of the snapshot's weights.
absl::StatusOr<double> Evaluate(const EvalConfig& config);

}  // namespace flow::jobs
