// Training progress for people and for logs: what `flowrt train` prints while it runs.
//
//   Progress progress({.style = ProgressStyle::kAuto, .out = &std::cout, .log_every = 20,
//                      .batch_size = 100, .steps_per_epoch = 600, .lr = 0.1});
//   progress.Begin(first_step, total_steps);
//   for (...) {
//     RunStep();
//     if (progress.Due(step, last)) progress.Report(step, loss_mean_of_this_batch);
//   }
//   progress.EpochEnd(epoch, test_accuracy_or_negative);
//
// Styles:
//   kLive  (stdout is a terminal): one line per epoch, redrawn in place with '\r' at most ~10x/s:
//          `epoch 1/2 [#######.......]  300/600  loss 0.3124  lr 0.1  5210 img/s  ETA 0:12`
//          (loss is an exponential moving average), then a summary line per epoch:
//          `epoch 1/2  train loss 0.2981  test accuracy 0.9712  11.6 s`.
//   kPlain (a pipe or a log file): `step 20  epoch 1  loss 0.523000  390 images/s` at every
//          global step that is a multiple of `log_every` (0 = never; a resumed run prints the
//          lines an uninterrupted one would) and at the last step.
//   kQuiet: nothing; Note() is dropped too. Errors and the final accuracy line are the
//          caller's to print.
// Nothing here allocates per step: Due() is a counter and a clock read, and the caller computes
// the loss only when Due() says so.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace flow::jobs {

enum class ProgressStyle { kAuto, kLive, kPlain, kQuiet };

struct ProgressOptions {
  ProgressStyle style = ProgressStyle::kAuto;  // kAuto: kLive if `out` is std::cout on a tty
  std::ostream* out = nullptr;                 // null = std::cout
  int log_every = 20;                          // plain lines; 0 = none
  int64_t batch_size = 100;
  int64_t steps_per_epoch = 1;
  double lr = 0;
};

class Progress {
 public:
  explicit Progress(const ProgressOptions& options);

  // The resolved style (never kAuto).
  ProgressStyle style() const { return style_; }

  // `first_step` is the global train step before this run, `steps` the iterations to run.
  void Begin(int64_t first_step, int64_t steps);

  // After the step that brought the global counter to `step`: whether to compute the loss and
  // call Report(). True every log_every steps (plain), every ~100 ms (live), at epoch ends and
  // at the last step.
  bool Due(int64_t step, bool last);

  // The mean loss of the batch that brought the counter to `step`.
  void Report(int64_t step, double loss);

  // At the end of an epoch (or the run): the summary line. `test_accuracy` < 0 = not evaluated.
  void EpochEnd(int64_t epoch, double test_accuracy);

  // A line of its own (e.g. "snapshot ..."), not mixed into the live line; dropped when quiet.
  void Note(const std::string& line);

  // Smoothed loss (EMA) and the mean of the losses reported in the current epoch.
  double smoothed_loss() const { return ema_; }
  double epoch_mean_loss() const { return epoch_reports_ ? epoch_loss_sum_ / epoch_reports_ : 0; }

 private:
  using Clock = std::chrono::steady_clock;
  void DrawLive(int64_t step);
  bool PlainLineDue(int64_t step, bool last) const;
  void ClearLive();

  ProgressOptions options_;
  std::ostream* out_;
  ProgressStyle style_;
  int64_t first_step_ = 0, steps_ = 0, end_step_ = 0;
  int64_t window_first_step_ = 0;  // plain: throughput since the last line
  Clock::time_point window_start_, run_start_, epoch_start_, last_draw_;
  int64_t epoch_first_step_ = 0;
  double ema_ = 0;
  bool have_ema_ = false;
  double epoch_loss_sum_ = 0;
  int64_t epoch_reports_ = 0;
  bool live_line_open_ = false;
  int64_t last_reported_step_ = -1;
};

// "1:05", "12:00:03": the ETA format.
std::string FormatDuration(double seconds);

}  // namespace flow::jobs
