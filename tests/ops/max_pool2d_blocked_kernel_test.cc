// flowrt's blocked max pooling (ops/max_pool2d_blocked_kernel.h) against oneDNN's pooling
// primitives in the same layout, bit for bit: y, the argmax workspace and dx, on inputs rounded to
// a few values (many ties), for block 8 (AVX2 code) and block 16 (AVX-512 code) where the CPU has
// the ISA — each variant is called explicitly, whatever the effective ISA of this run.
#include "ops/max_pool2d_blocked_kernel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct Case {
  int64_t n, c, h, w, k, pad_before_h, pad_before_w, pad_after_h, pad_after_w;
};

PoolGeometry Geometry(const Case& c) {
  PoolGeometry g;
  g.x = Shape({c.n, c.c, c.h, c.w});
  g.kernel[0] = g.kernel[1] = c.k;
  g.strides[0] = g.strides[1] = c.k;
  g.pad_before[0] = c.pad_before_h;
  g.pad_before[1] = c.pad_before_w;
  g.pad_after[0] = c.pad_after_h;
  g.pad_after[1] = c.pad_after_w;
  g.out[0] = (c.h + c.pad_before_h + c.pad_after_h - c.k) / c.k + 1;
  g.out[1] = (c.w + c.pad_before_w + c.pad_after_w - c.k) / c.k + 1;
  return g;
}

bool HasIsa(int block) {
  return block == 8 ? __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                    : __builtin_cpu_supports("avx512f");
}

void ExpectSameBits(const void* got, const void* want, size_t bytes, const char* what) {
  const auto* a = static_cast<const uint8_t*>(got);
  const auto* b = static_cast<const uint8_t*>(want);
  for (size_t i = 0; i < bytes; ++i) {
    ASSERT_EQ(a[i], b[i]) << what << " differs at byte " << i;
  }
}

