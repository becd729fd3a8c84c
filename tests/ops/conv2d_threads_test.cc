// conv2d, conv2d_grad_data and conv2d_grad_weight at 1, 2 and 3 threads on a batch large enough
// to be cut into chunks (ops/dnnl_kernel.h's BatchChunks: 16 chunks of 2-3 images at batch 37,
// which the threads take dynamically), against a double-precision reference; and the same bits at
// every thread count: the chunks do not depend on it, a chunk computes each image's y and dx as the
// whole batch's primitive at 1 thread does, and the weight gradient is summed over the chunks at
// 1 thread too.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "framework/job_builder.h"
#include "graph/flow.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

using testing::RandomTensor;

// x (N, C, H, W), weight (O, C, K, K), 3×3 SAME (pad 1), stride 1.
constexpr int64_t kN = 37, kC = 8, kH = 9, kW = 9, kO = 16, kK = 3;

float At(const Tensor& t, int64_t a, int64_t b, int64_t c, int64_t d) {
  const Shape& s = t.shape();
  return t.data<float>()[((a * s[1] + b) * s[2] + c) * s[3] + d];
}

// |got − want| ≤ 1e-5 · (1 + Σ|terms|) for every element.
void ExpectClose(const Tensor& got, const std::vector<double>& want,
                 const std::vector<double>& magnitude, const char* what, int threads) {
  ASSERT_EQ(got.num_elements(), static_cast<int64_t>(want.size())) << what;
  int reported = 0;
  for (size_t i = 0; i < want.size() && reported < 5; ++i) {
    if (std::abs(got.data<float>()[i] - want[i]) > 1e-5 * (1 + magnitude[i])) {
      ADD_FAILURE() << what << "[" << i << "] at " << threads
                    << " thread(s): " << got.data<float>()[i] << ", want " << want[i];
      ++reported;
    }
  }
}

TEST(Conv2dThreadsTest, ChunkedBatchMatchesADoubleReferenceAndNotTheThreadCount) {
  const Tensor x = RandomTensor({kN, kC, kH, kW}, 1);
  const Tensor w = RandomTensor({kO, kC, kK, kK}, 2);
  const Tensor b = RandomTensor({kO}, 3);
  const Tensor dy = RandomTensor({kN, kO, kH, kW}, 4);

  std::vector<double> y(kN * kO * kH * kW), y_mag(y.size()), dx(x.num_elements()),
      dx_mag(dx.size()), dw(w.num_elements()), dw_mag(dw.size()), db(kO), db_mag(kO);
  for (int64_t n = 0; n < kN; ++n) {
    for (int64_t o = 0; o < kO; ++o) {
      for (int64_t i = 0; i < kH; ++i) {
        for (int64_t j = 0; j < kW; ++j) {
          const int64_t yi = ((n * kO + o) * kH + i) * kW + j;
          double sum = b.data<float>()[o], mag = std::abs(sum);
          const double g = At(dy, n, o, i, j);
          db[o] += g;
          db_mag[o] += std::abs(g);
          for (int64_t c = 0; c < kC; ++c) {
            for (int64_t r = 0; r < kK; ++r) {
              for (int64_t s = 0; s < kK; ++s) {
                const int64_t u = i + r - 1, v = j + s - 1;
                if (u < 0 || u >= kH || v < 0 || v >= kW) continue;
                const double xv = At(x, n, c, u, v), wv = At(w, o, c, r, s);
                sum += xv * wv;
                mag += std::abs(xv * wv);
                const int64_t xi = ((n * kC + c) * kH + u) * kW + v;
                dx[xi] += g * wv;
                dx_mag[xi] += std::abs(g * wv);
                const int64_t wi = ((o * kC + c) * kK + r) * kK + s;
                dw[wi] += g * xv;
                dw_mag[wi] += std::abs(g * xv);
              }
            }
          }
          y[yi] = sum > 0 ? sum : 0;  // fused relu
          y_mag[yi] = mag;
        }
      }
    }
  }

  std::vector<std::vector<Tensor>> outputs;
  for (int threads : {1, 2, 3}) {
    Session session({.threads = threads});
    JobFunction job(&session, "conv2d_threads", JobType::kPredict,
                    [](const std::vector<Blob>& in) {
                      auto geometry = [](OpBuilder& op) -> OpBuilder& {
                        return op.Attr("strides", std::vector<int64_t>{1, 1})
                            .Attr("dilations", std::vector<int64_t>{1, 1})
                            .Attr("pad_before", std::vector<int64_t>{1, 1})
                            .Attr("pad_after", std::vector<int64_t>{1, 1})
                            .Attr("groups", int64_t{1});
                      };
                      OpBuilder conv("conv2d");
                      Blob y = geometry(conv.Input(in[0]).Input(in[1]).Input(in[2]))
                                   .Attr("activation", "relu")
                                   .Build1();
                      OpBuilder data("conv2d_grad_data");
                      Blob dx = geometry(data.Input(in[3]).Input(in[1]))
                                    .Attr("x_shape", std::vector<int64_t>{kN, kC, kH, kW})
                                    .Build1();
                      OpBuilder weight("conv2d_grad_weight");
                      std::vector<Blob> dw =
                          geometry(weight.Input(in[3]).Input(in[0]))
                              .Attr("weight_shape", std::vector<int64_t>{kO, kC, kK, kK})
                              .Build();
                      return std::vector<Blob>{y, dx, dw[0], dw[1]};
                    },
                    {Placeholder({kN, kC, kH, kW}), Placeholder({kO, kC, kK, kK}),
                     Placeholder({kO}), Placeholder({kN, kO, kH, kW})});
    absl::StatusOr<std::vector<Tensor>> out = job.Run({x, w, b, dy});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectClose((*out)[0], y, y_mag, "conv2d y", threads);
    ExpectClose((*out)[1], dx, dx_mag, "conv2d_grad_data dx", threads);
    ExpectClose((*out)[2], dw, dw_mag, "conv2d_grad_weight dweight", threads);
    ExpectClose((*out)[3], db, db_mag, "conv2d_grad_weight dbias", threads);
    outputs.push_back(*std::move(out));
  }
  const char* names[] = {"y", "dx", "dweight", "dbias"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(outputs[0][i].BitwiseEqual(outputs[1][i]))
        << names[i] << ": 1 and 2 threads differ";
    EXPECT_TRUE(outputs[0][i].BitwiseEqual(outputs[2][i]))
        << names[i] << ": 1 and 3 threads differ";
  }
}

}  // namespace
}  // namespace flow
