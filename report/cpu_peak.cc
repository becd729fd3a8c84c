#include "report/cpu_peak.h"

#include <immintrin.h>
#include <time.h>

#include <algorithm>
#include <cstdint>

#include "oneapi/dnnl/dnnl.hpp"

namespace flow::jobs {
namespace {

constexpr int kAccumulators = 12;  // > FMA latency × pipes, so the loop is throughput-bound

// One loop iteration: 12 independent FMAs, then an empty asm that claims to read and write every
// accumulator in a register, so the compiler neither folds the chains nor spills them.
#define FLOWRT_FMA_LOOP(VEC, SET1, FMADD, STORE, LANES)                                            \
  VEC a0 = SET1(1.00f), a1 = SET1(1.01f), a2 = SET1(1.02f), a3 = SET1(1.03f);                      \
  VEC a4 = SET1(1.04f), a5 = SET1(1.05f), a6 = SET1(1.06f), a7 = SET1(1.07f);                      \
  VEC a8 = SET1(1.08f), a9 = SET1(1.09f), a10 = SET1(1.10f), a11 = SET1(1.11f);                    \
  const VEC mul = SET1(0.999999f), add = SET1(1e-7f);                                              \
  for (int64_t i = 0; i < iterations; ++i) {                                                       \
    a0 = FMADD(a0, mul, add), a1 = FMADD(a1, mul, add), a2 = FMADD(a2, mul, add);                  \
    a3 = FMADD(a3, mul, add), a4 = FMADD(a4, mul, add), a5 = FMADD(a5, mul, add);                  \
    a6 = FMADD(a6, mul, add), a7 = FMADD(a7, mul, add), a8 = FMADD(a8, mul, add);                  \
    a9 = FMADD(a9, mul, add), a10 = FMADD(a10, mul, add), a11 = FMADD(a11, mul, add);              \
    asm volatile(""                                                                                \
                 : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7), \
                   "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));                                      \
  }                                                                                                \
  alignas(64) float lanes[LANES];                                                                  \
  float sink = 0;                                                                                  \
  for (VEC v : {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11}) {                               \
    STORE(lanes, v);                                                                               \
    for (float x : lanes) sink += x;                                                               \
  }                                                                                                \
  return sink;

__attribute__((target("avx512f"))) double FmaLoopAvx512(int64_t iterations) {
  FLOWRT_FMA_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_store_ps, 16)
}

__attribute__((target("avx2,fma"))) double FmaLoopAvx2(int64_t iterations) {
  FLOWRT_FMA_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_store_ps, 8)
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

}  // namespace

std::string DnnlIsaName() {
  using isa = dnnl::cpu_isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case isa::sse41:
      return "sse41";
    case isa::avx:
      return "avx";
    case isa::avx2:
      return "avx2";
    case isa::avx2_vnni:
      return "avx2_vnni";
    case isa::avx512_core:
      return "avx512_core";
    case isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case isa::avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "other";
  }
}

bool DnnlIsaHasAvx512() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto avx512 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
  return (isa & avx512) == avx512;
}

double RunFmaLoop(bool avx512, int64_t iterations) {
  return avx512 ? FmaLoopAvx512(iterations) : FmaLoopAvx2(iterations);
}

double FmaLoopFlops(bool avx512) { return 2.0 * (avx512 ? 16 : 8) * kAccumulators; }

int64_t CalibrateFmaLoop(bool avx512, double seconds) {
  int64_t n = 1 << 16;
  for (;;) {
    const double start = ThreadCpuSeconds();
    volatile double sink = RunFmaLoop(avx512, n);
    (void)sink;
    const double used = ThreadCpuSeconds() - start;
    if (used > 0.02 || n > (int64_t{1} << 40)) {
      return static_cast<int64_t>(n * seconds / std::max(1e-6, used));
    }
    n *= 4;
  }
}

double FmaPeakGflopsPerCore(double seconds) {
  const bool avx512 = DnnlIsaHasAvx512();
  const int64_t n = CalibrateFmaLoop(avx512, seconds);
  const double flops = FmaLoopFlops(avx512) * static_cast<double>(n);
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const double start = ThreadCpuSeconds();
    volatile double sink = RunFmaLoop(avx512, n);
    (void)sink;
    best = std::max(best, flops / (ThreadCpuSeconds() - start) / 1e9);
  }
  return best;
}

}  // namespace flow::jobs
