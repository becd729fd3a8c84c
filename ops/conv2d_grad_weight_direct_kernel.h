// conv2d_grad_weight straight from the channel-blocked dy, for LeNet's two convolutions:
//  - conv1 (x (100, 1, 28, 28) plain, dy (100, 32, 28, 28), 5×5 SAME): oneDNN 2.6's jit
//    backward-weights kernel runs at ~7% of the FMA peak there on AVX2 (issue 19: 19–25 ms for
//    0.125 GFLOP);
//  - conv2 (x (100, 32, 14, 14) blocked, dy (100, 64, 14, 14), 5×5 SAME): oneDNN's takes
//    1.32–1.40× conv2's forward in `flowrt time --job=lenet --threads=1`, this kernel, which skips
//    the kernel rows that fall in the zero padding as oneDNN does, 1.16–1.27× (6 interleaved runs
//    each, AMD EPYC Zen 3; 2 threads: 1.34–1.41× against 1.06–1.29×). Standalone, with its data
//    in the cache, 20.7–25 ms against oneDNN's 27–33 ms.
// Where it runs instead of oneDNN's, per ISA, is UseDirectGradWeight below.
//
//   // B = 8 (AVX2) or 16 (AVX-512): x plain (N, C, H, W) or blocked (N, C/B, H, W, B);
//   // dy (N, O/B, OH, OW, B) blocked, or plain
//   DirectGradWeight k(geometry, B, /*x_blocked=*/false, threads);
//   k.Run(x, dy, /*dy_blocked=*/true, dweight /*(O, C, KH, KW) = OIHW*/, dbias /*(O,)*/);
//   // or image by image from a producer (ops/max_pool2d_grad_conv2d_grad_weight.cc):
//   k.Run(x, [&](int64_t n, float* scratch) { WriteDyOfImage(n, scratch); return scratch; }, ...);
//
// dweight[o, c, r, s] = Σ_{n,i,j} dy[n, o, i, j] · x[n, c, i·sh − ph + r·dh, j·sw − pw + s·dw].
// A blocked dy cell holds B filters in one vector, so each (n, i, j) is one vector of dy times one
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
// Requires AVX2 + FMA (B = 8) or AVX-512F (B = 16), O % B == 0 and, for a blocked x, C % B == 0.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "runtime/shape.h"

namespace flow {

struct GradWeightGeometry {
  int64_t n, c, h, w;                             // x
  int64_t o, oh, ow;                              // dy
  int64_t kh, kw;                                 // filter
  int64_t stride[2], dilation[2], pad_before[2];  // dilation 1 = none
};

// Whether conv2d_grad_weight (ops/conv2d.cc) runs this kernel instead of oneDNN's, for x
// (N, C, H, W) stored blocked or plain and dy (N, O, OH, OW), on the ISA oneDNN dispatches to
// (BlockedChannels(): 8 on AVX2, 16 on AVX-512):
//  - AVX2, both of LeNet's convolutions (issue 19, AMD EPYC Zen 3, 1 thread): conv1 (one input
//    channel, x plain): oneDNN's took 0.83× conv2's forward, this kernel 0.07–0.15×
//    (tools/bench/RESULTS.md); conv2 (32 input channels, x blocked): oneDNN's took 1.32–1.40×
//    conv2's forward, this kernel 1.16–1.27×. Measured at these two shapes only, so with several
//    input channels it is chosen only up to 16×16 output cells (a sweep's dy, 2 filter blocks ×
//    OH·OW × 8 floats, then stays within 16 KB of L1).
//  - AVX-512, one input channel only (LeNet's conv1): as fast as oneDNN's at 1 thread, 0.50–0.54
//    against 0.46–0.51 ms at 2 (AMD EPYC Zen 5, `flowrt time --job=lenet`, 3 interleaved runs),
//    and it is what lets max_pool2d_grad_conv2d_grad_weight (the fused pooling gradient) be exact
//    against the two ops it replaces. conv2's stays oneDNN's (0.21× in the issue-6 profile).
// x blocked or plain gives the same bits, so switching blocked layouts off stays exact.
bool UseDirectGradWeight(const Shape& x, const Shape& dy, bool x_blocked, int64_t groups);

class DirectGradWeight {
 public:
  // `block`: filters per dy vector, and x's channel block when `x_blocked`: 8 (AVX2 + FMA code) or
  // 16 (AVX-512F code).
  DirectGradWeight(const GradWeightGeometry& g, int block, bool x_blocked, int threads);
  // dy a tensor: blocked (N, O/B, OH, OW, B), or plain (N, O, OH, OW).
  void Run(const float* x, const float* dy, bool dy_blocked, float* dweight, float* dbias);
  // Image n's blocked dy (O/B, OH, OW, B) from `dy_of_image(n, scratch)`: either written into
  // `scratch` (O·OH·OW floats, the calling thread's own, so it is in that core's cache when the
  // sweeps read it) and returned, or a pointer into a tensor. It is called once per image, from
  // the OpenMP team's threads, images in any order.
  using DyOfImage = absl::FunctionRef<const float*(int64_t n, float* scratch)>;
  void Run(const float* x, DyOfImage dy_of_image, float* dweight, float* dbias);

 private:
  // Adds image n's contribution to acc: (O/2B, C·KH·KW, 2B) weight sums, then (O,) bias sums.
  void Image(int64_t n, const float* x, DyOfImage dy_of_image, float* scratch, float* acc) const;

  GradWeightGeometry g_;
  int64_t block_;
  bool x_blocked_;
  int threads_;
  int64_t chunks_;               // of images, each summed into its own accumulators
  int64_t taps_, cells_;         // C·KH·KW, OH·OW
  int64_t padded_h_, padded_w_;  // the zero-padded x plane that the sweep reads
  // Per kernel row r: the output rows [i0, i1) whose window row r lies in x, not in the padding.
  std::vector<std::pair<int64_t, int64_t>> rows_;
  int64_t padded_size_;              // C·PH·PW
  int64_t scratch_size_, acc_size_;  // per thread
  std::vector<float> scratch_;       // threads × (padded x (C, PH, PW), one image's blocked dy)
  std::vector<float> acc_;           // chunks × acc_size_
};

}  // namespace flow
