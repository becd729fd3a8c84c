#include "ops/dense_grad_weight_tiles.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

// The SGD epilogue must round each product and sum on its own, as sgd_update does: GCC would
// otherwise contract _mm512_add_ps(_mm512_mul_ps(..)) into an FMA under target("avx512f"). The
// tiles' FMAs are explicit _mm512_fmadd_ps and stay.
#include "runtime/fp_contract_off.h"

namespace flow {
namespace {

constexpr int kTileUnits = 6;
constexpr int64_t kTileColumns = 32;  // two vectors
// Columns of x packed at a time (LeNet's N = 100: 200 KB, in the core's L2), whose tiles a row of
// tiles then runs through.
constexpr int64_t kChunkColumns = 512;
constexpr int64_t kPrefetchTiles = 2;

// w ← w − rate · (g·scale + l1·sign(w) + l2·w) on 16 lanes, every operation rounded on its own
// in sgd_update's order; `lanes` masks the columns past `in`.
__attribute__((target("avx512f"))) inline void SgdLanes(const DenseGradWeightSgd& e, __m512 g,
                                                        float* w, __mmask16 lanes) {
  const __m512 wv = _mm512_maskz_loadu_ps(lanes, w);
  const __m512 zero = _mm512_setzero_ps();
  // sign(w) as (w > 0) − (w < 0): +1, −1, or 0 (also for a NaN w).
  __m512 sign =
      _mm512_mask_blend_ps(_mm512_cmp_ps_mask(wv, zero, _CMP_GT_OQ), zero, _mm512_set1_ps(1.f));
  sign = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(wv, zero, _CMP_LT_OQ), sign, _mm512_set1_ps(-1.f));
  __m512 t = _mm512_mul_ps(g, _mm512_set1_ps(e.scale));
  t = _mm512_add_ps(t, _mm512_mul_ps(_mm512_set1_ps(e.l1), sign));
  t = _mm512_add_ps(t, _mm512_mul_ps(_mm512_set1_ps(e.l2), wv));
  t = _mm512_mul_ps(_mm512_set1_ps(e.rate), t);
  _mm512_mask_storeu_ps(w, lanes, _mm512_sub_ps(wv, t));
}

// Units [u, u + R) × columns [c, c + 32) of dW: dyp (rows, 6) dy's packed columns, xp (rows, 32)
// x's.
template <int R>
__attribute__((target("avx512f"))) void Tile(const float* dyp, const float* xp, int64_t rows,
                                             const DenseGradWeightSgd& e, float* out, int64_t ld,
                                             __mmask16 lanes0, __mmask16 lanes1,
                                             const float* next) {
  __m512 acc[R][2];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  }
  // W's lines of the tile after next, so its update loads them from the cache.
  if (next != nullptr) {
#pragma GCC unroll 8
    for (int i = 0; i < kTileUnits; ++i) {
      __builtin_prefetch(next + i * ld, 1, 3);
      __builtin_prefetch(next + i * ld + 16, 1, 3);
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    const __m512 x0 = _mm512_loadu_ps(xp + r * kTileColumns);
    const __m512 x1 = _mm512_loadu_ps(xp + r * kTileColumns + 16);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const __m512 d = _mm512_set1_ps(dyp[r * kTileUnits + i]);
      acc[i][0] = _mm512_fmadd_ps(d, x0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(d, x1, acc[i][1]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    SgdLanes(e, acc[i][0], out + i * ld, lanes0);
    SgdLanes(e, acc[i][1], out + i * ld + 16, lanes1);
  }
}

// Tile<R> for the R = 1..6 units left in a row of tiles (6 but at the end of a thread's range).
using TileFn = void (*)(const float*, const float*, int64_t, const DenseGradWeightSgd&, float*,
                        int64_t, __mmask16, __mmask16, const float*);
constexpr TileFn kTileOf[kTileUnits + 1] = {nullptr, Tile<1>, Tile<2>, Tile<3>,
                                            Tile<4>, Tile<5>, Tile<6>};

__mmask16 FirstLanes(int64_t n) {
  return n >= 16  ? __mmask16{0xffff}
         : n <= 0 ? __mmask16{0}
                  : static_cast<__mmask16>((1u << n) - 1);
}

}  // namespace

DenseGradWeightTiles::DenseGradWeightTiles(int64_t rows, int64_t units, int64_t in, int threads)
    : rows_(rows),
      units_(units),
      in_(in),
      per_thread_(rows * (units + kTileUnits + kChunkColumns)),
      scratch_(static_cast<size_t>(std::max(threads, 1) * per_thread_)) {}

void DenseGradWeightTiles::Run(const float* dy, const float* x, const DenseGradWeightSgd& sgd,
                               float* w, int64_t begin, int64_t end) {
  const int64_t n = end - begin;
  float* dyp = scratch_.data() + omp_get_thread_num() * per_thread_;
  float* xp = dyp + rows_ * (units_ + kTileUnits);
  for (int64_t r = 0; r < rows_; ++r) {
    for (int64_t u = 0; u < n; u += kTileUnits) {  // dy[:, begin + u, +6) → panel u / 6, (rows, 6)
      float* panel = dyp + u * rows_ + r * kTileUnits;
      const int64_t width = std::min<int64_t>(kTileUnits, n - u);
      for (int64_t i = 0; i < width; ++i) panel[i] = dy[r * units_ + begin + u + i];
    }
  }
  for (int64_t chunk = 0; chunk < in_; chunk += kChunkColumns) {
    const int64_t chunk_width = std::min(kChunkColumns, in_ - chunk);
    const int64_t panels = (chunk_width + kTileColumns - 1) / kTileColumns;
    for (int64_t p = 0; p < panels; ++p) {  // panel p: x[:, chunk + 32p, +32) as (rows, 32)
      const int64_t c = chunk + p * kTileColumns, width = std::min(kTileColumns, in_ - c);
      float* panel = xp + p * rows_ * kTileColumns;
      for (int64_t r = 0; r < rows_; ++r) {
        std::memcpy(panel + r * kTileColumns, x + r * in_ + c, width * sizeof(float));
        std::fill(panel + r * kTileColumns + width, panel + (r + 1) * kTileColumns, 0.f);
      }
    }
    // Along the rows of dW / W: each tile row continues where the last one ended. `next` is the
    // tile two ahead in this order, on the next row of tiles near the end of one.
    for (int64_t u = 0; u < n; u += kTileUnits) {
      const int units = static_cast<int>(std::min<int64_t>(kTileUnits, n - u));
      for (int64_t p = 0; p < panels; ++p) {
        const int64_t c = chunk + p * kTileColumns, width = std::min(kTileColumns, in_ - c);
        const int64_t ahead = p + kPrefetchTiles;
        const int64_t next_u = ahead < panels ? u : u + kTileUnits;
        const float* next = next_u < n
                                ? w + (begin + next_u) * in_ + chunk + ahead % panels * kTileColumns
                                : nullptr;
        kTileOf[units](dyp + u * rows_, xp + p * rows_ * kTileColumns, rows_, sgd,
                       w + (begin + u) * in_ + c, in_, FirstLanes(width), FirstLanes(width - 16),
                       next);
      }
    }
  }
}

}  // namespace flow
