#include "ops/max_pool2d_blocked_kernel.h"

#include <immintrin.h>

#include <algorithm>

#include "runtime/status.h"

namespace flow {
namespace {

// One (n, channel block) plane's window geometry: output row oh reads input rows
// [oh·KH − ph, oh·KH − ph + KH) ∩ [0, H) (stride == window), columns alike.
struct Plane {
  int64_t h, w, oh, ow, kh, kw, ph, pw;

  explicit Plane(const PoolGeometry& g)
      : h(g.x[2]),
        w(g.x[3]),
        oh(g.out[0]),
        ow(g.out[1]),
        kh(g.kernel[0]),
        kw(g.kernel[1]),
        ph(g.pad_before[0]),
        pw(g.pad_before[1]) {}
  // The real cells of window (i, j): kernel rows [r0, r1), columns [c0, c1); top-left input
  // cell (h0, w0) of the (unclipped) window.
  void Window(int64_t i, int64_t j, int64_t& h0, int64_t& w0, int64_t& r0, int64_t& r1, int64_t& c0,
              int64_t& c1) const {
    h0 = i * kh - ph;
    w0 = j * kw - pw;
    r0 = std::max<int64_t>(0, -h0);
    r1 = std::min(kh, h - h0);
    c0 = std::max<int64_t>(0, -w0);
    c1 = std::min(kw, w - w0);
  }
  // dx rows at or after this one, and columns at or after CoveredCols() in covered rows, are
  // in no window (the division of the pooling's output size rounded them away): they get 0.
  int64_t CoveredRows() const { return std::min(h, oh * kh - ph); }
  int64_t CoveredCols() const { return std::min(w, ow * kw - pw); }
};

// The backward's optional ReLU mask: pooled y (plain when lane_stride > 0), or null.
struct Mask {
  const float* y;
  int64_t lane_stride;
};

// ---- AVX2: block 8, one __m256 per (h, w) cell ----

__attribute__((target("avx2,fma"))) void ForwardPlaneAvx2(const Plane& p, const float* x, float* y,
                                                          int64_t lane_stride, uint8_t* ws) {
  for (int64_t i = 0; i < p.oh; ++i) {
    for (int64_t j = 0; j < p.ow; ++j) {
      int64_t h0, w0, r0, r1, c0, c1;
      p.Window(i, j, h0, w0, r0, r1, c0, c1);
      // The first real cell starts the running max; later ones replace it only when strictly
      // greater, so ties keep the earliest cell (oneDNN's and PyTorch's rule).
      __m256 max = _mm256_loadu_ps(x + ((h0 + r0) * p.w + w0 + c0) * 8);
      __m256i arg = _mm256_set1_epi32(static_cast<int>(r0 * p.kw + c0));
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t c = (r == r0 ? c0 + 1 : c0); c < c1; ++c) {
          const __m256 v = _mm256_loadu_ps(x + ((h0 + r) * p.w + w0 + c) * 8);
          const __m256 greater = _mm256_cmp_ps(v, max, _CMP_GT_OQ);
          max = _mm256_blendv_ps(max, v, greater);
          arg = _mm256_blendv_epi8(arg, _mm256_set1_epi32(static_cast<int>(r * p.kw + c)),
                                   _mm256_castps_si256(greater));
        }
      }
      const int64_t out = i * p.ow + j;
      if (lane_stride == 0) {
        _mm256_storeu_ps(y + out * 8, max);
      } else {
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, max);
        for (int l = 0; l < 8; ++l) y[l * lane_stride + out] = lanes[l];
      }
      if (ws != nullptr) {
        const __m128i words =
            _mm_packus_epi32(_mm256_castsi256_si128(arg), _mm256_extracti128_si256(arg, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(ws + out * 8), _mm_packus_epi16(words, words));
      }
    }
  }
}

