#include "ops/conv2d_grad_weight_direct_kernel.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>

#include "runtime/layout.h"
#include "runtime/status.h"

namespace flow {
namespace {

constexpr int kMaxTaps = 5;    // taps of one kernel row per sweep
constexpr int kMaxBlocks = 2;  // filter blocks per sweep: 2 × 5 accumulators + 2 dy + 1 x
// Accumulators per (filter block pair, tap): (O/(2B) pairs, C·KH·KW taps, 2 blocks, B), so one
// sweep's accumulators are one contiguous run of 2 × kMaxTaps vectors.
constexpr int64_t PairFloats(int64_t block) { return kMaxBlocks * block; }

// What one sweep reads and where it sums.
struct SweepArgs {
  const float* x;  // padded x at (c, r·dh, s0·dw): output cell (i, j) reads x[i·row + j·sw]
  int64_t row, sw, dw;  // x steps: one output row, one output column, one tap
  const float* dy;      // blocked dy of the first filter block, cell 0
  int64_t dy_block;     // cells · B: the next filter block
  int64_t i0, i1, ow;   // output rows [i0, i1) (those whose kernel row reads x), columns
  float* acc;  // first block's accumulator for tap s0; the pair's next block is B floats on, the
               // next tap kPairFloats on (the sweep's accumulators are one contiguous run)
};

// acc[b][t] += Σ_{i,j} dy[b, i, j, :] · x[i·row + j·sw + t·dw] for kBlocks blocks and kTaps taps,
// i in [i0, i1),
// the accumulators in registers for the whole image. The image's sum starts at zero and is added to
// acc once: a chain of OH·OW terms per image, then one of N images, not one float chain of N·OH·OW
// (94 080 for LeNet's conv1), whose rounding grew with the batch and made 3 data-parallel ranks
// differ from one process by 6e-4 after 10 momentum steps (tests/mpi, lenet_np3).
template <int kBlocks, int kTaps>
__attribute__((target("avx2,fma"))) void Sweep(const SweepArgs& a) {
  constexpr int64_t kBlock = 8, kPairFloats = PairFloats(kBlock);
  __m256 acc[kBlocks][kTaps];
#pragma GCC unroll 8
  for (int b = 0; b < kBlocks; ++b) {
#pragma GCC unroll 8
    for (int t = 0; t < kTaps; ++t) acc[b][t] = _mm256_setzero_ps();
  }
  for (int64_t i = a.i0; i < a.i1; ++i) {
    const float* x = a.x + i * a.row;
    const float* dy = a.dy + i * a.ow * kBlock;
    for (int64_t j = 0; j < a.ow; ++j, x += a.sw, dy += kBlock) {
      __m256 d[kBlocks];
#pragma GCC unroll 8
      for (int b = 0; b < kBlocks; ++b) d[b] = _mm256_loadu_ps(dy + b * a.dy_block);
#pragma GCC unroll 8
      for (int t = 0; t < kTaps; ++t) {
        const __m256 v = _mm256_broadcast_ss(x + t * a.dw);
#pragma GCC unroll 8
        for (int b = 0; b < kBlocks; ++b) acc[b][t] = _mm256_fmadd_ps(d[b], v, acc[b][t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int b = 0; b < kBlocks; ++b) {
#pragma GCC unroll 8
    for (int t = 0; t < kTaps; ++t) {
      float* out = a.acc + t * kPairFloats + b * kBlock;
      _mm256_storeu_ps(out, _mm256_add_ps(_mm256_loadu_ps(out), acc[b][t]));
    }
  }
}

// Sweep<2, 5> for stride 1 and dilation 1 (both LeNet convolutions), with plain arguments and
// unit steps, so the column loop keeps every pointer in a register and the compiler may reuse a
// tap's broadcast x for the next column's previous tap. On LeNet's conv2 gradient, with its data
// out of the cache: 23.6–29.8 ms against 25.8–33.0 ms for Sweep<2, 5> (1 thread, AMD EPYC Zen 3,
// interleaved standalone runs). Same accumulation order, so the same bits.
__attribute__((target("avx2,fma"))) void SweepUnit5(const float* x, int64_t x_row, const float* dy0,
                                                    const float* dy1, int64_t ow, int64_t i0,
                                                    int64_t i1, float* acc) {
  constexpr int64_t kBlock = 8;
  __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00,
         a30 = a00, a31 = a00, a40 = a00, a41 = a00;
  for (int64_t i = i0; i < i1; ++i) {
    const float* xr = x + i * x_row;
    const float* d0 = dy0 + i * ow * kBlock;
    const float* d1 = dy1 + i * ow * kBlock;
    for (int64_t j = 0; j < ow; ++j) {
      const __m256 v0 = _mm256_loadu_ps(d0 + j * kBlock), v1 = _mm256_loadu_ps(d1 + j * kBlock);
      __m256 b = _mm256_broadcast_ss(xr + j);
      a00 = _mm256_fmadd_ps(v0, b, a00);
      a01 = _mm256_fmadd_ps(v1, b, a01);
      b = _mm256_broadcast_ss(xr + j + 1);
      a10 = _mm256_fmadd_ps(v0, b, a10);
      a11 = _mm256_fmadd_ps(v1, b, a11);
      b = _mm256_broadcast_ss(xr + j + 2);
      a20 = _mm256_fmadd_ps(v0, b, a20);
      a21 = _mm256_fmadd_ps(v1, b, a21);
      b = _mm256_broadcast_ss(xr + j + 3);
      a30 = _mm256_fmadd_ps(v0, b, a30);
      a31 = _mm256_fmadd_ps(v1, b, a31);
      b = _mm256_broadcast_ss(xr + j + 4);
      a40 = _mm256_fmadd_ps(v0, b, a40);
      a41 = _mm256_fmadd_ps(v1, b, a41);
    }
  }
  // The same accumulator order as Sweep<2, 5>: tap t's pair at t · kPairFloats, block b at b · 8.
  const __m256 sums[2 * kMaxTaps] = {a00, a01, a10, a11, a20, a21, a30, a31, a40, a41};
  for (int k = 0; k < 2 * kMaxTaps; ++k) {
    _mm256_storeu_ps(acc + k * kBlock, _mm256_add_ps(_mm256_loadu_ps(acc + k * kBlock), sums[k]));
  }
}

// Sweep for block 16 on AVX-512: the same sums, 16 filters per vector. Only the generic form: on
// AVX-512 the kernel runs for one input channel only (UseDirectGradWeight), and what a unit-step
// variant would give there (9% on conv2 at AVX2) is not measured.
template <int kBlocks, int kTaps>
__attribute__((target("avx512f"))) void Sweep16(const SweepArgs& a) {
  constexpr int64_t kBlock = 16, kPairFloats = PairFloats(kBlock);
  __m512 acc[kBlocks][kTaps];
#pragma GCC unroll 8
  for (int b = 0; b < kBlocks; ++b) {
#pragma GCC unroll 8
    for (int t = 0; t < kTaps; ++t) acc[b][t] = _mm512_setzero_ps();
  }
  for (int64_t i = a.i0; i < a.i1; ++i) {
    const float* x = a.x + i * a.row;
    const float* dy = a.dy + i * a.ow * kBlock;
    for (int64_t j = 0; j < a.ow; ++j, x += a.sw, dy += kBlock) {
      __m512 d[kBlocks];
#pragma GCC unroll 8
      for (int b = 0; b < kBlocks; ++b) d[b] = _mm512_loadu_ps(dy + b * a.dy_block);
#pragma GCC unroll 8
      for (int t = 0; t < kTaps; ++t) {
        const __m512 v = _mm512_set1_ps(x[t * a.dw]);
#pragma GCC unroll 8
        for (int b = 0; b < kBlocks; ++b) acc[b][t] = _mm512_fmadd_ps(d[b], v, acc[b][t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int b = 0; b < kBlocks; ++b) {
#pragma GCC unroll 8
    for (int t = 0; t < kTaps; ++t) {
      float* out = a.acc + t * kPairFloats + b * kBlock;
      _mm512_storeu_ps(out, _mm512_add_ps(_mm512_loadu_ps(out), acc[b][t]));
    }
  }
}

using SweepFn = void (*)(const SweepArgs&);
constexpr SweepFn kSweeps[kMaxBlocks][kMaxTaps] = {
    {Sweep<1, 1>, Sweep<1, 2>, Sweep<1, 3>, Sweep<1, 4>, Sweep<1, 5>},
    {Sweep<2, 1>, Sweep<2, 2>, Sweep<2, 3>, Sweep<2, 4>, Sweep<2, 5>}};
constexpr SweepFn kSweeps16[kMaxBlocks][kMaxTaps] = {
    {Sweep16<1, 1>, Sweep16<1, 2>, Sweep16<1, 3>, Sweep16<1, 4>, Sweep16<1, 5>},
    {Sweep16<2, 1>, Sweep16<2, 2>, Sweep16<2, 3>, Sweep16<2, 4>, Sweep16<2, 5>}};

// bias[b] += Σ_p dy[b, p, :] for `blocks` filter blocks of `cells` cells, 8 or 16 per block.
__attribute__((target("avx2,fma"))) void SumBias8(const float* dy, int64_t blocks, int64_t cells,
                                                  float* bias) {
  for (int64_t b = 0; b < blocks; ++b) {
    __m256 sum = _mm256_setzero_ps();
    const float* d = dy + b * cells * 8;
    for (int64_t p = 0; p < cells; ++p) sum = _mm256_add_ps(sum, _mm256_loadu_ps(d + p * 8));
    _mm256_storeu_ps(bias + b * 8, _mm256_add_ps(_mm256_loadu_ps(bias + b * 8), sum));
  }
}
__attribute__((target("avx512f"))) void SumBias16(const float* dy, int64_t blocks, int64_t cells,
                                                  float* bias) {
  for (int64_t b = 0; b < blocks; ++b) {
    __m512 sum = _mm512_setzero_ps();
    const float* d = dy + b * cells * 16;
    for (int64_t p = 0; p < cells; ++p) sum = _mm512_add_ps(sum, _mm512_loadu_ps(d + p * 16));
    _mm512_storeu_ps(bias + b * 16, _mm512_add_ps(_mm512_loadu_ps(bias + b * 16), sum));
  }
}

}  // namespace

bool UseDirectGradWeight(const Shape& x, const Shape& dy, bool x_blocked, int64_t groups) {
  const int64_t block = BlockedChannels();
  if (groups != 1 || dy[1] % block != 0) return false;
  if (block == 16) return x[1] == 1;
  const bool measured = x[1] == 1 || dy[2] * dy[3] <= 16 * 16;
  return measured && (!x_blocked || x[1] % block == 0);
}

DirectGradWeight::DirectGradWeight(const GradWeightGeometry& g, int block, bool x_blocked,
                                   int threads)
    : g_(g),
      block_(block),
      x_blocked_(x_blocked),
      threads_(std::max<int>(1, std::min<int64_t>(threads, g.n))),
      chunks_(std::min<int64_t>(g.n, 16)),
      taps_(g.c * g.kh * g.kw),
      cells_(g.oh * g.ow),
      padded_h_((g.oh - 1) * g.stride[0] + (g.kh - 1) * g.dilation[0] + 1),
      padded_w_((g.ow - 1) * g.stride[1] + (g.kw - 1) * g.dilation[1] + 1),
      padded_size_(g.c * padded_h_ * padded_w_),
      scratch_size_(padded_size_ + g.o * cells_),
      acc_size_((g.o + PairFloats(block) - 1) / PairFloats(block) * PairFloats(block) * taps_ +
                g.o),
      scratch_(threads_ * scratch_size_),
      acc_(chunks_ * acc_size_) {
  FLOWRT_CHECK(block == 8 || block == 16) << block;
  FLOWRT_CHECK(g.o % block == 0);
  FLOWRT_CHECK(!x_blocked || g.c % block == 0);
  // Kernel row r reads padded row i·sh + r·dh for output row i; x fills padded rows [u0, u1).
  const int64_t u0 = std::max<int64_t>(0, g.pad_before[0]);
  const int64_t u1 = std::min(padded_h_, g.h + g.pad_before[0]);
  auto ceil_div = [](int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -(-a / b); };
  for (int64_t r = 0; r < g.kh; ++r) {
    const int64_t i0 = std::clamp<int64_t>(ceil_div(u0 - r * g.dilation[0], g.stride[0]), 0, g.oh);
    const int64_t i1 = std::clamp<int64_t>(ceil_div(u1 - r * g.dilation[0], g.stride[0]), 0, g.oh);
    rows_.emplace_back(i0, i1);
  }
}

void DirectGradWeight::Image(int64_t n, const float* x, DyOfImage dy_of_image, float* scratch,
                             float* acc) const {
  // The padded plane: padded[c, u, v] = x[n, c, u − ph, v − pw], 0 outside x.
  float* padded = scratch;
  std::fill(padded, padded + padded_size_, 0.f);
  const int64_t u0 = std::max<int64_t>(0, g_.pad_before[0]);
  const int64_t u1 = std::min(padded_h_, g_.h + g_.pad_before[0]);
  const int64_t v0 = std::max<int64_t>(0, g_.pad_before[1]);
  const int64_t v1 = std::min(padded_w_, g_.w + g_.pad_before[1]);
  const int64_t bl = block_;
  if (x_blocked_) {  // (C/B, H, W, B): lane l of cell (h, w) goes to plane c0 + l
    // Read in memory order, so x streams in even when it has left the cache.
    const int64_t plane = padded_h_ * padded_w_;
    for (int64_t c0 = 0; c0 < g_.c; c0 += bl) {
      const float* block = x + (n * g_.c + c0) * g_.h * g_.w;
      for (int64_t u = u0; u < u1; ++u) {
        const float* src = block + ((u - g_.pad_before[0]) * g_.w - g_.pad_before[1]) * bl;
        float* dst = padded + (c0 * padded_h_ + u) * padded_w_;
        for (int64_t v = v0; v < v1; ++v) {
          for (int64_t l = 0; l < bl; ++l) dst[l * plane + v] = src[v * bl + l];
        }
      }
    }
  } else {
    for (int64_t c = 0; c < g_.c; ++c) {
      const float* plane = x + (n * g_.c + c) * g_.h * g_.w;
      for (int64_t u = u0; u < u1; ++u) {
        const float* src = plane + (u - g_.pad_before[0]) * g_.w - g_.pad_before[1];
        std::copy(src + v0, src + v1, padded + (c * padded_h_ + u) * padded_w_ + v0);
      }
    }
  }
  const int64_t blocks = g_.o / bl, pair = PairFloats(bl);
  const float* dy_n = dy_of_image(n, scratch + padded_size_);
  for (int64_t b0 = 0; b0 < blocks; b0 += kMaxBlocks) {
    const int64_t nb = std::min<int64_t>(kMaxBlocks, blocks - b0);
    for (int64_t c = 0; c < g_.c; ++c) {
      for (int64_t r = 0; r < g_.kh; ++r) {
        const auto [i0, i1] = rows_[r];
        if (i0 >= i1) continue;
        for (int64_t s0 = 0; s0 < g_.kw; s0 += kMaxTaps) {
          const int64_t nt = std::min<int64_t>(kMaxTaps, g_.kw - s0);
          const SweepArgs args{
              padded + (c * padded_h_ + r * g_.dilation[0]) * padded_w_ + s0 * g_.dilation[1],
              g_.stride[0] * padded_w_,
              g_.stride[1],
              g_.dilation[1],
              dy_n + b0 * cells_ * bl,
              cells_ * bl,
              i0,
              i1,
              g_.ow,
              acc + ((b0 / kMaxBlocks) * taps_ + (c * g_.kh + r) * g_.kw + s0) * pair};
          if (bl == 16) {
            kSweeps16[nb - 1][nt - 1](args);
          } else if (nb == kMaxBlocks && nt == kMaxTaps && g_.stride[1] == 1 &&
                     g_.dilation[1] == 1) {
            SweepUnit5(args.x, args.row, args.dy, args.dy + args.dy_block, g_.ow, i0, i1, args.acc);
          } else {
            kSweeps[nb - 1][nt - 1](args);
          }
        }
      }
    }
  }
  float* bias = acc + acc_size_ - g_.o;
  if (bl == 16) {
    SumBias16(dy_n, blocks, cells_, bias);
  } else {
    SumBias8(dy_n, blocks, cells_, bias);
  }
}

void DirectGradWeight::Run(const float* x, const float* dy, bool dy_blocked, float* dweight,
                           float* dbias) {
  const int64_t image = g_.o * cells_, bl = block_;
  if (dy_blocked) {
    Run(
        x, [dy, image](int64_t n, float*) { return dy + n * image; }, dweight, dbias);
    return;
  }
  // (O, cells) → (O/B, cells, B) per image, into the thread's scratch.
  Run(
      x,
      [&](int64_t n, float* blocked) -> const float* {
        const float* dy_n = dy + n * image;
        for (int64_t o = 0; o < g_.o; ++o) {
          for (int64_t p = 0; p < cells_; ++p) {
            blocked[((o / bl) * cells_ + p) * bl + o % bl] = dy_n[o * cells_ + p];
          }
        }
        return blocked;
      },
      dweight, dbias);
}

void DirectGradWeight::Run(const float* x, DyOfImage dy_of_image, float* dweight, float* dbias) {
  auto chunk = [&](int64_t c, float* scratch) {
    float* acc = acc_.data() + c * acc_size_;
    std::fill(acc, acc + acc_size_, 0.f);
    for (int64_t n = g_.n * c / chunks_; n < g_.n * (c + 1) / chunks_; ++n) {
      Image(n, x, dy_of_image, scratch, acc);
    }
  };
  // At most the OpenMP count of the moment: 1 when the executor runs chunks-only
  // (runtime/thread_governor.h).
  const int threads = std::min(threads_, omp_get_max_threads());
  if (threads == 1) {
    for (int64_t c = 0; c < chunks_; ++c) chunk(c, scratch_.data());
  } else {
    // Whichever thread is free takes the next chunk: a thread sharing its core with another
    // process takes fewer instead of holding up the other at the end.
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t c = 0; c < chunks_; ++c) {
      chunk(c, scratch_.data() + omp_get_thread_num() * scratch_size_);
    }
  }
  // (O/(2B), taps, 2B) → (O, taps), chunks added in order, reading the accumulators in order.
  const int64_t weight_floats = acc_size_ - g_.o, pair = PairFloats(block_);
  for (int64_t i = 0; i < acc_size_; ++i) {
    float sum = acc_[i];
    for (int64_t c = 1; c < chunks_; ++c) sum += acc_[c * acc_size_ + i];
    if (i >= weight_floats) {
      dbias[i - weight_floats] = sum;
      continue;
    }
    const int64_t o = i / (taps_ * pair) * pair + i % pair;
    const int64_t k = i / pair % taps_;
    if (o < g_.o) dweight[o * taps_ + k] = sum;
  }
}

}  // namespace flow
