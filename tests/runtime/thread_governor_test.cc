// The thread governor's policy (runtime/thread_governor.h), driven with made-up step times.
#include "runtime/thread_governor.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

namespace flow {
namespace {

constexpr int kProbeSteps = ThreadGovernor::kSkip + ThreadGovernor::kWindow;

// Runs `steps` steps whose time is step_ms(threads) and returns the thread count of each.
std::vector<int> Drive(ThreadGovernor& governor, int steps,
                       const std::function<double(int)>& step_ms) {
  std::vector<int> used;
  for (int i = 0; i < steps; ++i) {
    used.push_back(governor.threads());
    governor.Record(step_ms(governor.threads()) / 1e3);
  }
  return used;
}

int Count(const std::vector<int>& used, int threads, size_t from = 0) {
  int n = 0;
  for (size_t i = from; i < used.size(); ++i) n += used[i] == threads;
  return n;
}

TEST(ThreadGovernorTest, FirstMeasuresAllThreadsThenProbesOne) {
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
  });
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

TEST(ThreadGovernorTest, OneThreadNeverProbes) {
  ThreadGovernor governor(1);
  const std::vector<int> used = Drive(governor, 100, [](int) { return 1.0; });
  EXPECT_EQ(Count(used, 1), 100);
  EXPECT_EQ(governor.steps_at(1), 100);
}

}  // namespace
}  // namespace flow
