// Runs a call with OpenMP (and so oneDNN) seeing one thread, then restores the thread count.
//
//   auto pd = WithOneOpenMpThread([&] { return make_pd(); });  // a single-threaded primitive
//   WithOneOpenMpThread([&] { dnnl_sgemm(...); });             // a GEMM too small to share out
//
// oneDNN sizes its work for omp_get_max_threads() threads: a primitive fixes that partition when
// it is created, and dnnl_sgemm called outside a parallel region opens its own. A thin GEMM shared
// out that way pays a wake-up of the other threads: the MLP's dense2 (100×512 · 512×10) took
// 105–110 us at 2 threads against 27–32 us at one (AMD EPYC Zen 3, GOMP_SPINCOUNT=1000).
#pragma once

#include <omp.h>

namespace flow {

template <typename Fn>
auto WithOneOpenMpThread(Fn&& fn) {
  struct Restore {
    int threads;
    ~Restore() { omp_set_num_threads(threads); }
  } restore{omp_get_max_threads()};
  omp_set_num_threads(1);
  return fn();
}

}  // namespace flow
