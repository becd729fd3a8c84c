#include "ops/conv2d_direct_forward_kernel.h"

#include <immintrin.h>

#include <algorithm>

#include "runtime/layout.h"
#include "runtime/status.h"

namespace flow {
namespace {

constexpr int64_t kBlock = 16;  // filters per vector

// The output's activation: ReLU as y > 0 ? y : +0, a NaN kept (it compares unordered).
__attribute__((target("avx512f"))) __m512 Activate(__m512 v, bool relu) {
  if (!relu) return v;
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NLE_UQ), v);
}

// One output row of kBlocks filter blocks: y_rows[b][j] for j in [0, OW), from the padded rows
// at x_row (tap (r, s) of column j reads x_row[r·row_step + s·dw + j·sw]), kColumns columns per
// sweep: kBlocks · kColumns accumulators, each broadcast x value used by kBlocks FMAs.
template <int kBlocks, int kColumns>
__attribute__((target("avx512f"))) void Row(const ConvForwardGeometry& g, const float* x_row,
                                            int64_t row_step, const float* w, int64_t w_block,
                                            const __m512* bias, bool has_bias, float* y_row,
                                            int64_t y_block) {
  const int64_t sw = g.stride[1], dw = g.dilation[1];
  int64_t j = 0;
  for (; j + kColumns <= g.ow; j += kColumns) {
    __m512 acc[kBlocks][kColumns];
#pragma GCC unroll 16
    for (int b = 0; b < kBlocks; ++b) {
#pragma GCC unroll 16
      for (int c = 0; c < kColumns; ++c) acc[b][c] = _mm512_setzero_ps();
    }
    for (int64_t r = 0; r < g.kh; ++r) {
      for (int64_t s = 0; s < g.kw; ++s) {
        __m512 wv[kBlocks];
#pragma GCC unroll 16
        for (int b = 0; b < kBlocks; ++b) {
          wv[b] = _mm512_loadu_ps(w + b * w_block + (r * g.kw + s) * kBlock);
        }
        const float* x = x_row + r * row_step + s * dw + j * sw;
#pragma GCC unroll 16
        for (int c = 0; c < kColumns; ++c) {
          const __m512 xv = _mm512_set1_ps(x[c * sw]);
#pragma GCC unroll 16
          for (int b = 0; b < kBlocks; ++b) acc[b][c] = _mm512_fmadd_ps(wv[b], xv, acc[b][c]);
        }
      }
    }
#pragma GCC unroll 16
    for (int b = 0; b < kBlocks; ++b) {
#pragma GCC unroll 16
      for (int c = 0; c < kColumns; ++c) {
        const __m512 v = has_bias ? _mm512_add_ps(acc[b][c], bias[b]) : acc[b][c];
        _mm512_storeu_ps(y_row + b * y_block + (j + c) * kBlock, Activate(v, g.relu));
      }
    }
  }
  for (; j < g.ow; ++j) {  // the same sums, one column at a time
    for (int b = 0; b < kBlocks; ++b) {
      __m512 acc = _mm512_setzero_ps();
      for (int64_t r = 0; r < g.kh; ++r) {
        for (int64_t s = 0; s < g.kw; ++s) {
          acc = _mm512_fmadd_ps(_mm512_loadu_ps(w + b * w_block + (r * g.kw + s) * kBlock),
                                _mm512_set1_ps(x_row[r * row_step + s * dw + j * sw]), acc);
        }
      }
      const __m512 v = has_bias ? _mm512_add_ps(acc, bias[b]) : acc;
      _mm512_storeu_ps(y_row + b * y_block + j * kBlock, Activate(v, g.relu));
    }
  }
}

}  // namespace

bool UseDirectConvForward(const Shape& x, const Shape& weight, int64_t groups) {
  return BlockedChannels() == 16 && groups == 1 && x[1] == 1 && weight[0] % kBlock == 0;
}

DirectConvForward::DirectConvForward(const ConvForwardGeometry& g)
    : g_(g),
      padded_h_((g.oh - 1) * g.stride[0] + (g.kh - 1) * g.dilation[0] + 1),
      padded_w_((g.ow - 1) * g.stride[1] + (g.kw - 1) * g.dilation[1] + 1) {
  FLOWRT_CHECK(g.o % kBlock == 0) << g.o;
}

void DirectConvForward::PackWeights(const float* weight, float* packed) const {
  const int64_t taps = g_.kh * g_.kw;
  for (int64_t o = 0; o < g_.o; ++o) {
    for (int64_t t = 0; t < taps; ++t) {
      packed[((o / kBlock) * taps + t) * kBlock + o % kBlock] = weight[o * taps + t];
    }
  }
}

__attribute__((target("avx512f"))) void DirectConvForward::Image(int64_t n, const float* x,
                                                                 const float* packed,
                                                                 const float* bias, float* y_image,
                                                                 float* scratch) const {
  // The padded image: padded[u, v] = x[n, 0, u − ph, v − pw], 0 outside x (and past the last
  // row or column any window reads).
  float* padded = scratch;
  std::fill(padded, padded + padded_h_ * padded_w_, 0.f);
  const float* image = x + n * g_.h * g_.w;
  for (int64_t u = std::max<int64_t>(0, g_.pad_before[0]);
       u < std::min(padded_h_, g_.h + g_.pad_before[0]); ++u) {
    const int64_t v0 = std::max<int64_t>(0, g_.pad_before[1]);
    const int64_t v1 = std::min(padded_w_, g_.w + g_.pad_before[1]);
    const float* src = image + (u - g_.pad_before[0]) * g_.w - g_.pad_before[1];
    std::copy(src + v0, src + v1, padded + u * padded_w_ + v0);
  }
  const int64_t taps = g_.kh * g_.kw, row_step = g_.dilation[0] * padded_w_;
  const int64_t blocks = g_.o / kBlock, w_block = taps * kBlock, y_block = g_.oh * g_.ow * kBlock;
  // Filter blocks two at a time (the last one alone when their number is odd).
  for (int64_t b = 0; b < blocks; b += 2) {
    __m512 bias_v[2];
    for (int k = 0; k < 2 && b + k < blocks; ++k) {
      bias_v[k] = bias == nullptr ? _mm512_setzero_ps() : _mm512_loadu_ps(bias + (b + k) * kBlock);
    }
    for (int64_t i = 0; i < g_.oh; ++i) {
      const float* x_row = padded + i * g_.stride[0] * padded_w_;
      float* y_row = y_image + (b * g_.oh + i) * g_.ow * kBlock;
      if (b + 1 < blocks) {
        Row<2, 7>(g_, x_row, row_step, packed + b * w_block, w_block, bias_v, bias != nullptr,
                  y_row, y_block);
      } else {
        Row<1, 14>(g_, x_row, row_step, packed + b * w_block, w_block, bias_v, bias != nullptr,
                   y_row, y_block);
      }
    }
  }
}

}  // namespace flow