void CheckAgainstOneDnn(const Case& c, int block) {
  SCOPED_TRACE(::testing::Message()
               << "block " << block << " x (" << c.n << ", " << c.c << ", " << c.h << ", " << c.w
               << ") window " << c.k << " pads " << c.pad_before_h << "/" << c.pad_after_h << ", "
               << c.pad_before_w << "/" << c.pad_after_w);
  const PoolGeometry g = Geometry(c);
  ASSERT_TRUE(BlockedMaxPoolSupports(g));
  const tag blocked = block == 8 ? tag::nChw8c : tag::nChw16c;
  const dnnl::memory::dims x_dims = {c.n, c.c, c.h, c.w}, y_dims = {c.n, c.c, g.out[0], g.out[1]};
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  dnnl::pooling_forward::desc fwd_desc(
      dnnl::prop_kind::forward_training, dnnl::algorithm::pooling_max, {x_dims, dt::f32, blocked},
      {y_dims, dt::f32, blocked}, {c.k, c.k}, {c.k, c.k}, {c.pad_before_h, c.pad_before_w},
      {c.pad_after_h, c.pad_after_w});
  dnnl::pooling_forward::primitive_desc fwd(fwd_desc, engine);
  ASSERT_EQ(fwd.workspace_desc(), dnnl::memory::desc(y_dims, dt::u8, blocked))
      << "oneDNN's workspace is not the format the kernel writes";
  dnnl::pooling_backward::desc bwd_desc(
      dnnl::algorithm::pooling_max, {x_dims, dt::f32, blocked}, {y_dims, dt::f32, blocked},
      {c.k, c.k}, {c.k, c.k}, {c.pad_before_h, c.pad_before_w}, {c.pad_after_h, c.pad_after_w});
  dnnl::pooling_backward::primitive_desc bwd(bwd_desc, engine, fwd);

  // Values from {-2, ..., 2} (the blocked order is irrelevant for random data): most windows tie.
  Tensor x = testing::RandomTensor(g.x, 17 + block);
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    x.data<float>()[i] = std::round(x.data<float>()[i] * 2.f);
  }
  const Tensor dy = testing::RandomTensor(g.y_shape(), 23);
  const int64_t ny = g.y_shape().NumElements(), nx = g.x.NumElements();
  std::vector<float> want_y(ny), got_y(ny), want_dx(nx);
  std::vector<uint8_t> want_ws(ny), got_ws(ny);
  // NaN everywhere first: the backward must write every dx cell itself (no zero fill before it).
  std::vector<float> got_dx(nx, std::numeric_limits<float>::quiet_NaN());
  dnnl::memory x_mem(fwd.src_desc(), engine, x.data<float>());
  dnnl::memory y_mem(fwd.dst_desc(), engine, want_y.data());
  dnnl::memory ws_mem(fwd.workspace_desc(), engine, want_ws.data());
  dnnl::pooling_forward(fwd).execute(
      stream, {{DNNL_ARG_SRC, x_mem}, {DNNL_ARG_DST, y_mem}, {DNNL_ARG_WORKSPACE, ws_mem}});
  dnnl::memory dy_mem(bwd.diff_dst_desc(), engine, const_cast<float*>(dy.data<float>()));
  dnnl::memory dx_mem(bwd.diff_src_desc(), engine, want_dx.data());
  dnnl::pooling_backward(bwd).execute(
      stream,
      {{DNNL_ARG_DIFF_DST, dy_mem}, {DNNL_ARG_DIFF_SRC, dx_mem}, {DNNL_ARG_WORKSPACE, ws_mem}});
  stream.wait();

  BlockedMaxPoolForward(g, block, x.data<float>(), got_y.data(), false, got_ws.data());
  ExpectSameBits(got_y.data(), want_y.data(), ny * sizeof(float), "y");
  ExpectSameBits(got_ws.data(), want_ws.data(), ny, "workspace");
  BlockedMaxPoolBackward(g, block, dy.data<float>(), false, got_ws.data(), got_dx.data());
  ExpectSameBits(got_dx.data(), want_dx.data(), nx * sizeof(float), "dx");
  // Inference: no workspace, the same y.
  std::vector<float> inference_y(ny);
  BlockedMaxPoolForward(g, block, x.data<float>(), inference_y.data(), false, nullptr);
  ExpectSameBits(inference_y.data(), want_y.data(), ny * sizeof(float), "inference y");

  // The pooled side plain (N, C, OH, OW): oneDNN's blocked y and dy in that order.
  const int64_t cells = g.out[0] * g.out[1];
  auto to_plain = [&](const float* blocked_data) {
    std::vector<float> plain(ny);
    for (int64_t i = 0; i < ny; ++i) {  // i = ((n·C/B + cb)·cells + cell)·B + lane
      const int64_t lane = i % block, cell = (i / block) % cells, plane = i / (block * cells);
      plain[(plane * block + lane) * cells + cell] = blocked_data[i];
    }
    return plain;
  };
  const std::vector<float> want_plain_y = to_plain(want_y.data());
  std::vector<float> got_plain_y(ny);
  std::fill(got_ws.begin(), got_ws.end(), uint8_t{255});
  BlockedMaxPoolForward(g, block, x.data<float>(), got_plain_y.data(), true, got_ws.data());
  ExpectSameBits(got_plain_y.data(), want_plain_y.data(), ny * sizeof(float), "plain y");
  ExpectSameBits(got_ws.data(), want_ws.data(), ny, "workspace with plain y");
  const std::vector<float> plain_dy = to_plain(dy.data<float>());
  std::fill(got_dx.begin(), got_dx.end(), std::numeric_limits<float>::quiet_NaN());
  BlockedMaxPoolBackward(g, block, plain_dy.data(), true, got_ws.data(), got_dx.data());
  ExpectSameBits(got_dx.data(), want_dx.data(), nx * sizeof(float), "dx from plain dy");

  // ReLU's gradient fused in: relu_y with positives, negatives, ±0 and NaN (masked like the scalar
  // relu_grad, y > 0 ? dy : +0) against oneDNN's backward of that masked dy.
  Tensor relu_y = testing::RandomTensor(g.y_shape(), 29);
  float* ry = relu_y.data<float>();
  for (int64_t i = 0; i < ny; ++i) {
    if (i % 5 == 1) ry[i] = 0.f;
    if (i % 7 == 2) ry[i] = -0.f;
    if (i % 11 == 3) ry[i] = std::numeric_limits<float>::quiet_NaN();
  }
  std::vector<float> masked(ny), want_masked_dx(nx);
  for (int64_t i = 0; i < ny; ++i) masked[i] = ry[i] > 0.f ? dy.data<float>()[i] : 0.f;
  dnnl::memory masked_mem(bwd.diff_dst_desc(), engine, masked.data());
  dnnl::memory masked_dx_mem(bwd.diff_src_desc(), engine, want_masked_dx.data());
  dnnl::pooling_backward(bwd).execute(stream, {{DNNL_ARG_DIFF_DST, masked_mem},
                                               {DNNL_ARG_DIFF_SRC, masked_dx_mem},
                                               {DNNL_ARG_WORKSPACE, ws_mem}});
  stream.wait();
  std::fill(got_dx.begin(), got_dx.end(), std::numeric_limits<float>::quiet_NaN());
  BlockedMaxPoolBackward(g, block, dy.data<float>(), false, got_ws.data(), got_dx.data(), ry,
                         /*relu_y_plain=*/false);
  ExpectSameBits(got_dx.data(), want_masked_dx.data(), nx * sizeof(float), "masked dx");
  const std::vector<float> plain_relu_y = to_plain(ry);
  std::fill(got_dx.begin(), got_dx.end(), std::numeric_limits<float>::quiet_NaN());
  BlockedMaxPoolBackward(g, block, plain_dy.data(), true, got_ws.data(), got_dx.data(),
                         plain_relu_y.data(), /*relu_y_plain=*/true);
  ExpectSameBits(got_dx.data(), want_masked_dx.data(), nx * sizeof(float),
                 "masked dx, plain dy and relu_y");
  std::fill(got_dx.begin(), got_dx.end(), std::numeric_limits<float>::quiet_NaN());
  BlockedMaxPoolBackward(g, block, dy.data<float>(), false, got_ws.data(), got_dx.data(),
                         plain_relu_y.data(), /*relu_y_plain=*/true);
  ExpectSameBits(got_dx.data(), want_masked_dx.data(), nx * sizeof(float),
                 "masked dx, blocked dy and plain relu_y");
}

