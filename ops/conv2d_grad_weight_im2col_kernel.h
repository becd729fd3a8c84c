// conv2d_grad_weight as im2col + sgemm, for convolutions with one input channel (LeNet's conv1,
// x (100, 1, 28, 28), dy (100, 32, 28, 28), 5×5 SAME): oneDNN 2.6's jit backward-weights kernel
// runs at ~7% of peak there on AVX2 (issue 19: 19–25 ms for 0.125 GFLOP).
//
//   // x plain (N, C, H, W); dy (N, O, OH, OW) plain or blocked (N, O/B, OH, OW, B)
//   Im2colGradWeight k(geometry, /*block=*/8, /*dy_blocked=*/true, threads);
//   k.Run(x, dy, dweight /*(O, C·KH·KW) = OIHW*/, dbias /*(O,)*/);
//
// Per image n: col (OH·OW, C·KH·KW) holds the input cell under each filter tap (0 in the
// padding), and dweight += dy_n (O, OH·OW) · col — one oneDNN sgemm per image and block of B
// filters (dy's blocked (OH·OW, B) slab is dy_nᵀ for those B filters). The images are split
// over the threads, each into its own partial sums, added in thread order: the result depends on
// the thread count only, and differs from oneDNN's only in summation order.
#pragma once

#include <cstdint>
#include <vector>

namespace flow {

struct Im2colConv {
  int64_t n, c, h, w;                             // x
  int64_t o, oh, ow;                              // dy
  int64_t kh, kw;                                 // filter
  int64_t stride[2], dilation[2], pad_before[2];  // dilation 1 = none
};

class Im2colGradWeight {
 public:
  // Filters are taken `block` at a time (BlockedChannels(); O % block == 0), whether dy is
  // stored blocked in that block or plain, so the result does not depend on dy's layout.
  Im2colGradWeight(const Im2colConv& g, int block, bool dy_blocked, int threads);
  void Run(const float* x, const float* dy, float* dweight, float* dbias);

 private:
  void Image(int64_t n, const float* x, const float* dy, float* col, float* slab_buffer, float* dw,
             float* db, bool first) const;

  Im2colConv g_;
  int block_;
  bool dy_blocked_;
  int threads_;
  int64_t taps_, cells_;        // C·KH·KW, OH·OW
  std::vector<float> col_;      // threads × (cells, taps)
  std::vector<float> slabs_;    // threads × (cells, block), plain dy only
  std::vector<float> partial_;  // threads × (O·taps + O), threads > 1 only
};

}  // namespace flow
