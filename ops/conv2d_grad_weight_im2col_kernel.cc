#include "ops/conv2d_grad_weight_im2col_kernel.h"

#include <omp.h>

#include <algorithm>

#include "oneapi/dnnl/dnnl.h"
#include "runtime/status.h"

namespace flow {

Im2colGradWeight::Im2colGradWeight(const Im2colConv& g, int block, bool dy_blocked, int threads)
    : g_(g),
      block_(block),
      dy_blocked_(dy_blocked),
      threads_(std::max<int>(1, std::min<int64_t>(threads, g.n))),
      taps_(g.c * g.kh * g.kw),
      cells_(g.oh * g.ow),
      col_(threads_ * cells_ * taps_),
      slabs_(dy_blocked ? 0 : threads_ * cells_ * block) {
  FLOWRT_CHECK(block > 0 && g.o % block == 0);
  if (threads_ > 1) partial_.resize(threads_ * (g.o * taps_ + g.o));
}

void Im2colGradWeight::Image(int64_t n, const float* x, const float* dy, float* col,
                             float* slab_buffer, float* dw, float* db, bool first) const {
  // col (cells, taps): row (i, j), column (c, r, s) = x[n, c, i·sh − ph + r·dh, j·sw − pw + s·dw].
  for (int64_t i = 0; i < g_.oh; ++i) {
    for (int64_t j = 0; j < g_.ow; ++j) {
      float* row = col + (i * g_.ow + j) * taps_;
      for (int64_t c = 0; c < g_.c; ++c) {
        const float* plane = x + (n * g_.c + c) * g_.h * g_.w;
        for (int64_t r = 0; r < g_.kh; ++r) {
          const int64_t h = i * g_.stride[0] - g_.pad_before[0] + r * g_.dilation[0];
          for (int64_t s = 0; s < g_.kw; ++s) {
            const int64_t v = j * g_.stride[1] - g_.pad_before[1] + s * g_.dilation[1];
            *row++ = (h < 0 || h >= g_.h || v < 0 || v >= g_.w) ? 0.f : plane[h * g_.w + v];
          }
        }
      }
    }
  }
  const float beta = first ? 0.f : 1.f;
  const float* dy_n = dy + n * g_.o * cells_;
  const int64_t b = block_;
  for (int64_t cb = 0; cb < g_.o / b; ++cb) {
    // The block's slab (cells, B) is dy_nᵀ for filters cb·B .. cb·B + B − 1:
    // dw[those rows] (B, taps) (+)= slabᵀ · col. Plain dy is transposed into the same slab
    // first, so both layouts run the identical sgemm and sums: bit-identical results.
    const float* slab = dy_n + cb * cells_ * b;
    if (!dy_blocked_) {
      for (int64_t p = 0; p < cells_; ++p) {
        for (int64_t l = 0; l < b; ++l) slab_buffer[p * b + l] = dy_n[(cb * b + l) * cells_ + p];
      }
      slab = slab_buffer;
    }
    FLOWRT_CHECK(dnnl_sgemm('T', 'N', b, taps_, cells_, 1.f, slab, b, col, taps_, beta,
                            dw + cb * b * taps_, taps_) == dnnl_success);
    float* bias = db + cb * b;
    if (first) std::fill(bias, bias + b, 0.f);
    for (int64_t p = 0; p < cells_; ++p) {
#pragma omp simd
      for (int64_t l = 0; l < b; ++l) bias[l] += slab[p * b + l];
    }
  }
}

void Im2colGradWeight::Run(const float* x, const float* dy, float* dweight, float* dbias) {
  if (threads_ == 1) {
    for (int64_t n = 0; n < g_.n; ++n) {
      Image(n, x, dy, col_.data(), slabs_.data(), dweight, dbias, n == 0);
    }
    return;
  }
  const int64_t sums = g_.o * taps_ + g_.o;
  // sgemm called inside the parallel region runs on its calling thread.
#pragma omp parallel num_threads(threads_)
  {
    const int64_t t = omp_get_thread_num();
    const int64_t begin = g_.n * t / threads_, end = g_.n * (t + 1) / threads_;
    float* dw = partial_.data() + t * sums;
    for (int64_t n = begin; n < end; ++n) {
      Image(n, x, dy, col_.data() + t * cells_ * taps_,
            slabs_.data() + (dy_blocked_ ? 0 : t * cells_ * block_), dw, dw + g_.o * taps_,
            n == begin);
    }
  }
  for (int64_t i = 0; i < sums; ++i) {
    float sum = partial_[i];
    for (int t = 1; t < threads_; ++t) sum += partial_[t * sums + i];
    (i < g_.o * taps_ ? dweight[i] : dbias[i - g_.o * taps_]) = sum;
  }
}

}  // namespace flow
