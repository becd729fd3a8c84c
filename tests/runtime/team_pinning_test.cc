// TeamPinning (runtime/team_pinning.h) on this machine's CPUs: each OpenMP thread on a CPU of its
// own, the calling thread free again after Unpin.
#include "runtime/team_pinning.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <set>

#include "tests/testing/thread_cpus.h"

namespace flow {
namespace {

TEST(TeamPinningTest, PinsEachThreadToItsOwnCpuAndUnpinsTheCaller) {
  const cpu_set_t before = testing::ThreadCpus();
  TeamPinning pinning;
  if (!pinning.available(2)) {
    GTEST_SKIP() << "fewer than 2 CPUs, or the user bound the OpenMP threads";
  }
  pinning.Pin(2);
  EXPECT_TRUE(pinning.pinned());
  std::set<int> cpus;  // the CPU each thread is pinned to
  int counts[2] = {0, 0};
#pragma omp parallel num_threads(2)
  {
    const cpu_set_t mine = testing::ThreadCpus();
    const int t = omp_get_thread_num();
    counts[t] = CPU_COUNT(&mine);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &mine)) {
#pragma omp critical
        cpus.insert(cpu);
      }
    }
  }
  EXPECT_EQ(counts[0], 1);
  EXPECT_EQ(counts[1], 1);
  EXPECT_EQ(cpus.size(), 2u);
  pinning.Unpin();
  EXPECT_FALSE(pinning.pinned());
  const cpu_set_t after = testing::ThreadCpus();
  EXPECT_TRUE(CPU_EQUAL(&before, &after));
}

TEST(TeamPinningTest, OneThreadIsNeverPinned) {
  TeamPinning pinning;
  EXPECT_FALSE(pinning.available(1));
  const cpu_set_t before = testing::ThreadCpus();
  pinning.Pin(1);
  EXPECT_FALSE(pinning.pinned());
  const cpu_set_t after = testing::ThreadCpus();
  EXPECT_TRUE(CPU_EQUAL(&before, &after));
}

}  // namespace
}  // namespace flow