// The 8×8 transpose of r[0..7] in registers: r[k] becomes lane k of every input vector.
__attribute__((target("avx2,fma"))) void Transpose8x8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int k = 0; k < 8; k += 2) {
    t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
    t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
  }
  for (int k = 0; k < 8; k += 4) {
    u[k] = _mm256_shuffle_ps(t[k], t[k + 2], 0x44);
    u[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], 0xEE);
    u[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0x44);
    u[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0xEE);
  }
  for (int k = 0; k < 4; ++k) {
    r[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
    r[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
  }
}

// Copies cells [o0, o0 + n) of one plane of a plain pooled tensor (lane l at t[l·lane_stride +
// cell]) into blocked order out[(cell − o0)·8 + l]: 8×8 register transposes, which on Zen 3 cost a
// fraction of one gather per cell. With `relu_y` (plain, the same lane_stride), each value is
// first masked as relu_grad does: relu_y > 0 ? t : +0.
__attribute__((target("avx2,fma"))) void PlainToBlockedAvx2(const float* t, int64_t lane_stride,
                                                            int64_t o0, int64_t n, float* out,
                                                            const float* relu_y) {
  int64_t c = 0;
  for (; c + 8 <= n; c += 8) {
    __m256 r[8];
    for (int l = 0; l < 8; ++l) {
      r[l] = _mm256_loadu_ps(t + l * lane_stride + o0 + c);
      if (relu_y != nullptr) {
        const __m256 y = _mm256_loadu_ps(relu_y + l * lane_stride + o0 + c);
        r[l] = _mm256_and_ps(_mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ), r[l]);
      }
    }
    Transpose8x8(r);
    for (int k = 0; k < 8; ++k) _mm256_storeu_ps(out + (c + k) * 8, r[k]);
  }
  for (; c < n; ++c) {
    for (int l = 0; l < 8; ++l) {
      const int64_t i = l * lane_stride + o0 + c;
      out[c * 8 + l] = relu_y == nullptr || relu_y[i] > 0.f ? t[i] : 0.f;
    }
  }
}

__attribute__((target("avx2,fma"))) void BackwardPlaneAvx2(const Plane& p, const float* dy,
                                                           int64_t lane_stride, const uint8_t* ws,
                                                           const Mask& mask, float* dx) {
  // Output cells in chunks; a plain dy or relu_y chunk is first transposed into a blocked buffer.
  constexpr int64_t kChunk = 64;
  alignas(32) float dy_chunk[kChunk * 8], y_chunk[kChunk * 8];
  const int64_t cells = p.oh * p.ow;
  for (int64_t o0 = 0; o0 < cells; o0 += kChunk) {
    const int64_t n = std::min(kChunk, cells - o0);
    const float* g_cells = dy + o0 * 8;  // cell o's 8 lanes at g_cells[(o − o0)·8]
    const float* y_cells = mask.y == nullptr ? nullptr : mask.y + o0 * 8;  // alike, or null
    if (lane_stride != 0 && mask.y != nullptr && mask.lane_stride == lane_stride) {
      PlainToBlockedAvx2(dy, lane_stride, o0, n, dy_chunk, mask.y);  // both plain: masked here
      g_cells = dy_chunk;
      y_cells = nullptr;
    } else {
      if (lane_stride != 0) {
        PlainToBlockedAvx2(dy, lane_stride, o0, n, dy_chunk, nullptr);
        g_cells = dy_chunk;
      }
      if (y_cells != nullptr && mask.lane_stride != 0) {
        PlainToBlockedAvx2(mask.y, mask.lane_stride, o0, n, y_chunk, nullptr);
        y_cells = y_chunk;
      }
    }
    // Window (i, j) of cell `out` = i·OW + j, stepped without a division per cell.
    for (int64_t out = o0, i = o0 / p.ow, j = o0 % p.ow; out < o0 + n;
         ++out, j = j + 1 == p.ow ? 0 : j + 1, i += j == 0) {
      int64_t h0, w0, r0, r1, c0, c1;
      p.Window(i, j, h0, w0, r0, r1, c0, c1);
      __m256 g = _mm256_loadu_ps(g_cells + (out - o0) * 8);
      if (y_cells != nullptr) {  // relu_grad's y > 0 ? g : +0 (false for NaN, like the scalar >)
        const __m256 y = _mm256_loadu_ps(y_cells + (out - o0) * 8);
        g = _mm256_and_ps(_mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ), g);
      }
      const __m256i arg =
          _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(ws + out * 8)));
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t c = c0; c < c1; ++c) {
          const __m256i won =
              _mm256_cmpeq_epi32(arg, _mm256_set1_epi32(static_cast<int>(r * p.kw + c)));
          _mm256_storeu_ps(dx + ((h0 + r) * p.w + w0 + c) * 8,
                           _mm256_and_ps(_mm256_castsi256_ps(won), g));
        }
      }
    }
  }
}

