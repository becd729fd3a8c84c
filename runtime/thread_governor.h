// How many OpenMP threads the next run of a compiled job gets when SessionOptions::adapt_threads
// is on (issue 15): all of them, or one, whichever ran the job faster lately; and, pinned, whether
// all of them run only the SpeculativeChunks loops (chunks-only).
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
//  - Chunks-only (where the executor allows it, can_chunks_only): pinned max_threads whose
//    OpenMP regions run on one thread while the SpeculativeChunks loops keep the team. Those
//    loops never wait for a thread the neighbour holds: the caller runs a held chunk again
//    (runtime/speculative_chunks.h); an OpenMP region waits at its end for its whole team, so
//    beside a busy loop each region started while the second thread is off the CPU waited out
//    the rest of the neighbour's 4 ms slice. Its worker, asleep between the loops, is also given
//    the CPU back sooner. After a pinned window that was preempted or starved and spent at least
//    kMinChunkShare (half) of its time in those loops (LeNet ~3/4, the MLP none), chunks-only is
//    probed for a window (before 1 thread, where that is probed too), and the fastest of the
//    modes wins: 1 thread by more than kMargin, chunks-only if it is not slower by more than
//    kMargin. Beside the neighbour, 15-step medians of one mode spread ±10% from one window to the
//    next, more than chunks-only's gain, so the probe mostly keeps a mode that is not measurably
//    worse. Settled on chunks-only, every probe includes all threads, which win back by more than
//    kMargin: chunks-only's times do not show a neighbour that stopped. Measured beside a busy
//    loop on one of 2 cores (Intel Xeon, family 6 model 207, AVX-512), LeNet 2 threads,
//    interleaved: 24.0 ms (23.4-24.6) against 26.1 (25.4-27.4) for pinned max_threads; 16 ms quiet,
//    where chunks-only would take ~19. The MLP has no such loop: chunks-only would be its 1-thread
//    step (1.1-1.2 ms against 0.6-0.7), which its probes did keep now and then while the share
//    was not asked (a 0.6 ms step held up by the neighbour's 4 ms slices makes a noisy median).
//  - Pinned, a window is kPinnedWindow (15) steps instead of kWindow (5).
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

#include <array>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace flow {

class ThreadGovernor {
 public:
  static constexpr int kSkip = 1;
  static constexpr int kWindow = 5;
  static constexpr int kPinnedWindow = 15;
  static constexpr double kMargin = 0.05;
  static constexpr double kLoadChange = 1.3;
  static constexpr int64_t kFirstInterval = 50;
  static constexpr int64_t kMaxInterval = 800;
  static constexpr double kMaxSettledSeconds = 30;
  static constexpr double kContendedRate = 100;  // preemptions per second
  static constexpr int64_t kMinPreemptions = 3;  // per window
  static constexpr double kMinCpuShare = 0.75;   // CPU seconds per wall second and thread
  static constexpr double kMinChunkShare = 0.5;  // of the step in SpeculativeChunks loops

  // What the process used while a step ran (getrusage, all its threads).
  struct Usage {
    int64_t preemptions = 0;   // involuntary context switches
    double cpu_seconds = 0;    // user + system
    double chunk_seconds = 0;  // wall time in SpeculativeChunks loops (SpeculativeChunksSeconds)
  };

  // can_chunks_only: whether the job's steps can run chunks-only (see chunks_only()).
  explicit ThreadGovernor(int max_threads, bool can_pin = false, bool can_chunks_only = false);

  // The thread count for the next step.
  int threads() const { return current_.threads; }
  // Whether the next step at max_threads (pinned) runs its OpenMP regions on one thread, and only
  // its SpeculativeChunks loops (runtime/speculative_chunks.h) on all: those never wait for a
  // thread the neighbour holds, while every OpenMP region waits at its end for all of its team.
  bool chunks_only() const { return current_.chunks_only; }
  // Whether steps at max_threads run with the threads pinned to distinct CPUs (never at 1 thread).
  bool pinned() const { return pinned_; }
  bool can_pin() const { return can_pin_; }
  // The wall time of the step just run with threads(), and what the process used meanwhile.
  void Record(double seconds, Usage usage);

  // Steps run so far at `threads` (for reports and tests), and chunks-only.
  int64_t steps_at(int threads) const { return threads == max_threads_ ? steps_many_ : steps_one_; }
  int64_t steps_chunks_only() const { return steps_chunks_only_; }

 private:
  enum class Phase { kMeasure, kProbe, kSettled };
  struct Mode {
    int threads;
    bool chunks_only;
    bool operator==(const Mode&) const = default;
  };
  void SwitchTo(Mode mode);
  // Starts a probe cycle from the settled mode: a window of each of `probes` (1 or 2 modes), then
  // the fastest of them and the settled mode (settled_median_) wins, a probe only by more than
  // kMargin.
  void Probe(std::initializer_list<Mode> probes);
  // From max_threads: a cycle of the other style (if `style`), then 1 thread (if `one`).
  void ProbeFromMax(bool style, bool one);
  // Pins max_threads and measures a window of them again.
  void PinAndRemeasure();
  // Timed steps per window: kWindow, or kPinnedWindow once pinned, where the steps beside the
  // neighbour spread more (LeNet beside a busy loop: 21-33 ms, median 24) and the modes compared
  // differ less (chunks-only against all threads: 8-14%).
  int Window() const { return pinned_ ? kPinnedWindow : kWindow; }
  static double Median(const std::vector<double>& window);  // 1 to kPinnedWindow times
  // How the window's steps ran at max_threads: preempted (a neighbour took the core), or
  // starved (the threads got less than kMinCpuShare of their time as CPU: they share a core).
  struct Sharing {
    bool preempted;
    bool starved;
    bool mostly_chunks;  // at least kMinChunkShare of the window's time in SpeculativeChunks loops
  };
  Sharing WindowSharing() const;
  // Either, unpinned: pin. Pinned, a starved window is the neighbour's share of its core, which 1
  // thread cannot beat; only preemptions make 1 thread worth a probe (starved too where the
  // threads cannot be pinned).
  bool ShouldPin(const Sharing& sharing) const;
  bool ShouldProbeOne(const Sharing& sharing) const;
  // Pinned at max_threads: chunks-only is worth a probe while the threads are preempted or
  // starved; all threads, from chunks-only, always (its times do not show a neighbour that
  // stopped).
  bool ShouldProbeStyle(const Sharing& sharing) const;

  int max_threads_;
  bool can_pin_;
  bool can_chunks_only_;
  bool pinned_ = false;
  Mode current_;
  bool max_chunks_only_ = false;  // the style of max_threads, also while at 1 thread
  Phase phase_ = Phase::kMeasure;
  Mode settled_mode_{};           // during a probe cycle: the mode it started from
  std::array<Mode, 2> probes_{};  // the cycle's modes
  std::array<double, 2> probe_medians_{};
  int probe_count_ = 0, probe_index_ = 0;
  int skip_left_ = kSkip;
  std::vector<double> window_;  // timed steps of the current window (settled: the last Window())
  std::vector<Usage> window_usage_;  // theirs
  double settled_median_ = 0;        // the settled count's median when the last decision was made
  int64_t interval_ = kFirstInterval;
  int64_t settled_steps_ = 0;   // steps since the last decision
  double settled_seconds_ = 0;  // and their time
  int64_t steps_many_ = 0, steps_one_ = 0, steps_chunks_only_ = 0;
};

}  // namespace flow
