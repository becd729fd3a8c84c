// dense, dense_grad_input and dense_grad_weight on products large enough to be split across
// threads (ops/dense.cc splits from 2^22 multiply-adds; the gradient checks use tiny shapes that
// never are), at 1 and 2 threads, against a double-precision reference.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "framework/job_builder.h"
#include "graph/flow.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

using testing::RandomTensor;

// x (N, in), weight (units, in), bias (units,), dy (N, units): N·in·units = 4.39 M multiply-adds
// per GEMM, over the 2^22 split threshold.
constexpr int64_t kRows = 48, kIn = 300, kUnits = 305;  // odd sizes: uneven thread chunks

double At(const Tensor& t, int64_t row, int64_t col, int64_t cols) {
  return t.data<float>()[row * cols + col];
}

// Expects |got - want| <= 1e-5 · (1 + Σ|terms|) for every element (float accumulation over ≤ 300
// terms), naming the output and the element otherwise.
void ExpectClose(const Tensor& got, const std::vector<double>& want,
                 const std::vector<double>& magnitude, const char* what, int threads) {
  ASSERT_EQ(got.num_elements(), static_cast<int64_t>(want.size())) << what;
  int reported = 0;
  for (size_t i = 0; i < want.size() && reported < 5; ++i) {
    const double diff = std::abs(got.data<float>()[i] - want[i]);
    if (diff > 1e-5 * (1 + magnitude[i])) {
      ADD_FAILURE() << what << "[" << i << "] at " << threads
                    << " thread(s): " << got.data<float>()[i] << ", want " << want[i];
      ++reported;
    }
  }
}

TEST(DenseThreadsTest, SplitProductsMatchADoubleReferenceAtOneAndTwoThreads) {
  const Tensor x = RandomTensor({kRows, kIn}, 1);
  const Tensor w = RandomTensor({kUnits, kIn}, 2);
  const Tensor b = RandomTensor({kUnits}, 3);
  const Tensor dy = RandomTensor({kRows, kUnits}, 4);

  std::vector<double> y(kRows * kUnits), y_mag(y.size()), dx(kRows * kIn), dx_mag(dx.size());
  std::vector<double> dw(kUnits * kIn), dw_mag(dw.size()), db(kUnits), db_mag(kUnits);
  for (int64_t r = 0; r < kRows; ++r) {
    for (int64_t u = 0; u < kUnits; ++u) {
      double sum = b.data<float>()[u], mag = std::abs(sum);
      for (int64_t i = 0; i < kIn; ++i) {
        sum += At(x, r, i, kIn) * At(w, u, i, kIn);
        mag += std::abs(At(x, r, i, kIn) * At(w, u, i, kIn));
      }
      y[r * kUnits + u] = sum > 0 ? sum : 0;  // fused relu
      y_mag[r * kUnits + u] = mag;
    }
    for (int64_t i = 0; i < kIn; ++i) {
      for (int64_t u = 0; u < kUnits; ++u) {
        dx[r * kIn + i] += At(dy, r, u, kUnits) * At(w, u, i, kIn);
        dx_mag[r * kIn + i] += std::abs(At(dy, r, u, kUnits) * At(w, u, i, kIn));
      }
    }
  }
  for (int64_t u = 0; u < kUnits; ++u) {
    for (int64_t r = 0; r < kRows; ++r) {
      db[u] += At(dy, r, u, kUnits);
      db_mag[u] += std::abs(At(dy, r, u, kUnits));
      for (int64_t i = 0; i < kIn; ++i) {
        dw[u * kIn + i] += At(dy, r, u, kUnits) * At(x, r, i, kIn);
        dw_mag[u * kIn + i] += std::abs(At(dy, r, u, kUnits) * At(x, r, i, kIn));
      }
    }
  }

  for (int threads : {1, 2}) {
    Session session({.threads = threads});
    JobFunction job(&session, "dense_threads", JobType::kPredict,
                    [](const std::vector<Blob>& in) {
                      Blob y = OpBuilder("dense")
                                   .Input(in[0])
                                   .Input(in[1])
                                   .Input(in[2])
                                   .Attr("activation", "relu")
                                   .Build1();
                      Blob dx = OpBuilder("dense_grad_input").Input(in[3]).Input(in[1]).Build1();
                      std::vector<Blob> dw =
                          OpBuilder("dense_grad_weight").Input(in[3]).Input(in[0]).Build();
                      return std::vector<Blob>{y, dx, dw[0], dw[1]};
                    },
                    {Placeholder({kRows, kIn}), Placeholder({kUnits, kIn}), Placeholder({kUnits}),
                     Placeholder({kRows, kUnits})});
    absl::StatusOr<std::vector<Tensor>> out = job.Run({x, w, b, dy});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectClose((*out)[0], y, y_mag, "dense y", threads);
    ExpectClose((*out)[1], dx, dx_mag, "dense_grad_input dx", threads);
    ExpectClose((*out)[2], dw, dw_mag, "dense_grad_weight dweight", threads);
    ExpectClose((*out)[3], db, db_mag, "dense_grad_weight dbias", threads);
  }
}

}  // namespace
}  // namespace flow