// ---- AVX-512: block 16, one __m512 per cell ----

__attribute__((target("avx512f"))) void ForwardPlaneAvx512(const Plane& p, const float* x, float* y,
                                                           int64_t lane_stride, uint8_t* ws) {
  for (int64_t i = 0; i < p.oh; ++i) {
    for (int64_t j = 0; j < p.ow; ++j) {
      int64_t h0, w0, r0, r1, c0, c1;
      p.Window(i, j, h0, w0, r0, r1, c0, c1);
      __m512 max = _mm512_loadu_ps(x + ((h0 + r0) * p.w + w0 + c0) * 16);
      __m512i arg = _mm512_set1_epi32(static_cast<int>(r0 * p.kw + c0));
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t c = (r == r0 ? c0 + 1 : c0); c < c1; ++c) {
          const __m512 v = _mm512_loadu_ps(x + ((h0 + r) * p.w + w0 + c) * 16);
          const __mmask16 greater = _mm512_cmp_ps_mask(v, max, _CMP_GT_OQ);
          max = _mm512_mask_blend_ps(greater, max, v);
          arg = _mm512_mask_blend_epi32(greater, arg,
                                        _mm512_set1_epi32(static_cast<int>(r * p.kw + c)));
        }
      }
      const int64_t out = i * p.ow + j;
      if (lane_stride == 0) {
        _mm512_storeu_ps(y + out * 16, max);
      } else {
        alignas(64) float lanes[16];
        _mm512_store_ps(lanes, max);
        for (int l = 0; l < 16; ++l) y[l * lane_stride + out] = lanes[l];
      }
      if (ws != nullptr) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(ws + out * 16), _mm512_cvtepi32_epi8(arg));
      }
    }
  }
}

__attribute__((target("avx512f"))) __m512 LoadPooledAvx512(const float* t, int64_t out,
                                                           int64_t lane_stride) {
  if (lane_stride == 0) return _mm512_loadu_ps(t + out * 16);
  const __m512i lane_offsets =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(static_cast<int>(lane_stride)));
  return _mm512_i32gather_ps(lane_offsets, t + out, 4);
}

__attribute__((target("avx512f"))) void BackwardPlaneAvx512(const Plane& p, const float* dy,
                                                            int64_t lane_stride, const uint8_t* ws,
                                                            const Mask& mask, float* dx) {
  for (int64_t i = 0; i < p.oh; ++i) {
    for (int64_t j = 0; j < p.ow; ++j) {
      int64_t h0, w0, r0, r1, c0, c1;
      p.Window(i, j, h0, w0, r0, r1, c0, c1);
      const int64_t out = i * p.ow + j;
      __m512 g = LoadPooledAvx512(dy, out, lane_stride);
      if (mask.y != nullptr) {
        const __m512 y = LoadPooledAvx512(mask.y, out, mask.lane_stride);
        g = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ), g);
      }
      const __m512i arg =
          _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ws + out * 16)));
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t c = c0; c < c1; ++c) {
          const __mmask16 won =
              _mm512_cmpeq_epi32_mask(arg, _mm512_set1_epi32(static_cast<int>(r * p.kw + c)));
          _mm512_storeu_ps(dx + ((h0 + r) * p.w + w0 + c) * 16, _mm512_maskz_mov_ps(won, g));
        }
      }
    }
  }
}

