// conv2d_grad_weight on AVX2, straight from the channel-blocked dy, for LeNet's two convolutions:
//  - conv1 (x (100, 1, 28, 28) plain, dy (100, 32, 28, 28), 5×5 SAME): oneDNN 2.6's jit
//    backward-weights kernel runs at ~7% of the FMA peak there (issue 19: 19–25 ms for 0.125
//    GFLOP);
//  - conv2 (x (100, 32, 14, 14) blocked, dy (100, 64, 14, 14), 5×5 SAME): oneDNN's takes
//    1.32–1.40× conv2's forward in `flowrt time --job=lenet --threads=1`, this kernel, which skips
//    the kernel rows that fall in the zero padding as oneDNN does, 1.16–1.27× (6 interleaved runs
//    each, AMD EPYC Zen 3; 2 threads: 1.34–1.41× against 1.06–1.29×). Standalone, with its data
//    in the cache, 20.7–25 ms against oneDNN's 27–33 ms.
//
//   // x plain (N, C, H, W) or blocked (N, C/8, H, W, 8); dy (N, O/8, OH, OW, 8) blocked, or plain
//   DirectGradWeight k(geometry, /*x_blocked=*/false, /*dy_blocked=*/true, threads);
//   k.Run(x, dy, dweight /*(O, C, KH, KW) = OIHW*/, dbias /*(O,)*/);
//
// dweight[o, c, r, s] = Σ_{n,i,j} dy[n, o, i, j] · x[n, c, i·sh − ph + r·dh, j·sw − pw + s·dw].
// A blocked dy cell holds 8 filters in one vector, so each (n, i, j) is one vector of dy times one
// broadcast x value per tap: 2 filter blocks × 5 taps = 10 accumulators in registers per sweep
// over the image, 7 loads per 10 FMAs (FMA-bound). x is copied into a zero-padded plane per
// image first, so the sweep has no bounds checks; a sweep covers only the output rows whose kernel
// row reads x, not its zero padding (the skipped products are zeros; an inf or NaN in dy there is
// skipped too, as oneDNN skips it). An earlier im2col + one
// sgemm per image and block of 8 filters (M=8, N=25, K=784) reached only ~0.4× of conv2's forward
// time; this kernel needs no column buffer and no GEMM packing.
//
// The images are cut into 16 chunks (fewer for a smaller batch), each summing into its own
// accumulators, added in chunk order, so the result has the same bits at any thread count
// (tests/runtime/thread_count_test.cc) and differs from oneDNN's only in summation order.
// The threads take the chunks dynamically: beside a busy loop on one of 2 cores, a thread that
// shares its core takes fewer chunks instead of holding up the other (a static split by thread
// took as long as 1 thread). At 1 thread, 16 chunks cost nothing measurable against one sum over
// the batch (conv2's gradient, standalone, pairwise: 0.88-0.97×).
// A plain dy is first transposed into the blocked order per image and x is always copied into
// plain padded planes, so every layout gives the same bits.
// Requires AVX2 + FMA, O % 8 == 0 and, for a blocked x, C % 8 == 0 (callers choose it when oneDNN
// dispatches to AVX2, runtime/layout.h's BlockedChannels() == 8).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace flow {

struct GradWeightGeometry {
  int64_t n, c, h, w;                             // x
  int64_t o, oh, ow;                              // dy
  int64_t kh, kw;                                 // filter
  int64_t stride[2], dilation[2], pad_before[2];  // dilation 1 = none
};

class DirectGradWeight {
 public:
  DirectGradWeight(const GradWeightGeometry& g, bool x_blocked, bool dy_blocked, int threads);
  void Run(const float* x, const float* dy, float* dweight, float* dbias);

 private:
  // Adds image n's contribution to acc: (O/8, C·KH·KW, 8) weight sums, then (O/8, 8) bias sums.
  void Image(int64_t n, const float* x, const float* dy, float* scratch, float* acc) const;

  GradWeightGeometry g_;
  bool x_blocked_, dy_blocked_;
  int threads_;
  int64_t chunks_;               // of images, each summed into its own accumulators
  int64_t taps_, cells_;         // C·KH·KW, OH·OW
  int64_t padded_h_, padded_w_;  // the zero-padded x plane that the sweep reads
  // Per kernel row r: the output rows [i0, i1) whose window row r lies in x, not in the padding.
  std::vector<std::pair<int64_t, int64_t>> rows_;
  int64_t scratch_size_, acc_size_;  // per thread
  std::vector<float> scratch_;  // threads × (padded x (C, PH, PW), blocked dy (plain dy only))
  std::vector<float> acc_;      // chunks × acc_size_
};

}  // namespace flow