const Case kCases[] = {
    {4, 32, 28, 28, 2, 0, 0, 0, 0},  // LeNet's pool1 (batch 4)
    {3, 64, 14, 14, 2, 0, 0, 0, 0},  // pool2
    {2, 16, 7, 9, 2, 1, 1, 0, 0},    // SAME_LOWER on odd sizes: padding before
    {2, 16, 7, 9, 2, 0, 0, 0, 0},    // VALID on odd sizes: last row and column in no window
    {1, 16, 10, 11, 3, 1, 0, 1, 1},  // 3×3 windows, uneven pads
};

TEST(BlockedMaxPoolTest, Avx2Block8EqualsOneDnnBitForBit) {
  if (!HasIsa(8)) GTEST_SKIP() << "this CPU has no AVX2 + FMA";
  for (const Case& c : kCases) CheckAgainstOneDnn(c, 8);
}

TEST(BlockedMaxPoolTest, Avx512Block16EqualsOneDnnBitForBit) {
  if (!HasIsa(16)) GTEST_SKIP() << "this CPU has no AVX-512";
  for (const Case& c : kCases) CheckAgainstOneDnn(c, 16);
}

TEST(BlockedMaxPoolTest, OverlappingWindowsAreNotSupported) {
  PoolGeometry g = Geometry({1, 16, 15, 15, 3, 1, 1, 1, 1});
  g.strides[0] = g.strides[1] = 2;
  EXPECT_FALSE(BlockedMaxPoolSupports(g));
}

}  // namespace
}  // namespace flow
