// flowrt's direct conv2d forward for one input channel (ops/conv2d_direct_forward_kernel.h)
// against a float64 loop: within float rounding, with every sweep shape (two filter blocks and an
// odd last one, full runs of 7 and 14 columns and a tail), stride, dilation, padding on either
// side, ReLU, with and without a bias. conv2d's gradient checks (tests/ops/conv2d_test.cc) run it
// through the op on AVX-512; the fused forward (tests/graph/conv2d_into_max_pool2d_test.cc) gives
// its bits.
#include "ops/conv2d_direct_forward_kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

struct Case {
  int64_t h, w, o, k, stride, dilation, pad;
  bool relu, bias;
};

void Check(const Case& c) {
  SCOPED_TRACE(::testing::Message()
               << c.h << "x" << c.w << ", " << c.o << " filters " << c.k << "x" << c.k << " stride "
               << c.stride << " dilation " << c.dilation << " pad " << c.pad);
  if (!__builtin_cpu_supports("avx512f")) GTEST_SKIP() << "the kernel needs AVX-512F";
  const int64_t n = 2, span = (c.k - 1) * c.dilation + 1;
  const int64_t oh = (c.h + 2 * c.pad - span) / c.stride + 1;
  const int64_t ow = (c.w + 2 * c.pad - span) / c.stride + 1;
  const Tensor x = testing::RandomTensor({n, 1, c.h, c.w}, 41);
  const Tensor w = testing::RandomTensor({c.o, 1, c.k, c.k}, 42);
  const Tensor b = testing::RandomTensor({c.o}, 43);
  const DirectConvForward conv({c.h,
                                c.w,
                                c.o,
                                oh,
                                ow,
                                c.k,
                                c.k,
                                {c.stride, c.stride},
                                {c.dilation, c.dilation},
                                {c.pad, c.pad},
                                c.relu});
  std::vector<float> packed(conv.packed_size()), scratch(conv.scratch_size()), y(c.o * oh * ow);
  conv.PackWeights(w.data<float>(), packed.data());
  for (int64_t image = 0; image < n; ++image) {
    conv.Image(image, x.data<float>(), packed.data(), c.bias ? b.data<float>() : nullptr, y.data(),
               scratch.data());
    for (int64_t o = 0; o < c.o; ++o) {
      for (int64_t i = 0; i < oh; ++i) {
        for (int64_t j = 0; j < ow; ++j) {
          double want = c.bias ? b.data<float>()[o] : 0;
          for (int64_t r = 0; r < c.k; ++r) {
            for (int64_t s = 0; s < c.k; ++s) {
              const int64_t u = i * c.stride - c.pad + r * c.dilation;
              const int64_t v = j * c.stride - c.pad + s * c.dilation;
              if (u < 0 || u >= c.h || v < 0 || v >= c.w) continue;
              want += double(w.data<float>()[(o * c.k + r) * c.k + s]) *
                      x.data<float>()[(image * c.h + u) * c.w + v];
            }
          }
          if (c.relu && !(want > 0)) want = 0;
          const float got = y[((o / 16 * oh + i) * ow + j) * 16 + o % 16];
          ASSERT_NEAR(got, want, 1e-5 * (1 + c.k))
              << "image " << image << " filter " << o << " cell (" << i << ", " << j << ")";
          if (c.relu) ASSERT_FALSE(std::signbit(got)) << "ReLU gives +0, never -0";
        }
      }
    }
  }
}

TEST(DirectConvForwardTest, MatchesAFloat64LoopWithinFloatRounding) {
  Check({28, 28, 32, 5, 1, 1, 2, true, true});   // LeNet's conv1: 2 blocks, 4 runs of 7 columns
  Check({9, 17, 48, 3, 1, 1, 1, false, true});   // 3 blocks: 2 + 1 (14 columns and a tail of 3)
  Check({12, 11, 16, 3, 2, 1, 1, true, false});  // stride 2, no bias
  Check({10, 13, 32, 3, 1, 2, 2, true, true});   // dilation 2
  Check({6, 30, 16, 4, 1, 1, 0, false, false});  // no padding, 27 columns: 14 + a tail of 13
}

}  // namespace
}  // namespace flow
