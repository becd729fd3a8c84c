#include "runtime/thread_governor.h"

#include <algorithm>
#include <array>

#include "runtime/status.h"

namespace flow {

ThreadGovernor::ThreadGovernor(int max_threads, bool can_pin, bool can_chunks_only)
    : max_threads_(max_threads),
      can_pin_(can_pin && max_threads > 1),
      can_chunks_only_(can_chunks_only && can_pin_),
      current_{max_threads, false} {
  FLOWRT_CHECK(max_threads >= 1) << "ThreadGovernor needs at least 1 thread, got " << max_threads;
  window_.reserve(kPinnedWindow + 1);  // never grows after this
  window_usage_.reserve(kPinnedWindow + 1);
}

ThreadGovernor::Sharing ThreadGovernor::WindowSharing() const {
  double seconds = 0, cpu_seconds = 0, chunk_seconds = 0;
  int64_t preemptions = 0;
  for (size_t i = 0; i < window_.size(); ++i) {
    seconds += window_[i];
    preemptions += window_usage_[i].preemptions;
    cpu_seconds += window_usage_[i].cpu_seconds;
    chunk_seconds += window_usage_[i].chunk_seconds;
  }
  const int threads = current_.threads;
  return {preemptions >= kMinPreemptions && preemptions >= kContendedRate * seconds,
          threads > 1 && cpu_seconds < kMinCpuShare * seconds * threads,
          chunk_seconds >= kMinChunkShare * seconds};
}

bool ThreadGovernor::ShouldPin(const Sharing& sharing) const {
  return can_pin_ && !pinned_ && current_.threads == max_threads_ &&
         (sharing.preempted || sharing.starved);
}

bool ThreadGovernor::ShouldProbeOne(const Sharing& sharing) const {
  return sharing.preempted || (!can_pin_ && sharing.starved);
}

bool ThreadGovernor::ShouldProbeStyle(const Sharing& sharing) const {
  return can_chunks_only_ && pinned_ && current_.threads == max_threads_ &&
         (current_.chunks_only ||
          ((sharing.preempted || sharing.starved) && sharing.mostly_chunks));
}

// A copy on the stack: Record runs every training step, which must not allocate.
double ThreadGovernor::Median(const std::vector<double>& window) {
  const int n = static_cast<int>(window.size());
  FLOWRT_CHECK(n >= 1 && n <= kPinnedWindow) << n;
  std::array<double, kPinnedWindow> times;
  std::copy(window.begin(), window.end(), times.begin());
  std::nth_element(times.begin(), times.begin() + n / 2, times.begin() + n);
  return times[n / 2];
}

void ThreadGovernor::SwitchTo(Mode mode) {
  current_ = mode;
  if (mode.threads == max_threads_) max_chunks_only_ = mode.chunks_only;
  skip_left_ = kSkip;
  window_.clear();
  window_usage_.clear();
}

void ThreadGovernor::PinAndRemeasure() {
  pinned_ = true;
  phase_ = Phase::kMeasure;
  SwitchTo({max_threads_, false});
}

void ThreadGovernor::Probe(std::initializer_list<Mode> probes) {
  FLOWRT_CHECK(probes.size() >= 1 && probes.size() <= probes_.size());
  settled_mode_ = current_;
  std::copy(probes.begin(), probes.end(), probes_.begin());
  probe_count_ = static_cast<int>(probes.size());
  probe_index_ = 0;
  phase_ = Phase::kProbe;
  SwitchTo(probes_[0]);
}

void ThreadGovernor::ProbeFromMax(bool style, bool one) {
  const Mode other_style{max_threads_, !current_.chunks_only}, one_thread{1, false};
  if (style && one) {
    Probe({other_style, one_thread});
  } else if (style) {
    Probe({other_style});
  } else if (one) {
    Probe({one_thread});
  } else {
    phase_ = Phase::kSettled;
  }
}

void ThreadGovernor::Record(double seconds, Usage usage) {
  (current_.threads == max_threads_ ? steps_many_ : steps_one_) += 1;
  if (current_.chunks_only) ++steps_chunks_only_;
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
      if (static_cast<int>(window_.size()) < Window()) return;
      settled_median_ = Median(window_);
      const Sharing sharing = WindowSharing();
      if (ShouldPin(sharing)) {
        PinAndRemeasure();
      } else {
        ProbeFromMax(ShouldProbeStyle(sharing), ShouldProbeOne(sharing));
      }
      return;
    }
    case Phase::kProbe: {
      if (static_cast<int>(window_.size()) < Window()) return;
      probe_medians_[probe_index_] = Median(window_);
      if (++probe_index_ < probe_count_) {
        SwitchTo(probes_[probe_index_]);
        return;
      }
      phase_ = Phase::kSettled;
      settled_steps_ = 0;
      settled_seconds_ = 0;
      // The fastest probe that beats the settled mode by the margin; chunks-only, probed from
      // all threads because they were contended, only has to stay within it.
      int best = -1;
      for (int i = 0; i < probe_count_; ++i) {
        const bool favoured = probes_[i].chunks_only && !settled_mode_.chunks_only;
        const double bar = settled_median_ * (favoured ? 1 + kMargin : 1 - kMargin);
        if (probe_medians_[i] < bar && (best < 0 || probe_medians_[i] < probe_medians_[best])) {
          best = i;
        }
      }
      if (best < 0) {  // the choice holds: back to it, and probe less often
        interval_ = std::min(2 * interval_, kMaxInterval);
        SwitchTo(settled_mode_);
        return;
      }
      settled_median_ = probe_medians_[best];
      interval_ = kFirstInterval;
      if (probes_[best] == current_) {  // the last probe won: stay on it, its window is warm
        window_.clear();
        window_usage_.clear();
      } else {
        SwitchTo(probes_[best]);
      }
      return;
    }
    case Phase::kSettled: {
      if (static_cast<int>(window_.size()) > Window()) {
        window_.erase(window_.begin());
        window_usage_.erase(window_usage_.begin());
      }
      const bool full = static_cast<int>(window_.size()) == Window();
      const double recent = full ? Median(window_) : settled_median_;
      const bool busier = full && recent > kLoadChange * settled_median_;
      const bool due = settled_steps_ >= interval_ ||
                       (settled_steps_ >= kFirstInterval && settled_seconds_ >= kMaxSettledSeconds);
      bool style = false, one = true;
      if (current_.threads == max_threads_) {
        if (!full) return;
        const Sharing sharing = WindowSharing();
        if (ShouldPin(sharing)) {  // the machine got shared: pin at once
          PinAndRemeasure();
          return;
        }
        // At max_threads, 1 thread can be faster only on a shared machine (on 1 thread,
        // preemptions do not show a neighbour on the other core, so there the timed probes stay).
        style = ShouldProbeStyle(sharing);
        one = ShouldProbeOne(sharing);
        if (!style && !one) return;
      }
      if (!busier && !due) return;
      if (busier) interval_ = kFirstInterval;
      settled_median_ = recent;  // the settled mode's time now, to compare the probes with
      if (current_.threads == max_threads_) {
        ProbeFromMax(style, one);
      } else {
        Probe({{max_threads_, max_chunks_only_}});
      }
      return;
    }
  }
}

}  // namespace flow
