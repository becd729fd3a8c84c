// conv2d_grad_weight by im2col + sgemm (ops/conv2d_grad_weight_im2col_kernel.h) against oneDNN's
// backward-weights primitive: equal within float rounding (only the summation order differs),
// with dy plain and blocked, one and two threads — and the same bits whatever dy's layout.
#include "ops/conv2d_grad_weight_im2col_kernel.h"

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
  int64_t n, h, w, o, k, stride, dilation, pad;
};

void Check(const Case& c) {
  SCOPED_TRACE(::testing::Message()
               << "x (" << c.n << ", 1, " << c.h << ", " << c.w << ") " << c.o << " filters " << c.k
               << "x" << c.k << " stride " << c.stride << " dilation " << c.dilation);
  const int64_t span = (c.k - 1) * c.dilation + 1;
  const int64_t oh = (c.h + 2 * c.pad - span) / c.stride + 1;
  const int64_t ow = (c.w + 2 * c.pad - span) / c.stride + 1;
  const Tensor x = testing::RandomTensor({c.n, 1, c.h, c.w}, 31);
  const Tensor dy = testing::RandomTensor({c.n, c.o, oh, ow}, 32);  // plain NCHW
  const dnnl::memory::dims x_dims{c.n, 1, c.h, c.w}, w_dims{c.o, 1, c.k, c.k},
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
  std::vector<float> want_w(c.o * c.k * c.k), want_b(c.o);
  dnnl::memory x_mem(pd.src_desc(), engine, const_cast<float*>(x.data<float>()));
  dnnl::memory dy_mem(pd.diff_dst_desc(), engine, const_cast<float*>(dy.data<float>()));
  dnnl::memory w_mem(pd.diff_weights_desc(), engine, want_w.data());
  dnnl::memory b_mem(pd.diff_bias_desc(), engine, want_b.data());
  dnnl::convolution_backward_weights(pd).execute(stream, {{DNNL_ARG_SRC, x_mem},
                                                          {DNNL_ARG_DIFF_DST, dy_mem},
                                                          {DNNL_ARG_DIFF_WEIGHTS, w_mem},
                                                          {DNNL_ARG_DIFF_BIAS, b_mem}});
  stream.wait();

  const Im2colConv g{c.n,
                     1,
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
  // dy blocked by 8: (N, O/8, OH, OW, 8).
  std::vector<float> dy_blocked(dy.num_elements());
  const int64_t cells = oh * ow;
  for (int64_t n = 0; n < c.n; ++n) {
    for (int64_t o = 0; o < c.o; ++o) {
      for (int64_t p = 0; p < cells; ++p) {
        dy_blocked[((n * (c.o / 8) + o / 8) * cells + p) * 8 + o % 8] =
            dy.data<float>()[(n * c.o + o) * cells + p];
      }
    }
  }
  for (int threads : {1, 2}) {
    std::vector<float> plain_w(want_w.size()), plain_b(c.o), blocked_w(want_w.size()),
        blocked_b(c.o);
    Im2colGradWeight(g, 8, false, threads)
        .Run(x.data<float>(), dy.data<float>(), plain_w.data(), plain_b.data());
    Im2colGradWeight(g, 8, true, threads)
        .Run(x.data<float>(), dy_blocked.data(), blocked_w.data(), blocked_b.data());
    for (size_t i = 0; i < want_w.size(); ++i) {
      // Sums of up to N·OH·OW ≈ 3000 products of N(0, 1) values: float rounding ~1e-4 of it.
      ASSERT_NEAR(plain_w[i], want_w[i], 2e-4 * std::sqrt(double(c.n * cells)) + 1e-5)
          << "dweight " << i << ", threads " << threads;
      ASSERT_EQ(blocked_w[i], plain_w[i]) << "dweight " << i << " depends on dy's layout";
    }
    for (int64_t o = 0; o < c.o; ++o) {
      ASSERT_NEAR(plain_b[o], want_b[o], 2e-4 * std::sqrt(double(c.n * cells)) + 1e-5)
          << "dbias " << o;
      ASSERT_EQ(blocked_b[o], plain_b[o]) << "dbias " << o << " depends on dy's layout";
    }
  }
}

TEST(Im2colGradWeightTest, MatchesOneDnnWithinFloatRounding) {
  Check({4, 28, 28, 32, 5, 1, 1, 2});  // LeNet's conv1 at batch 4
  Check({3, 11, 9, 16, 3, 2, 2, 1});   // stride 2, dilation 2
}

}  // namespace
}  // namespace flow
