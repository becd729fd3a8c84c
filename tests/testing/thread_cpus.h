// The CPUs the calling thread may run on, for assertions on thread pinning
// (runtime/team_pinning.h).
//
//   const cpu_set_t cpus = testing::ThreadCpus();
//   EXPECT_EQ(CPU_COUNT(&cpus), 1);
#pragma once

#include <pthread.h>
#include <sched.h>

namespace flow::testing {

inline cpu_set_t ThreadCpus() {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  pthread_getaffinity_np(pthread_self(), sizeof cpus, &cpus);
  return cpus;
}

}  // namespace flow::testing
