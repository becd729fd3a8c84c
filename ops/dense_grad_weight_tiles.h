// dense's weight gradient on AVX-512 in flowrt's own register tiles, straight into the SGD
// update (issue 15: the plain SGD update folded into the weight-gradient GEMM):
//
//   W (units, in) ← W − lr · RegularizedGrad(dyᵀ · x, W)     dy (N, units), x (N, in), row-major
//   DenseGradWeightTiles tiles(rows, units, in, threads);
//   tiles.Run(dy, x, {.rate = lr, .scale = s, .l1 = l1, .l2 = l2}, w, begin, end);  // units
//   [begin, end)
//
// Each tile is 6 units × 32 columns of dW: 12 accumulators of 16 lanes, summed over the N rows in
// order, one FMA per row (acc = fma(dy[r, u], x[r, c], acc) for r = 0, 1, …). oneDNN 2.6's
// sgemm on AVX-512 gives exactly those bits up to N = 300 (it sums larger depths in parts; measured
// for units 512, in 784 and 3136, N from 1 to 2048), so the caller keeps N ≤ 256 and the weights
// get the bits of dense_grad_weight followed by sgd_update. The tile then goes from the registers
// into sgd_update's expression, w ← w − lr · (g·scale + l1·sign(w) + l2·w), each operation rounded
// on its own as there (ops/sgd_update.cc has no FMA contraction), and dW (LeNet: 6.4 MB) is never
// written to memory or read back.
// Per thread, dy's columns [begin, end) are first packed as (N × 6) panels, a tile's 6 units
// contiguous per row (a transposed dy, units × N, cost the MLP at 2 threads more than the fusion
// saved: its strided writes), and x 512 columns at a time as (N × 32) panels, which a row of tiles
// runs through, W's lines two tiles ahead prefetched. x and dy read in place (strides of 12.5 and
// 2 KB fold onto a few L1 sets) ran 3× slower, and W's rows walked across instead of along made
// the update wait for memory.
// Requires AVX-512F (callers choose it when oneDNN dispatches to AVX-512).
#pragma once

#include <cstdint>
#include <vector>

namespace flow {

struct DenseGradWeightSgd {
  float rate = 0.f, scale = 1.f, l1 = 0.f, l2 = 0.f;  // sgd_update's lr and attrs
};

class DenseGradWeightTiles {
 public:
  DenseGradWeightTiles(int64_t rows, int64_t units, int64_t in, int threads);

  // Updates units [begin, end) of w (rows of W) on the calling thread, with its OpenMP thread
  // number's scratch.
  void Run(const float* dy, const float* x, const DenseGradWeightSgd& sgd, float* w, int64_t begin,
           int64_t end);

 private:
  int64_t rows_, units_, in_;
  int64_t per_thread_;  // floats of scratch per thread
  // Per thread: dy's (N × 6) panels of the thread's units, then x's (N × 32) panels of one
  // 512-column chunk.
  std::vector<float> scratch_;
};

}  // namespace flow
