// flowrt's direct AVX2 conv2d_grad_weight (ops/conv2d_grad_weight_direct_kernel.h) against
// oneDNN's backward-weights primitive: equal within float rounding (only the summation order
// differs), with x and dy plain and blocked, one and two threads — and the same bits whatever
// their layouts. The cases cover every sweep shape: 1 or 2 filter blocks, 1–5 taps per sweep, a
// kernel row wider than one sweep, several input channels, stride, dilation, and input rows the
// stride's rounding leaves out of every window.
#include "ops/conv2d_grad_weight_direct_kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct Case {
  int64_t n, c, h, w, o, k, stride, dilation, pad;
};

void Check(const Case& c) {
  SCOPED_TRACE(::testing::Message() << "x (" << c.n << ", " << c.c << ", " << c.h << ", " << c.w
                                    << ") " << c.o << " filters " << c.k << "x" << c.k << " stride "
                                    << c.stride << " dilation " << c.dilation);
  const int64_t span = (c.k - 1) * c.dilation + 1;
  const int64_t oh = (c.h + 2 * c.pad - span) / c.stride + 1;
  const int64_t ow = (c.w + 2 * c.pad - span) / c.stride + 1;
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    GTEST_SKIP() << "the kernel needs AVX2 + FMA";
  }
  const Tensor x = testing::RandomTensor({c.n, c.c, c.h, c.w}, 31);
  const Tensor dy = testing::RandomTensor({c.n, c.o, oh, ow}, 32);  // plain NCHW
  const dnnl::memory::dims x_dims{c.n, c.c, c.h, c.w}, w_dims{c.o, c.c, c.k, c.k},
      y_dims{c.n, c.o, oh, ow}, strides{c.stride, c.stride}, dil{c.dilation - 1, c.dilation - 1},
      pads{c.pad, c.pad};
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  dnnl::convolution_forward::primitive_desc hint({dnnl::prop_kind::forward_training,
                                                  dnnl::algorithm::convolution_direct,
                                                  {x_dims, dt::f32, tag::nchw},
                                                  {w_dims, dt::f32, tag::oihw},
                                                  {{c.o}, dt::f32, tag::x},
                                                  {y_dims, dt::f32, tag::nchw},
                                                  strides,
                                                  dil,
                                                  pads,
                                                  pads},
                                                 engine);
  dnnl::convolution_backward_weights::primitive_desc pd({dnnl::algorithm::convolution_direct,
                                                         {x_dims, dt::f32, tag::nchw},
                                                         {w_dims, dt::f32, tag::oihw},
                                                         {{c.o}, dt::f32, tag::x},
                                                         {y_dims, dt::f32, tag::nchw},
                                                         strides,
                                                         dil,
                                                         pads,
                                                         pads},
                                                        engine, hint);
  std::vector<float> want_w(c.o * c.c * c.k * c.k), want_b(c.o);
  dnnl::memory x_mem(pd.src_desc(), engine, const_cast<float*>(x.data<float>()));
  dnnl::memory dy_mem(pd.diff_dst_desc(), engine, const_cast<float*>(dy.data<float>()));
  dnnl::memory w_mem(pd.diff_weights_desc(), engine, want_w.data());
  dnnl::memory b_mem(pd.diff_bias_desc(), engine, want_b.data());
  dnnl::convolution_backward_weights(pd).execute(stream, {{DNNL_ARG_SRC, x_mem},
                                                          {DNNL_ARG_DIFF_DST, dy_mem},
                                                          {DNNL_ARG_DIFF_WEIGHTS, w_mem},
                                                          {DNNL_ARG_DIFF_BIAS, b_mem}});
  stream.wait();

  const GradWeightGeometry g{c.n,
                             c.c,
                             c.h,
                             c.w,
                             c.o,
                             oh,
                             ow,
                             c.k,
                             c.k,
                             {c.stride, c.stride},
                             {c.dilation, c.dilation},
                             {c.pad, c.pad}};
  // (N, C, cells) → blocked by B: (N, C/B, cells, B).
  auto blocked = [](const Tensor& t, int64_t n, int64_t ch, int64_t cells, int64_t block) {
    std::vector<float> out(t.num_elements());
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t k = 0; k < ch; ++k) {
        for (int64_t p = 0; p < cells; ++p) {
          out[((i * (ch / block) + k / block) * cells + p) * block + k % block] =
              t.data<float>()[(i * ch + k) * cells + p];
        }
      }
    }
    return out;
  };
  const double tolerance = 2e-4 * std::sqrt(double(c.n * oh * ow)) + 1e-5;
  // Block 16 (AVX-512) where the CPU has it and the filters fill its blocks.
  std::vector<int> blocks = {8};
  if (__builtin_cpu_supports("avx512f") && c.o % 16 == 0) blocks.push_back(16);
  for (int block : blocks) {
    const std::vector<float> dy_blocked = blocked(dy, c.n, c.o, oh * ow, block);
    for (int threads : {1, 2}) {
      SCOPED_TRACE(::testing::Message() << "block " << block << ", threads " << threads);
      std::vector<float> plain_w(want_w.size()), plain_b(c.o), blocked_w(want_w.size()),
          blocked_b(c.o);
      DirectGradWeight(g, block, false, threads)
          .Run(x.data<float>(), dy.data<float>(), false, plain_w.data(), plain_b.data());
      for (size_t i = 0; i < want_w.size(); ++i) {
        // Sums of N·OH·OW products of N(0, 1) values: float rounding ~1e-4 of it.
        ASSERT_NEAR(plain_w[i], want_w[i], tolerance) << "dweight " << i;
      }
      for (int64_t o = 0; o < c.o; ++o) {
        ASSERT_NEAR(plain_b[o], want_b[o], tolerance) << "dbias " << o;
      }
      DirectGradWeight(g, block, false, threads)
          .Run(x.data<float>(), dy_blocked.data(), true, blocked_w.data(), blocked_b.data());
      EXPECT_EQ(blocked_w, plain_w) << "dweight depends on dy's layout";
      EXPECT_EQ(blocked_b, plain_b) << "dbias depends on dy's layout";
      if (c.c % block == 0) {  // x blocked too (conv2 after a blocked pooling)
        const std::vector<float> x_blocked = blocked(x, c.n, c.c, c.h * c.w, block);
        std::fill(blocked_w.begin(), blocked_w.end(), 0.f);
        DirectGradWeight(g, block, true, threads)
            .Run(x_blocked.data(), dy_blocked.data(), true, blocked_w.data(), blocked_b.data());
        EXPECT_EQ(blocked_w, plain_w) << "dweight depends on x's layout";
        EXPECT_EQ(blocked_b, plain_b) << "dbias depends on x's layout";
      }
    }
  }
}

