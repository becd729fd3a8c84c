// conv2d's forward for ONE input channel on AVX-512 (LeNet's conv1: x (100, 1, 28, 28), 32 filters
// 5×5 SAME, ReLU), 16 filters per vector:
//
//   DirectConvForward conv(geometry);                  // x (N, 1, H, W) plain → y blocked by 16
//   conv.PackWeights(weight /*(O, 1, KH, KW)*/, packed);  // (O/16, KH·KW, 16), once per Run
//   conv.Image(n, x, packed, bias /*(O,) or null*/, y_image /*(O/16, OH, OW, 16)*/, scratch);
//
// y[o, i, j] = act(Σ_{r,s} w[o, r, s] · x[i·sh − ph + r·dh, j·sw − pw + s·dw] + bias[o]), the taps
// summed in order r·KW + s from +0 (FMAs), then the bias added, then the ReLU; zero padding is
// read from a padded copy of the image, so every output sums the same number of terms.
//
// Why: oneDNN 2.6's jit forward for one input channel ran LeNet's conv1 at 35-55% of the FMA
// peak (0.45-0.82 ms at 2 threads for 0.125 GFLOP on an AMD EPYC Zen 5, `flowrt time`, depending
// on whether its output's memory was in the cache), and one image at a time
// (ops/conv2d_max_pool2d.cc) no faster: ~16 µs per image and thread. Here each output row is swept
// with 2 filter blocks × 7 columns = 14 accumulators, each broadcast x value feeding 2 FMAs:
// 7.6 µs per image of conv1 standalone, 72% of the probe's peak (8 accumulators of one block:
// 10.5 µs, the FMA chains too few to fill both pipes). Where it runs instead of oneDNN's is
// UseDirectConvForward.
#pragma once

#include <cstdint>

#include "runtime/shape.h"

namespace flow {

struct ConvForwardGeometry {
  int64_t h, w;                                   // x (N, 1, H, W)
  int64_t o, oh, ow;                              // y (N, O, OH, OW)
  int64_t kh, kw;                                 // weight (O, 1, KH, KW)
  int64_t stride[2], dilation[2], pad_before[2];  // dilation 1 = none
  bool relu = false;
};

// Whether conv2d's forward (ops/conv2d.cc, ops/conv2d_max_pool2d.cc) runs this kernel: x (N, C, H,
// W) with one channel, weight (O, 1, KH, KW) with O % 16 == 0, groups 1, where oneDNN dispatches
// to AVX-512 (BlockedChannels() == 16). On AVX2 oneDNN's own is kept (LeNet's conv1 at 1 thread
// 1.19 ms, capped on Zen 5; this kernel's 8-lane form would be no faster, so there is none).
bool UseDirectConvForward(const Shape& x, const Shape& weight, int64_t groups);

class DirectConvForward {
 public:
  explicit DirectConvForward(const ConvForwardGeometry& g);
  // Floats of PackWeights's output and of Image's scratch.
  int64_t packed_size() const { return g_.o * g_.kh * g_.kw; }
  int64_t scratch_size() const { return padded_h_ * padded_w_; }
  void PackWeights(const float* weight, float* packed) const;
  // Image n of x (N, 1, H, W) → y_image (O/16, OH, OW, 16). Needs AVX-512F.
  void Image(int64_t n, const float* x, const float* packed, const float* bias, float* y_image,
             float* scratch) const;

 private:
  ConvForwardGeometry g_;
  int64_t padded_h_, padded_w_;  // the zero-padded image the sweep reads
};

}  // namespace flow
