// WithOneOpenMpThread: the call sees one OpenMP thread (so oneDNN shares nothing out), its result
// comes back, and the caller's thread count is restored, also when the call throws.
#include "ops/one_openmp_thread.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <stdexcept>

namespace flow {
namespace {

TEST(OneOpenMpThreadTest, TheCallSeesOneThreadAndTheCountIsRestored) {
  omp_set_num_threads(3);
  const int seen = WithOneOpenMpThread([] {
    int team = 0;
#pragma omp parallel
    {
#pragma omp single
      team = omp_get_num_threads();
    }
    return omp_get_max_threads() * 10 + team;
  });
  EXPECT_EQ(seen, 11);  // max threads 1, and a parallel region inside runs one thread
  EXPECT_EQ(omp_get_max_threads(), 3);
}

TEST(OneOpenMpThreadTest, RestoresTheCountWhenTheCallThrows) {
  omp_set_num_threads(2);
  EXPECT_THROW(WithOneOpenMpThread([]() -> int { throw std::runtime_error("boom"); }),
               std::runtime_error);
  EXPECT_EQ(omp_get_max_threads(), 2);
}

}  // namespace
}  // namespace flow