TEST(DirectGradWeightTest, MatchesOneDnnWithinFloatRounding) {
  Check({4, 1, 28, 28, 32, 5, 1, 1, 2});   // LeNet's conv1 at batch 4: 2 blocks × 5 taps
  Check({3, 1, 12, 9, 16, 3, 2, 2, 1});    // stride 2, dilation 2 (x's last row unread): 2 × 3
  Check({2, 1, 12, 10, 24, 7, 1, 1, 3});   // 3 blocks (2 + 1), taps 5 + 2 per kernel row
  Check({2, 3, 9, 8, 8, 4, 1, 1, 0});      // 3 input channels, 1 block × 4 taps, no padding
  Check({2, 2, 6, 7, 8, 1, 1, 1, 0});      // 1×1 kernel: 1 tap
  Check({2, 16, 14, 14, 24, 5, 1, 1, 2});  // 16 input channels, LeNet's conv2 geometry
  Check({3, 32, 14, 14, 64, 5, 1, 1, 2});  // LeNet's conv2 at batch 3, x blocked too
  Check({2, 8, 7, 9, 16, 3, 2, 1, 2});     // x blocked, stride 2: padding rows skipped per tap
  Check({2, 8, 3, 5, 8, 5, 1, 2, 4});    // dilation 2, pad 4: kernel rows 0 and 4 read only padding
  Check({2, 16, 6, 5, 48, 3, 1, 1, 1});  // block 16: 3 blocks (2 + 1), x blocked by 16
}

}  // namespace
}  // namespace flow
