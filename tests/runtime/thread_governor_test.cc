// The thread governor's policy (runtime/thread_governor.h), driven with made-up step times.
#include "runtime/thread_governor.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

namespace flow {
namespace {

constexpr int kProbeSteps = ThreadGovernor::kSkip + ThreadGovernor::kWindow;
constexpr int kPinnedSteps = ThreadGovernor::kSkip + ThreadGovernor::kPinnedWindow;

// A step preempted this often is on a shared machine at any step time up to 100 ms
// (ThreadGovernor::kContendedRate: 100 per second).
constexpr int64_t kShared = 20;

// Runs `steps` steps whose time is step_ms(threads), preempted preemptions(threads) times (by
// default kShared: a shared machine), each thread busy for the whole step unless said otherwise
// (cpu_share), `chunk_share` of it in SpeculativeChunks loops, and returns the thread count of
// each.
std::vector<int> Drive(
    ThreadGovernor& governor, int steps, const std::function<double(int)>& step_ms,
    const std::function<int64_t(int)>& preemptions = [](int) { return kShared; },
    const std::function<double(int)>& cpu_share = [](int) { return 1.0; }, double chunk_share = 0) {
  std::vector<int> used;
  for (int i = 0; i < steps; ++i) {
    const int threads = governor.threads();
    used.push_back(threads);
    const double seconds = step_ms(threads) / 1e3;  // first: the tests count steps in it
    governor.Record(seconds, {preemptions(threads), seconds * threads * cpu_share(threads),
                              seconds * chunk_share});
  }
  return used;
}

int Count(const std::vector<int>& used, int threads, size_t from = 0) {
  int n = 0;
  for (size_t i = from; i < used.size(); ++i) n += used[i] == threads;
  return n;
}

TEST(ThreadGovernorTest, NeverProbesOneThreadOnAQuietMachine) {
  ThreadGovernor governor(2);
  // 1 thread would even be faster, but nothing preempts the process: no neighbour, and 2 threads
  // on 2 cores stay on their cores. Also not after the 2-thread steps get slower.
  int step = 0;
  const std::vector<int> used = Drive(
      governor, 2000, [&](int threads) { return threads == 2 ? (step++ < 1000 ? 1.0 : 2.0) : 0.5; },
      [](int) { return 0; });
  EXPECT_EQ(Count(used, 2), 2000);
  EXPECT_EQ(governor.steps_at(1), 0);
}

TEST(ThreadGovernorTest, ContendedMeansPreemptedAtLeast100TimesASecondAndThreeTimesAWindow) {
  auto probed = [](double step_ms, int64_t preemptions) {
    ThreadGovernor governor(2);
    Drive(
        governor, kProbeSteps, [&](int) { return step_ms; }, [&](int) { return preemptions; });
    return governor.threads() == 1;
  };
  EXPECT_TRUE(probed(10.0, 1));   // 100 per second, 5 per window
  EXPECT_FALSE(probed(20.0, 1));  // 50 per second
  EXPECT_TRUE(probed(1000.0, 100));
  EXPECT_FALSE(probed(1000.0, 99));
  EXPECT_FALSE(probed(0.1, 0));
  // Short steps: the rate is there, but 2 preemptions in a window are a daemon waking up.
  ThreadGovernor governor(2);
  int step = 0;
  // (The first kSkip steps are not in the window.)
  Drive(
      governor, kProbeSteps, [](int) { return 0.1; },
      [&](int) { return step++ < ThreadGovernor::kSkip + 3 ? 1 : 0; });
  EXPECT_EQ(governor.threads(), 1);  // 3 in the window
  ThreadGovernor quiet(2);
  step = 0;
  Drive(
      quiet, kProbeSteps, [](int) { return 0.1; },
      [&](int) { return step++ < ThreadGovernor::kSkip + 2 ? 1 : 0; });
  EXPECT_EQ(quiet.threads(), 2);
}

TEST(ThreadGovernorTest, ContendedAlsoMeansThreadsGotLessThan75PercentOfTheirTimeAsCpu) {
  // Unpreempted: two threads that take turns on one core (each sleeps while the other runs).
  auto probed = [](double share) {
    ThreadGovernor governor(2);
    Drive(
        governor, kProbeSteps, [](int) { return 10.0; }, [](int) { return 0; },
        [&](int) { return share; });
    return governor.threads() == 1;
  };
  EXPECT_TRUE(probed(0.5));
  EXPECT_TRUE(probed(0.74));
  EXPECT_FALSE(probed(0.76));
  EXPECT_FALSE(probed(0.95));
}

TEST(ThreadGovernorTest, ProbesOnceTheMachineGetsShared) {
  ThreadGovernor governor(2);
  // Quiet for 100 steps, then a neighbour: 2 threads preempted and slower than 1.
  int step = 0;
  const std::vector<int> used = Drive(
      governor, 200,
      [&](int threads) {
        ++step;
        return threads == 2 ? (step > 100 ? 4.0 : 2.0) : 2.6;
      },
      [&](int threads) { return threads == 2 && step > 100 ? kShared : 0; });
  EXPECT_EQ(Count(used, 1, 0), Count(used, 1, 100));  // no probe while quiet
  // The first contended step finds a probe due (settled for 50 steps): it probes at once, while
  // the 2-thread window still holds quiet steps, and confirms 2 threads; the next window is then
  // 1.3× slower, and the second probe settles on 1 thread.
  EXPECT_EQ(used[101], 1);
  // Then 1 thread, but for its periodic probe of 2 threads (kFirstInterval steps after a switch).
  EXPECT_EQ(used[100 + 3 * kProbeSteps], 1);
  EXPECT_LE(Count(used, 2, 100 + 3 * kProbeSteps), kProbeSteps);
  EXPECT_EQ(governor.threads(), 1);
}

TEST(ThreadGovernorTest, FirstMeasuresAllThreadsThenProbesOneWhenContended) {
  ThreadGovernor governor(2);
  const std::vector<int> used = Drive(governor, 2 * kProbeSteps, [](int) { return 1.0; });
  for (int i = 0; i < kProbeSteps; ++i) EXPECT_EQ(used[i], 2) << "step " << i;
  for (int i = kProbeSteps; i < 2 * kProbeSteps; ++i) EXPECT_EQ(used[i], 1) << "step " << i;
  EXPECT_EQ(governor.threads(), 2);  // a tie keeps the settled count
}

TEST(ThreadGovernorTest, StaysOnAllThreadsWhenTheyAreFaster) {
  ThreadGovernor governor(4);
  const std::vector<int> used =
      Drive(governor, 2000, [](int threads) { return threads == 4 ? 1.0 : 2.5; });
  // After the first probe, 1 thread runs only in probes: at most 6 of every 56 steps, and the
  // interval doubles each time a probe confirms 4 threads.
  EXPECT_EQ(governor.threads(), 4);
  EXPECT_LT(Count(used, 1, 2 * kProbeSteps), 2000 / 20);
  EXPECT_EQ(governor.steps_at(1), Count(used, 1));
  EXPECT_EQ(governor.steps_at(4), Count(used, 4));
}

TEST(ThreadGovernorTest, SettlesOnOneThreadWhenAllAreSlower) {
  ThreadGovernor governor(2);
  const std::vector<int> used =
      Drive(governor, 1000, [](int threads) { return threads == 2 ? 3.6 : 2.6; });
  EXPECT_EQ(governor.threads(), 1);
  EXPECT_GT(Count(used, 1, kProbeSteps), 900);
}

TEST(ThreadGovernorTest, ProbesAtOnceWhenTheSettledCountGetsSlower) {
  ThreadGovernor governor(2);
  // Quiet: 2 threads are faster. At step 300 a neighbour starts: 2 threads get 2× slower, and
  // 1 thread (on the free core) keeps its time.
  int step = 0;
  const std::vector<int> used = Drive(governor, 400, [&](int threads) {
    const bool busy = step++ >= 300;
    return threads == 2 ? (busy ? 4.0 : 2.0) : 2.6;
  });  // preempted throughout (the first probe confirms 2 threads)
  // The change is seen within a window and a probe (12 steps), not at the next periodic probe
  // (due ~17 steps later here, and up to 800 steps apart); afterwards 2 threads run only in
  // probes.
  EXPECT_EQ(used[300 + 2 * kProbeSteps], 1);
  EXPECT_GE(Count(used, 1, 300 + 2 * kProbeSteps), 100 - 3 * kProbeSteps);
  EXPECT_EQ(governor.threads(), 1);
}

TEST(ThreadGovernorTest, ReturnsToAllThreadsWhenTheNeighbourStops) {
  ThreadGovernor governor(2);
  int step = 0;
  const std::vector<int> used = Drive(governor, 1600, [&](int threads) {
    const bool busy = step++ < 200;
    return threads == 2 ? (busy ? 4.0 : 2.0) : 2.6;
  });
  // 1 thread's time does not change when the neighbour stops, so only the periodic probe finds
  // it: within the probe interval of that moment (here 200 steps; at most kMaxInterval).
  EXPECT_EQ(governor.threads(), 2);
  EXPECT_LT(Count(used, 1, 200), 200 + 3 * kProbeSteps + 2 * kProbeSteps);
  EXPECT_GT(Count(used, 2, 1200), 400 - 2 * kProbeSteps);
}

TEST(ThreadGovernorTest, ProbesAtLeastEvery30SecondsOfSlowSteps) {
  ThreadGovernor governor(2);
  // 1-second steps on 1 thread while a neighbour is busy, for 300 steps: by then the step interval
  // has doubled to 200 (probes near steps 62, 168 and 374), but kFirstInterval steps take 50 s.
  int step = 0;
  const std::vector<int> used = Drive(governor, 500, [&](int threads) {
    const bool busy = step++ < 300;
    return threads == 2 ? (busy ? 4000.0 : 500.0) : 1000.0;
  });
  // The neighbour stops at step 300; 2 threads are back within kFirstInterval steps and a probe.
  int back = -1;
  for (int i = 300; i + kProbeSteps < 500 && back < 0; ++i) {
    if (used[i] == 2 && used[i + kProbeSteps] == 2) back = i;
  }
  ASSERT_GE(back, 0);
  EXPECT_LE(back, 300 + ThreadGovernor::kFirstInterval + 2 * kProbeSteps);
  // Then 2 threads, but for a 1-thread probe every 30 s (60 steps of 0.5 s).
  EXPECT_GE(Count(used, 2, back), 500 - back - 4 * kProbeSteps);
}

TEST(ThreadGovernorTest, NeedsAMarginToSwitch) {
  ThreadGovernor governor(2);
  // 1 thread 3% faster: inside the 5% margin, so 2 threads stay.
  Drive(governor, 500, [](int threads) { return threads == 2 ? 1.0 : 0.97; });
  EXPECT_EQ(governor.threads(), 2);
}

TEST(ThreadGovernorTest, PinsAtTheFirstContendedWindowAndMeasuresPinned) {
  ThreadGovernor governor(2, /*can_pin=*/true);
  // Unpinned, 2 threads are preempted and slow; pinned, they are faster than 1 and no longer
  // preempted (one has a core of its own): no probe of 1 thread at all.
  const std::vector<int> used = Drive(
      governor, 500,
      [&](int threads) { return threads == 1        ? 2.6
                                : governor.pinned() ? 1.8
                                                    : 3.0; },
      [&](int) { return governor.pinned() ? 0 : kShared; });
  EXPECT_TRUE(governor.pinned());
  EXPECT_EQ(Count(used, 2), 500);
}

TEST(ThreadGovernorTest, PinsThreadsThatShareACoreButProbesOneOnlyWhenPreempted) {
  ThreadGovernor governor(2, /*can_pin=*/true);
  // Never preempted; unpinned, the two threads take turns on one core (CPU share 0.5); pinned,
  // one shares its core with a neighbour (0.6). 1 thread would be faster still, but pinned
  // threads that are not preempted are not worth a probe.
  const std::vector<int> used = Drive(
      governor, 500,
      [&](int threads) { return threads == 1        ? 1.0
                                : governor.pinned() ? 1.2
                                                    : 2.0; },
      [](int) { return 0; }, [&](int) { return governor.pinned() ? 0.6 : 0.5; });
  EXPECT_TRUE(governor.pinned());
  EXPECT_EQ(Count(used, 2), 500);
}

TEST(ThreadGovernorTest, ProbesOneThreadWhenPinnedThreadsAreStillPreempted) {
  ThreadGovernor governor(2, /*can_pin=*/true);
  const std::vector<int> used = Drive(governor, kProbeSteps + 2 * kPinnedSteps,
                                      [](int threads) { return threads == 2 ? 3.0 : 2.0; });
  // A window unpinned, a (longer) window pinned, then the probe, which 1 thread wins.
  for (int i = 0; i < kProbeSteps + kPinnedSteps; ++i) EXPECT_EQ(used[i], 2) << "step " << i;
  for (int i = kProbeSteps + kPinnedSteps; i < kProbeSteps + 2 * kPinnedSteps; ++i) {
    EXPECT_EQ(used[i], 1) << "step " << i;
  }
  EXPECT_EQ(governor.threads(), 1);
  EXPECT_TRUE(governor.pinned());  // for max_threads, whenever they run again
}

TEST(ThreadGovernorTest, NeverPinsOnAQuietMachineOrWhenItCannot) {
  ThreadGovernor quiet(2, /*can_pin=*/true);
  Drive(
      quiet, 500, [](int) { return 1.0; }, [](int) { return 0; });
  EXPECT_FALSE(quiet.pinned());
  ThreadGovernor cannot(2);
  Drive(cannot, 500, [](int) { return 1.0; });
  EXPECT_FALSE(cannot.pinned());
  EXPECT_FALSE(ThreadGovernor(1, true).can_pin());
}

// Chunks-only (ThreadGovernor::chunks_only): step times per mode, contended (kShared
// preemptions) unless `quiet`, and the share of a step in SpeculativeChunks loops (LeNet's ~3/4
// unless said).
struct Modes {
  double unpinned, pinned, chunks_only, one;
  double chunk_share = 0.75;
};
std::vector<int> DriveModes(ThreadGovernor& governor, int steps, const Modes& ms,
                            bool quiet = false) {
  return Drive(
      governor, steps,
      [&](int threads) {
        return threads == 1             ? ms.one
               : !governor.pinned()     ? ms.unpinned
               : governor.chunks_only() ? ms.chunks_only
                                        : ms.pinned;
      },
      [&](int) { return quiet ? 0 : kShared; }, [](int) { return 1.0; }, ms.chunk_share);
}

TEST(ThreadGovernorTest, ProbesChunksOnlyOncePinnedThreadsAreContendedAndKeepsItWhenFaster) {
  ThreadGovernor governor(2, /*can_pin=*/true, /*can_chunks_only=*/true);
  // LeNet beside a busy loop: the OpenMP regions wait out the neighbour's time slices.
  const Modes lenet{3.0, 2.8, 2.2, 3.1};
  const std::vector<int> used = DriveModes(governor, kProbeSteps + kPinnedSteps, lenet);
  EXPECT_TRUE(governor.pinned());
  EXPECT_TRUE(governor.chunks_only()) << "the window after the pinned one is chunks-only's probe";
  EXPECT_EQ(Count(used, 2), kProbeSteps + kPinnedSteps);
  DriveModes(governor, 500, lenet);
  EXPECT_TRUE(governor.chunks_only());
  EXPECT_EQ(governor.threads(), 2);
  // All 522 steps but the first two windows (22), the 1-thread probe (16) and the re-probes of
  // all threads and 1 thread (32 steps each) after 50, 100 and 200 settled steps: 388.
  EXPECT_GE(governor.steps_chunks_only(), 380);
}

TEST(ThreadGovernorTest, KeepsChunksOnlyUnderContentionWithinTheMarginButNotBeyond) {
  // 3% slower than pinned all threads: inside the margin, which favours chunks-only there.
  ThreadGovernor within(2, /*can_pin=*/true, /*can_chunks_only=*/true);
  DriveModes(within, 300, {3.0, 2.8, 2.884, 3.5});
  EXPECT_TRUE(within.chunks_only());
  // 7% slower: all threads stay.
  ThreadGovernor beyond(2, /*can_pin=*/true, /*can_chunks_only=*/true);
  DriveModes(beyond, 300, {3.0, 2.8, 2.996, 3.5});
  EXPECT_FALSE(beyond.chunks_only());
}

TEST(ThreadGovernorTest, LeavesChunksOnlyForAllThreadsWhenTheNeighbourStops) {
  ThreadGovernor governor(2, /*can_pin=*/true, /*can_chunks_only=*/true);
  DriveModes(governor, 300, {3.0, 2.8, 2.2, 3.1});
  ASSERT_TRUE(governor.chunks_only());
  // Quiet: chunks-only's single-threaded regions now cost more than they save.
  DriveModes(governor, 1000, {1.6, 1.6, 1.9, 3.0}, /*quiet=*/true);
  EXPECT_FALSE(governor.chunks_only());
  EXPECT_EQ(governor.threads(), 2);
}

TEST(ThreadGovernorTest, NeverProbesChunksOnlyForAStepMostlyOutsideItsLoops) {
  // The MLP beside a busy loop: no SpeculativeChunks loop, so chunks-only would be 1 thread; a
  // probe that kept it on a noisy window would cost 60%.
  ThreadGovernor mlp(2, /*can_pin=*/true, /*can_chunks_only=*/true);
  DriveModes(mlp, 1000, {0.9, 0.6, 0.62, 1.0, /*chunk_share=*/0});
  EXPECT_EQ(mlp.steps_chunks_only(), 0);
  // Under half of the step in the loops: not probed either.
  ThreadGovernor less(2, /*can_pin=*/true, /*can_chunks_only=*/true);
  DriveModes(less, 1000, {3.0, 2.8, 2.2, 3.1, /*chunk_share=*/0.45});
  EXPECT_EQ(less.steps_chunks_only(), 0);
}

TEST(ThreadGovernorTest, KeepsAllThreadsWhenChunksOnlyIsNotFaster) {
  ThreadGovernor governor(2, /*can_pin=*/true, /*can_chunks_only=*/true);
  DriveModes(governor, 1000, {3.0, 2.8, 3.6, 3.6});
  EXPECT_FALSE(governor.chunks_only());
  EXPECT_EQ(governor.threads(), 2);
  EXPECT_LT(governor.steps_chunks_only(), 100);  // its probes only
  EXPECT_GT(governor.steps_chunks_only(), 0);
}

TEST(ThreadGovernorTest, NeverRunsChunksOnlyQuietUnpinnedOrWhenTheJobCannot) {
  const Modes faster{3.0, 2.8, 2.2, 3.1};
  ThreadGovernor cannot(2, /*can_pin=*/true, /*can_chunks_only=*/false);
  DriveModes(cannot, 500, faster);
  EXPECT_EQ(cannot.steps_chunks_only(), 0);
  ThreadGovernor unpinned(2, /*can_pin=*/false, /*can_chunks_only=*/true);
  DriveModes(unpinned, 500, faster);
  EXPECT_EQ(unpinned.steps_chunks_only(), 0);
  ThreadGovernor quiet(2, /*can_pin=*/true, /*can_chunks_only=*/true);
  DriveModes(quiet, 500, faster, /*quiet=*/true);
  EXPECT_EQ(quiet.steps_chunks_only(), 0);
}

TEST(ThreadGovernorTest, OneThreadNeverProbes) {
  ThreadGovernor governor(1);
  const std::vector<int> used = Drive(governor, 100, [](int) { return 1.0; });
  EXPECT_EQ(Count(used, 1), 100);
  EXPECT_EQ(governor.steps_at(1), 100);
}

}  // namespace
}  // namespace flow
