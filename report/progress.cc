#include "report/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "absl/strings/str_format.h"

namespace flow::jobs {
namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);  // ~10 redraws per second
constexpr int kBarWidth = 24;
constexpr double kEmaAlpha = 0.1;

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  return absl::StrFormat("%d:%02d", s / 60, s % 60);
}

Progress::Progress(const ProgressOptions& options)
    : options_(options), out_(options.out ? options.out : &std::cout), style_(options.style) {
  if (options_.steps_per_epoch < 1) options_.steps_per_epoch = 1;
  if (style_ == ProgressStyle::kAuto) {
    style_ = out_ == &std::cout && ::isatty(STDOUT_FILENO) ? ProgressStyle::kLive
                                                           : ProgressStyle::kPlain;
  }
}

void Progress::Begin(int64_t first_step, int64_t steps) {
  first_step_ = window_first_step_ = epoch_first_step_ = first_step;
  steps_ = steps;
  end_step_ = first_step + steps;
  run_start_ = window_start_ = epoch_start_ = Clock::now();
  last_draw_ = run_start_ - kRedrawInterval;
}

bool Progress::Due(int64_t step, bool last) {
  switch (style_) {
    case ProgressStyle::kPlain:
      return PlainLineDue(step, last);
    case ProgressStyle::kLive:
      return last || step % options_.steps_per_epoch == 0 ||
             Clock::now() - last_draw_ >= kRedrawInterval;
    default:
      return false;
  }
}

// Multiples of log_every of the global step, so a resumed run prints the lines an uninterrupted
// one does.
bool Progress::PlainLineDue(int64_t step, bool last) const {
  return options_.log_every > 0 && (step % options_.log_every == 0 || last);
}

void Progress::Report(int64_t step, double loss) {
  if (step == last_reported_step_) return;
  last_reported_step_ = step;
  ema_ = have_ema_ ? kEmaAlpha * loss + (1 - kEmaAlpha) * ema_ : loss;
  have_ema_ = true;
  epoch_loss_sum_ += loss;
  ++epoch_reports_;
  const bool last = step == end_step_;
  if (style_ == ProgressStyle::kPlain && PlainLineDue(step, last)) {
    const auto now = Clock::now();
    const double seconds = Seconds(now - window_start_);
    const double rate =
        seconds > 0 ? (step - window_first_step_) * options_.batch_size / seconds : 0;
    *out_ << absl::StrFormat("step %d  epoch %d  loss %.6f  %.0f images/s\n", step,
                             (step - 1) / options_.steps_per_epoch + 1, loss, rate);
    window_start_ = now;
    window_first_step_ = step;
  } else if (style_ == ProgressStyle::kLive) {
    const auto now = Clock::now();
    if (last || step % options_.steps_per_epoch == 0 || now - last_draw_ >= kRedrawInterval) {
      DrawLive(step);
      last_draw_ = now;
    }
  }
}

void Progress::DrawLive(int64_t step) {
  const int64_t spe = options_.steps_per_epoch;
  const int64_t epoch = (step - 1) / spe + 1;
  const int64_t epochs = (end_step_ + spe - 1) / spe;
  const int64_t in_epoch = step - (epoch - 1) * spe;
  const int filled = static_cast<int>(kBarWidth * in_epoch / spe);
  std::string bar(kBarWidth, ' ');
  std::fill(bar.begin(), bar.begin() + filled, '=');
  if (filled < kBarWidth) bar[filled] = '>';
  const double epoch_seconds = Seconds(Clock::now() - epoch_start_);
  const int64_t epoch_done = step - epoch_first_step_;
  const double run_seconds = Seconds(Clock::now() - run_start_);
  const int64_t run_done = step - first_step_;
  // Early in an epoch the epoch's own rate is noise: show the run's until 0.5 s have passed.
  const double rate = epoch_seconds >= 0.5 ? epoch_done * options_.batch_size / epoch_seconds
                      : run_seconds > 0    ? run_done * options_.batch_size / run_seconds
                                           : 0;
  const double eta = run_done > 0 ? run_seconds / run_done * (end_step_ - step) : -1;
  *out_ << absl::StrFormat("\repoch %d/%d [%s] %d/%d  loss %.4f  lr %g  %.0f img/s  ETA %s\x1b[K",
                           epoch, epochs, bar, in_epoch, spe, ema_, options_.lr, rate,
                           FormatDuration(eta));
  out_->flush();
  live_line_open_ = true;
}

void Progress::ClearLive() {
  if (!live_line_open_) return;
  *out_ << "\r\x1b[K";
  live_line_open_ = false;
}

void Progress::EpochEnd(int64_t epoch, double test_accuracy) {
  const double seconds = Seconds(Clock::now() - epoch_start_);
  const bool print =
      style_ == ProgressStyle::kLive || (style_ == ProgressStyle::kPlain && options_.log_every > 0);
  if (print && epoch_reports_ > 0) {
    ClearLive();
    const int64_t epochs = (end_step_ + options_.steps_per_epoch - 1) / options_.steps_per_epoch;
    std::string line = absl::StrFormat("epoch %d/%d  train loss %.4f", epoch, epochs,
                                       epoch_loss_sum_ / epoch_reports_);
    if (test_accuracy >= 0) line += absl::StrFormat("  test accuracy %.4f", test_accuracy);
    line += absl::StrFormat("  %.1f s\n", seconds);
    *out_ << line;
    out_->flush();
  }
  epoch_loss_sum_ = 0;
  epoch_reports_ = 0;
  epoch_start_ = Clock::now();
  epoch_first_step_ = last_reported_step_ >= 0 ? last_reported_step_ : epoch_first_step_;
}

void Progress::Note(const std::string& line) {
  if (style_ == ProgressStyle::kQuiet) return;
  ClearLive();
  *out_ << line << "\n";
  out_->flush();
}

}  // namespace flow::jobs
