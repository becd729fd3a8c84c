// How many OpenMP threads the next run of a compiled job gets when SessionOptions::adapt_threads
// is on (issue 15): all of them, or one, whichever ran the job faster lately.
//
//   ThreadGovernor governor(/*max_threads=*/2);
//   for (;;) {
//     const int threads = governor.threads();   // 2 or 1
//     ... run the step with `threads` ...
//     governor.Record(step_seconds, {preemptions, cpu_seconds});  // getrusage, over the step
//   }
//
// Why: on a machine where another process keeps a core busy, every parallel region waits at its
// closing barrier for the thread that shares that core, and the neighbour's time slice decides
// when it arrives. Beside a busy loop pinned to one of 2 cores (AMD EPYC Zen 3), flowrt's MLP
// step took 3.65 ms at 2 threads against 2.60 ms at 1 (and 1.98 ms at 2 threads quiet); PyTorch's
// took 12.2 ms at 2 threads (tools/bench/RESULTS.md). No fixed thread count is right for both
// a quiet and a shared machine, so the governor measures.
//
// Policy (a pure function of the recorded times and usage, so tests drive it with made-up ones):
//  - Two candidates: max_threads and 1. It starts at max_threads.
//  - A window is kWindow timed steps at one count, after kSkip untimed ones (the first step
//    after a switch pays for cold caches and sleeping threads). Its median is that count's time.
//  - A window at max_threads is contended when the process was preempted (involuntary context
//    switches: another runnable thread took the core) at least kMinPreemptions times and at a rate
//    of kContendedRate (100) per second of the window, or when its threads got less than
//    kMinCpuShare (75%) of their wall time as CPU time. On a quiet machine neither holds, and the
//    governor never probes: 1 thread costs nothing there. Measured on AMD EPYC Zen 5, 2 cores,
//    2 threads: preemptions per second (`/usr/bin/time`, 200 steps) LeNet ~30 quiet (this VM's
//    own daemons), ~560 beside a busy loop on one core, unbound, ~90 bound; the MLP ~30 quiet,
//    ~1600 unbound beside the loop. The CPU share (train_step_bench's cpu_ms_per_step / ms / 2)
//    is 0.95 quiet for LeNet, 0.90 for the MLP; beside the loop 0.51 unbound (both threads on the
//    free core, taking turns: then few preemptions) and 0.61 pinned.
//  - The first contended window at max_threads pins them (when the caller can: `can_pin`, see
//    runtime/team_pinning.h), for the rest of the run: unpinned, Linux tends to put both threads
//    on the core the neighbour leaves free. It then measures pinned max_threads for a window.
//  - After a window at pinned max_threads that was preempted (or, where it cannot pin, any
//    contended one) it probes 1 thread for one window, then settles on the faster. The probed
//    count wins only if it is faster by more than kMargin (5%).
//  - Settled, it probes again after `interval` steps: kFirstInterval (50), doubled each time a
//    probe confirms the choice (up to kMaxInterval, 800), back to kFirstInterval after a switch;
//    at max_threads only once a window is contended. It probes sooner, though not before
//    kFirstInterval steps, once the settled steps have taken kMaxSettledSeconds (30 s): after a
//    neighbour stops (1 thread's time does not show it) it then stays on 1 thread for at most
//    max(30 s, 50 steps), not 800 steps (80 s of LeNet), for ~1.5% of LeNet's time spent probing
//    a count 1.75× slower.
//  - It probes at once when the settled count's last window is kLoadChange (1.3×) slower than the
//    window it settled on (the machine got busier) and, at max_threads, contended.
//  - With max_threads 1 it always answers 1 and never probes.
//
// The cost: where the machine is shared, the probes run the slower count now and then (at most 6
// of every 56 steps, then fewer). The kernels give the same bits at 1 thread as at 2, on AVX2 and
// AVX-512 (tests/runtime/thread_count_test.cc), so the machine's load does not change a run's
// results. That is why it is on by default (SessionOptions::adapt_threads).
#pragma once

#include <cstdint>
#include <vector>

namespace flow {

class ThreadGovernor {
 public:
  static constexpr int kSkip = 1;
  static constexpr int kWindow = 5;
  static constexpr double kMargin = 0.05;
  static constexpr double kLoadChange = 1.3;
  static constexpr int64_t kFirstInterval = 50;
  static constexpr int64_t kMaxInterval = 800;
  static constexpr double kMaxSettledSeconds = 30;
  static constexpr double kContendedRate = 100;  // preemptions per second
  static constexpr int64_t kMinPreemptions = 3;  // per window
  static constexpr double kMinCpuShare = 0.75;   // CPU seconds per wall second and thread

  // What the process used while a step ran (getrusage, all its threads).
  struct Usage {
    int64_t preemptions = 0;  // involuntary context switches
    double cpu_seconds = 0;   // user + system
  };

  explicit ThreadGovernor(int max_threads, bool can_pin = false);

  // The thread count for the next step.
  int threads() const { return current_; }
  // Whether steps at max_threads run with the threads pinned to distinct CPUs (never at 1 thread).
  bool pinned() const { return pinned_; }
  bool can_pin() const { return can_pin_; }
  // The wall time of the step just run with threads(), and what the process used meanwhile.
  void Record(double seconds, Usage usage);

  // Steps run so far at `threads` (for reports and tests).
  int64_t steps_at(int threads) const { return threads == max_threads_ ? steps_many_ : steps_one_; }

 private:
  enum class Phase { kMeasure, kProbe, kSettled };
  int Other() const { return current_ == 1 ? max_threads_ : 1; }
  void SwitchTo(int threads);
  // Pins max_threads and measures a window of them again.
  void PinAndRemeasure();
  static double Median(const std::vector<double>& window);  // window: exactly kWindow times
  // How the window's steps ran at max_threads: preempted (a neighbour took the core), or
  // starved (the threads got less than kMinCpuShare of their time as CPU: they share a core).
  struct Sharing {
    bool preempted;
    bool starved;
  };
  Sharing WindowSharing() const;
  // Either, unpinned: pin. Pinned, a starved window is the neighbour's share of its core, which 1
  // thread cannot beat; only preemptions make 1 thread worth a probe (starved too where the
  // threads cannot be pinned).
  bool ShouldPin(const Sharing& sharing) const;
  bool ShouldProbeOne(const Sharing& sharing) const;

  int max_threads_;
  bool can_pin_;
  bool pinned_ = false;
  int current_;
  Phase phase_ = Phase::kMeasure;
  int skip_left_ = kSkip;
  std::vector<double> window_;  // timed steps of the current window (settled: the last kWindow)
  std::vector<Usage> window_usage_;  // theirs
  double settled_median_ = 0;        // the settled count's median when the last decision was made
  int64_t interval_ = kFirstInterval;
  int64_t settled_steps_ = 0;   // steps since the last decision
  double settled_seconds_ = 0;  // and their time
  int64_t steps_many_ = 0, steps_one_ = 0;
};

}  // namespace flow
