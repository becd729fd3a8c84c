// The ISA oneDNN dispatches to and the FMA peak of one core at that ISA, for `flowrt time` and
// tools/bench/train_step_bench (issue 19: every speed figure names the ISA it ran on).
//
//   std::string isa = flow::jobs::DnnlIsaName();           // "avx2", "avx512_core", ...
//   double gflops = flow::jobs::FmaPeakGflopsPerCore(0.3);  // FLOPs per CPU second of a thread
//
// The probe honours ONEDNN_MAX_CPU_ISA through dnnl::get_effective_cpu_isa(): it runs AVX-512
// FMAs only when oneDNN dispatches to AVX-512 itself, so a capped run measures the AVX2 peak
// that the capped kernels can reach.
#pragma once

#include <cstdint>
#include <string>

namespace flow::jobs {

// dnnl::get_effective_cpu_isa() as oneDNN names it in ONEDNN_MAX_CPU_ISA (lower case).
std::string DnnlIsaName();
// Whether that ISA includes AVX-512 (avx512_core or above).
bool DnnlIsaHasAvx512();

// The probe's loop, for programs that run it on several threads (tools/bench/train_step_bench):
// `iterations` × 12 independent FMAs of 16 (AVX-512, which the CPU must have) or 8 (AVX2) lanes.
// Returns a value to sink, so the compiler keeps the work.
double RunFmaLoop(bool avx512, int64_t iterations);
// FLOPs of one iteration of that loop (2 per lane per FMA).
double FmaLoopFlops(bool avx512);
// Iterations of that loop for about `seconds` of the calling thread's CPU time.
int64_t CalibrateFmaLoop(bool avx512, double seconds);

// One thread's FMA throughput at the effective ISA (12 independent FMA chains of 8 or 16 lanes,
// 2 FLOPs per lane), in GFLOP per CPU second of the thread, so time-slicing with other processes
// does not lower it; best of 3 runs of about `seconds` each.
double FmaPeakGflopsPerCore(double seconds);

}  // namespace flow::jobs
