#include "runtime/thread_governor.h"

#include <algorithm>
#include <array>

#include "runtime/status.h"

namespace flow {

ThreadGovernor::ThreadGovernor(int max_threads, bool can_pin)
    : max_threads_(max_threads), can_pin_(can_pin && max_threads > 1), current_(max_threads) {
  FLOWRT_CHECK(max_threads >= 1) << "ThreadGovernor needs at least 1 thread, got " << max_threads;
  window_.reserve(kWindow + 1);  // never grows after this
  window_usage_.reserve(kWindow + 1);
}

ThreadGovernor::Sharing ThreadGovernor::WindowSharing() const {
  double seconds = 0, cpu_seconds = 0;
  int64_t preemptions = 0;
  for (size_t i = 0; i < window_.size(); ++i) {
    seconds += window_[i];
    preemptions += window_usage_[i].preemptions;
    cpu_seconds += window_usage_[i].cpu_seconds;
  }
  return {preemptions >= kMinPreemptions && preemptions >= kContendedRate * seconds,
          current_ > 1 && cpu_seconds < kMinCpuShare * seconds * current_};
}

bool ThreadGovernor::ShouldPin(const Sharing& sharing) const {
  return can_pin_ && !pinned_ && current_ == max_threads_ && (sharing.preempted || sharing.starved);
}

bool ThreadGovernor::ShouldProbeOne(const Sharing& sharing) const {
  return sharing.preempted || (!can_pin_ && sharing.starved);
}

// A copy on the stack: Record runs every training step, which must not allocate.
double ThreadGovernor::Median(const std::vector<double>& window) {
  FLOWRT_CHECK_EQ(static_cast<int>(window.size()), kWindow);
  std::array<double, kWindow> times;
  std::copy(window.begin(), window.end(), times.begin());
  std::nth_element(times.begin(), times.begin() + kWindow / 2, times.end());
  return times[kWindow / 2];
}

void ThreadGovernor::SwitchTo(int threads) {
  current_ = threads;
  skip_left_ = kSkip;
  window_.clear();
  window_usage_.clear();
}

void ThreadGovernor::PinAndRemeasure() {
  pinned_ = true;
  phase_ = Phase::kMeasure;
  SwitchTo(max_threads_);
}

void ThreadGovernor::Record(double seconds, Usage usage) {
  (current_ == max_threads_ ? steps_many_ : steps_one_) += 1;
  if (max_threads_ == 1) return;
  if (phase_ == Phase::kSettled) {
    ++settled_steps_;
    settled_seconds_ += seconds;
  }
  if (skip_left_ > 0) {
    --skip_left_;
    return;
  }
  window_.push_back(seconds);
  window_usage_.push_back(usage);
  switch (phase_) {
    case Phase::kMeasure: {  // a window at max_threads (the first, or the first pinned one)
      if (static_cast<int>(window_.size()) < kWindow) return;
      settled_median_ = Median(window_);
      const Sharing sharing = WindowSharing();
      if (ShouldPin(sharing)) {
        PinAndRemeasure();
      } else if (ShouldProbeOne(sharing)) {
        phase_ = Phase::kProbe;
        SwitchTo(Other());
      } else {
        phase_ = Phase::kSettled;
      }
      return;
    }
    case Phase::kProbe: {
      if (static_cast<int>(window_.size()) < kWindow) return;
      const double probed = Median(window_);
      phase_ = Phase::kSettled;
      settled_steps_ = 0;
      settled_seconds_ = 0;
      if (probed < settled_median_ * (1 - kMargin)) {  // the probed count is faster: stay on it
        settled_median_ = probed;
        interval_ = kFirstInterval;
        window_.clear();
        window_usage_.clear();
      } else {  // the choice holds: back to it, and probe less often
        interval_ = std::min(2 * interval_, kMaxInterval);
        SwitchTo(Other());
      }
      return;
    }
    case Phase::kSettled: {
      if (static_cast<int>(window_.size()) > kWindow) {
        window_.erase(window_.begin());
        window_usage_.erase(window_usage_.begin());
      }
      const bool full = static_cast<int>(window_.size()) == kWindow;
      const double recent = full ? Median(window_) : settled_median_;
      const bool busier = full && recent > kLoadChange * settled_median_;
      const bool due = settled_steps_ >= interval_ ||
                       (settled_steps_ >= kFirstInterval && settled_seconds_ >= kMaxSettledSeconds);
      if (current_ == max_threads_ && full) {
        const Sharing sharing = WindowSharing();
        if (ShouldPin(sharing)) {  // the machine got shared: pin at once
          PinAndRemeasure();
          return;
        }
        // At max_threads, 1 thread can be faster only on a shared machine (on 1 thread,
        // preemptions do not show a neighbour on the other core, so there the timed probes stay).
        if (!ShouldProbeOne(sharing)) return;
      }
      if ((!busier && !due) || (current_ == max_threads_ && !full)) return;
      if (busier) interval_ = kFirstInterval;
      settled_median_ = recent;  // the settled count's time now, to compare the probe with
      phase_ = Phase::kProbe;
      SwitchTo(Other());
      return;
    }
  }
}

}  // namespace flow