// Zeros the cells of a dx plane (block lanes each) that no window covers.
void ZeroUncovered(const Plane& p, int block, float* dx) {
  const int64_t rows = p.CoveredRows(), cols = p.CoveredCols();
  for (int64_t r = 0; r < rows; ++r) {
    std::fill(dx + (r * p.w + cols) * block, dx + (r + 1) * p.w * block, 0.f);
  }
  std::fill(dx + std::max<int64_t>(0, rows) * p.w * block, dx + p.h * p.w * block, 0.f);
}

}  // namespace

bool BlockedMaxPoolSupports(const PoolGeometry& g) {
  return g.strides[0] == g.kernel[0] && g.strides[1] == g.kernel[1] &&
         g.kernel[0] * g.kernel[1] <= 256;
}

void BlockedMaxPoolForwardImage(const PoolGeometry& g, int block, int64_t n, const float* x_image,
                                float* y, bool y_plain, uint8_t* workspace) {
  FLOWRT_CHECK(BlockedMaxPoolSupports(g) && (block == 8 || block == 16) && g.x[1] % block == 0);
  const Plane p(g);
  const int64_t blocks = g.x[1] / block;
  const int64_t in = p.h * p.w * block, out = p.oh * p.ow * block;
  // Plane k = (n, cb) starts at k·out in both layouts of y: plain (N, C, OH, OW) puts channel
  // cb·B + l at l·OH·OW from there, blocked at lane l of every cell.
  const int64_t lane_stride = y_plain ? p.oh * p.ow : 0;
  for (int64_t k = n * blocks; k < (n + 1) * blocks; ++k) {
    uint8_t* ws = workspace == nullptr ? nullptr : workspace + k * out;
    const float* x = x_image + (k - n * blocks) * in;
    if (block == 8) {
      ForwardPlaneAvx2(p, x, y + k * out, lane_stride, ws);
    } else {
      ForwardPlaneAvx512(p, x, y + k * out, lane_stride, ws);
    }
  }
}

void BlockedMaxPoolForward(const PoolGeometry& g, int block, const float* x, float* y, bool y_plain,
                           uint8_t* workspace) {
  const int64_t image = g.x[1] * g.x[2] * g.x[3];
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < g.x[0]; ++n) {
    BlockedMaxPoolForwardImage(g, block, n, x + n * image, y, y_plain, workspace);
  }
}

void BlockedMaxPoolBackwardImage(const PoolGeometry& g, int block, int64_t n, const float* dy,
                                 bool dy_plain, const uint8_t* workspace, float* dx_image,
                                 const float* relu_y, bool relu_y_plain) {
  FLOWRT_CHECK(BlockedMaxPoolSupports(g) && (block == 8 || block == 16) && g.x[1] % block == 0);
  const Plane p(g);
  const int64_t blocks = g.x[1] / block;
  const int64_t in = p.h * p.w * block, out = p.oh * p.ow * block;
  const int64_t lane_stride = dy_plain ? p.oh * p.ow : 0;
  for (int64_t k = n * blocks; k < (n + 1) * blocks; ++k) {
    const Mask mask{relu_y == nullptr ? nullptr : relu_y + k * out, relu_y_plain ? p.oh * p.ow : 0};
    float* dx = dx_image + (k - n * blocks) * in;
    if (block == 8) {
      BackwardPlaneAvx2(p, dy + k * out, lane_stride, workspace + k * out, mask, dx);
    } else {
      BackwardPlaneAvx512(p, dy + k * out, lane_stride, workspace + k * out, mask, dx);
    }
    ZeroUncovered(p, block, dx);
  }
}

void BlockedMaxPoolBackward(const PoolGeometry& g, int block, const float* dy, bool dy_plain,
                            const uint8_t* workspace, float* dx, const float* relu_y,
                            bool relu_y_plain) {
  const int64_t image = g.x[1] * g.x[2] * g.x[3];
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < g.x[0]; ++n) {
    BlockedMaxPoolBackwardImage(g, block, n, dy, dy_plain, workspace, dx + n * image, relu_y,
                                relu_y_plain);
  }
}

}  // namespace flow
