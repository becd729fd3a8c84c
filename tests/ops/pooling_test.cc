// max_pool2d and avg_pool2d: forward values and input gradients against PyTorch references
// (tests/data/pooling_reference.txt, from make_pooling_reference.py: SAME_LOWER at stride 2 with
// odd sizes, ties, all-negative borders, VALID with a stride that does not divide), the tie rule
// of the max gradient, numerical gradient checks, and the job-side errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/job_builder.h"
#include "graph/autodiff.h"
#include "graph/compiled_job.h"
#include "graph/flow.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

using testing::CheckGradients;
using testing::RandomTensor;

FLOWRT_GRADIENT_CHECKED(max_pool2d);
FLOWRT_GRADIENT_CHECKED(avg_pool2d);

// ---- reference cases ----

struct RefCase {
  std::string name, kind, padding;
  Shape x_shape, y_shape;
  std::vector<int64_t> ksize, strides, pad_before, pad_after;
  std::vector<float> x, w, y, dx;
};

std::vector<float> ReadValues(std::istringstream& line, const std::string& key) {
  std::string got;
  line >> got;
  EXPECT_EQ(got, key);
  std::vector<float> v;
  double d;
  while (line >> d) v.push_back(static_cast<float>(d));
  return v;
}

std::vector<RefCase> LoadReference() {
  std::ifstream in(std::string(FLOWRT_TEST_DATA_DIR) + "/pooling_reference.txt");
  EXPECT_TRUE(in.good()) << "missing tests/data/pooling_reference.txt";
  std::vector<RefCase> cases;
  std::string text;
  while (std::getline(in, text)) {
    if (text.empty() || text[0] == '#') continue;
    std::istringstream head(text);
    RefCase c;
    std::string word;
    int64_t n, ch, h, w, kh, kw, sh, sw;
    head >> word >> c.name >> c.kind >> n >> ch >> h >> w >> kh >> kw >> sh >> sw >> c.padding;
    EXPECT_EQ(word, "case");
    c.x_shape = Shape({n, ch, h, w});
    c.ksize = {kh, kw};
    c.strides = {sh, sw};
    std::getline(in, text);
    std::istringstream pads(text);
    int64_t bh, bw, ah, aw, oh, ow;
    pads >> word >> bh >> bw >> ah >> aw >> word >> oh >> ow;
    c.pad_before = {bh, bw};
    c.pad_after = {ah, aw};
    c.y_shape = Shape({n, ch, oh, ow});
    for (auto [key, values] : {std::pair{"x", &c.x}, {"w", &c.w}, {"y", &c.y}, {"dx", &c.dx}}) {
      std::getline(in, text);
      std::istringstream line(text);
      *values = ReadValues(line, key);
    }
    EXPECT_EQ(static_cast<int64_t>(c.x.size()), c.x_shape.NumElements()) << c.name;
    EXPECT_EQ(static_cast<int64_t>(c.y.size()), c.y_shape.NumElements()) << c.name;
    cases.push_back(std::move(c));
  }
  return cases;
}

Blob Pool(const std::string& kind, const Blob& x, const std::vector<int64_t>& ksize,
          const std::vector<int64_t>& strides, absl::string_view padding) {
  return kind == "max" ? nn::max_pool2d(x, ksize, strides, padding)
                       : nn::avg_pool2d(x, ksize, strides, padding);
}

TEST(PoolingReferenceTest, ForwardAndGradientMatchPyTorch) {
  const std::vector<RefCase> cases = LoadReference();
  ASSERT_EQ(cases.size(), 8u);
  for (const RefCase& c : cases) {
    SCOPED_TRACE(c.name);
    Session session;
    JobFunction job(&session, "pool", JobType::kPredict,
                    [&](const std::vector<Blob>& in) {
                      Blob y = Pool(c.kind, in[0], c.ksize, c.strides, c.padding);
                      absl::StatusOr<std::vector<Blob>> dx = Gradients({y}, {in[0]}, {in[1]});
                      if (!dx.ok()) return std::vector<Blob>{};
                      return std::vector<Blob>{y, (*dx)[0]};
                    },
                    {Placeholder(c.x_shape), Placeholder(c.y_shape)});
    absl::StatusOr<std::vector<Tensor>> out = job.Run(
        {Tensor::FromVector<float>(c.x_shape, c.x), Tensor::FromVector<float>(c.y_shape, c.w)});
    ASSERT_TRUE(out.ok()) << out.status();

    // The job side chose PyTorch-independent SAME_LOWER pads equal to the script's.
    for (const flowrt::OpConf& op : CompiledJob::Job(job).op()) {
      if (op.type() != c.kind + "_pool2d") continue;
      EXPECT_EQ(AttrInts(op, "pad_before"), c.pad_before);
      EXPECT_EQ(AttrInts(op, "pad_after"), c.pad_after);
    }
    const Tensor& y = (*out)[0];
    const Tensor& dx = (*out)[1];
    ASSERT_EQ(y.shape(), c.y_shape);
    ASSERT_EQ(dx.shape(), c.x_shape);
    for (int64_t i = 0; i < y.num_elements(); ++i) {
      // Max is a selection: exact. Average: float32 sum and division.
      const float tol = c.kind == "max" ? 0.f : 1e-6f;
      ASSERT_NEAR(y.data<float>()[i], c.y[i], tol) << "y element " << i;
    }
    for (int64_t i = 0; i < dx.num_elements(); ++i) {
      // Overlapping windows add w values in some order: float32 rounding only.
      ASSERT_NEAR(dx.data<float>()[i], c.dx[i], 2e-6f) << "dx element " << i;
    }
  }
}

TEST(PoolingReferenceTest, MaxGradientIsConservedOnTies) {
  // sum(dx) = sum(w): each window's dy lands on exactly one cell, even where all cells tie.
  for (const RefCase& c : LoadReference()) {
    if (c.kind != "max") continue;
    SCOPED_TRACE(c.name);
    const double w_sum = std::accumulate(c.w.begin(), c.w.end(), 0.0);
    const double dx_sum = std::accumulate(c.dx.begin(), c.dx.end(), 0.0);
    EXPECT_NEAR(dx_sum, w_sum, 1e-5);
  }
}

// ---- ties: which cell gets the gradient ----

TEST(MaxPool2dTest, TiedWindowGivesItsWholeGradientToTheFirstCellInRowMajorOrder) {
  // Non-overlapping 2x2 windows over a constant input: every window is a 4-way tie.
  Session session;
  JobFunction job(&session, "ties", JobType::kPredict,
                  [](const std::vector<Blob>& in) {
                    Blob y = nn::max_pool2d(in[0], {2, 2}, {2, 2}, "VALID");
                    return std::vector<Blob>{y, (*Gradients({y}, {in[0]}, {in[1]}))[0]};
                  },
                  {Placeholder({1, 2, 4, 6}), Placeholder({1, 2, 2, 3})});
  Tensor x(Shape({1, 2, 4, 6}), kFloat);
  std::fill(x.data<float>(), x.data<float>() + x.num_elements(), 3.f);
  const Tensor w = RandomTensor({1, 2, 2, 3}, 5, 0.1);
  absl::StatusOr<std::vector<Tensor>> out = job.Run({x, w});
  ASSERT_TRUE(out.ok()) << out.status();
  const float* dx = (*out)[1].data<float>();
  for (int c = 0; c < 2; ++c) {
    for (int oh = 0; oh < 2; ++oh) {
      for (int ow = 0; ow < 3; ++ow) {
        const float dy = w.data<float>()[(c * 2 + oh) * 3 + ow];
        EXPECT_EQ((*out)[0].data<float>()[(c * 2 + oh) * 3 + ow], 3.f);
        for (int kh = 0; kh < 2; ++kh) {
          for (int kw = 0; kw < 2; ++kw) {
            const float got = dx[(c * 4 + 2 * oh + kh) * 6 + 2 * ow + kw];
            EXPECT_EQ(got, kh == 0 && kw == 0 ? dy : 0.f)
                << "channel " << c << " window (" << oh << ", " << ow << ") cell (" << kh << ", "
                << kw << ")";
          }
        }
      }
    }
  }
}

// ---- larger shapes: oneDNN's jit kernels (the small cases above run its simple_nchw one) ----

// Plain-loop pooling with the documented semantics — padding never wins a max nor counts in an
// average, ties go to the first maximal cell in row-major order — and its gradient for dy = w.
struct LoopPool {
  std::vector<float> y, dx;
};
LoopPool LoopPool2d(bool max, const Tensor& x, const Tensor& w, int64_t k, int64_t s,
                    int64_t pad_before) {
  const Shape& xs = x.shape();
  const Shape& ys = w.shape();
  LoopPool r{std::vector<float>(ys.NumElements()), std::vector<float>(xs.NumElements(), 0.f)};
  for (int64_t nc = 0; nc < xs[0] * xs[1]; ++nc) {
    const float* xp = x.data<float>() + nc * xs[2] * xs[3];
    for (int64_t oh = 0; oh < ys[2]; ++oh) {
      for (int64_t ow = 0; ow < ys[3]; ++ow) {
        const int64_t out = (nc * ys[2] + oh) * ys[3] + ow;
        double sum = 0;
        int64_t count = 0, best = -1;
        for (int64_t h = oh * s - pad_before; h < oh * s - pad_before + k; ++h) {
          for (int64_t v = ow * s - pad_before; v < ow * s - pad_before + k; ++v) {
            if (h < 0 || v < 0 || h >= xs[2] || v >= xs[3]) continue;
            const int64_t i = h * xs[3] + v;
            sum += xp[i];
            ++count;
            if (best < 0 || xp[i] > xp[best]) best = i;
          }
        }
        const float dy = w.data<float>()[out];
        float* dxp = r.dx.data() + nc * xs[2] * xs[3];
        if (max) {
          r.y[out] = xp[best];
          dxp[best] += dy;
        } else {
          r.y[out] = static_cast<float>(sum / count);
          for (int64_t h = std::max<int64_t>(0, oh * s - pad_before);
               h < std::min(xs[2], oh * s - pad_before + k); ++h) {
            for (int64_t v = std::max<int64_t>(0, ow * s - pad_before);
                 v < std::min(xs[3], ow * s - pad_before + k); ++v) {
              dxp[h * xs[3] + v] += dy / count;
            }
          }
        }
      }
    }
  }
  return r;
}

TEST(PoolingTest, LargerShapesMatchPlainLoops) {
  // (4, 16, 15, 15), 3x3 stride 2 SAME → (4, 16, 8, 8), pads 1/1; integer inputs for many ties.
  const Shape x_shape({4, 16, 15, 15});
  const Shape y_shape({4, 16, 8, 8});
  Tensor x = RandomTensor(x_shape, 12);
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    x.data<float>()[i] = std::round(x.data<float>()[i] * 3.f);
  }
  const Tensor w = RandomTensor(y_shape, 13);
  for (bool max : {true, false}) {
    SCOPED_TRACE(max ? "max" : "avg");
    Session session;
    JobFunction job(&session, "pool", JobType::kPredict,
                    [&](const std::vector<Blob>& in) {
                      Blob y = max ? nn::max_pool2d(in[0], {3, 3}, {2, 2}, "SAME")
                                   : nn::avg_pool2d(in[0], {3, 3}, {2, 2}, "SAME");
                      return std::vector<Blob>{y, (*Gradients({y}, {in[0]}, {in[1]}))[0]};
                    },
                    {Placeholder(x_shape), Placeholder(y_shape)});
    absl::StatusOr<std::vector<Tensor>> out = job.Run({x, w});
    ASSERT_TRUE(out.ok()) << out.status();
    const LoopPool want = LoopPool2d(max, x, w, 3, 2, 1);
    for (int64_t i = 0; i < y_shape.NumElements(); ++i) {
      ASSERT_NEAR((*out)[0].data<float>()[i], want.y[i], 1e-6) << "y element " << i;
    }
    for (int64_t i = 0; i < x_shape.NumElements(); ++i) {
      ASSERT_NEAR((*out)[1].data<float>()[i], want.dx[i], 1e-6) << "dx element " << i;
    }
  }
}

TEST(MaxPool2dTest, WithoutGradientRunsInferenceModeWithTheSameValues) {
  // A job that fetches only y leaves the workspace unread, so the kernel runs forward_inference
  // (ops/max_pool2d.cc); its y must be the training-mode y, bit for bit, and the plain loops'.
  // Overlapping 3x3 stride 2 SAME (4, 16, 15, 15) and LeNet's 2x2 stride 2 on (2, 32, 28, 28);
  // integer inputs for many ties.
  struct Case {
    Shape x, y;
    int64_t k, pad;
    const char* padding;
  };
  for (const Case& c : {Case{Shape({4, 16, 15, 15}), Shape({4, 16, 8, 8}), 3, 1, "SAME"},
                        Case{Shape({2, 32, 28, 28}), Shape({2, 32, 14, 14}), 2, 0, "VALID"}}) {
    SCOPED_TRACE(c.x.ToString());
    Tensor x = RandomTensor(c.x, 21);
    for (int64_t i = 0; i < x.num_elements(); ++i) {
      x.data<float>()[i] = std::round(x.data<float>()[i] * 3.f);
    }
    const Tensor w = RandomTensor(c.y, 22);
    Session session;
    auto pool = [&](Blob x) { return nn::max_pool2d(x, {c.k, c.k}, {2, 2}, c.padding); };
    JobFunction inference(
        &session, "inference", JobType::kPredict,
        [&](const std::vector<Blob>& in) { return std::vector<Blob>{pool(in[0])}; },
        {Placeholder(c.x)});
    JobFunction training(&session, "training", JobType::kPredict,
                         [&](const std::vector<Blob>& in) {
                           Blob y = pool(in[0]);
                           return std::vector<Blob>{y, (*Gradients({y}, {in[0]}, {in[1]}))[0]};
                         },
                         {Placeholder(c.x), Placeholder(c.y)});
    absl::StatusOr<std::vector<Tensor>> got = inference.Run({x});
    ASSERT_TRUE(got.ok()) << got.status();
    absl::StatusOr<std::vector<Tensor>> want = training.Run({x, w});
    ASSERT_TRUE(want.ok()) << want.status();
    const LoopPool loops = LoopPool2d(true, x, w, c.k, 2, c.pad);
    for (int64_t i = 0; i < c.y.NumElements(); ++i) {
      ASSERT_EQ((*got)[0].data<float>()[i], (*want)[0].data<float>()[i]) << "y element " << i;
      ASSERT_EQ((*got)[0].data<float>()[i], loops.y[i]) << "y element " << i;
    }
  }
}

// ---- numerical gradient checks ----

// A shuffled grid of values 0.05 apart: no ties, and no eps = 1e-2 perturbation can change a
// window's argmax, so max pooling is differentiable at every checked point.
Tensor DistinctTensor(const Shape& shape, uint64_t seed) {
  Tensor t(shape, kFloat);
  const int64_t n = t.num_elements();
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = n - 1; i > 0; --i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    std::swap(order[i], order[(s >> 33) % (i + 1)]);
  }
  for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = (order[i] - n / 2) * 0.05f;
  return t;
}

TEST(MaxPool2dTest, GradientMatchesNumericSameLowerStride2) {
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) {
        return nn::max_pool2d(in[0], {3, 3}, {2, 2}, "SAME");
      },
      {DistinctTensor({2, 2, 7, 6}, 1)}));
}

TEST(MaxPool2dTest, GradientMatchesNumericValidNonSquare) {
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) {
        return nn::max_pool2d(in[0], {2, 3}, {1, 2}, "VALID");
      },
      {DistinctTensor({1, 3, 5, 8}, 2)}));
}

// max_pool2d(relu(x)): its compiled gradient is the fused max_pool2d_grad(dy, workspace, relu_y)
// (graph/passes/relu_grad_into_max_pool_grad.h). Values 0.025 off the grid: none at ReLU's kink.
Tensor DistinctOffZero(const Shape& shape, uint64_t seed) {
  Tensor t = DistinctTensor(shape, seed);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] += 0.025f;
  return t;
}

TEST(MaxPool2dTest, FusedReluGradientMatchesNumericOnTheBlockedKernel) {
  EXPECT_TRUE(CheckGradients(  // 2×2 stride 2, 16 channels: flowrt's blocked kernel on AVX2
      [](const std::vector<Blob>& in) {
        return nn::max_pool2d(nn::relu(in[0]), {2, 2}, {2, 2}, "VALID");
      },
      {DistinctOffZero({2, 16, 6, 6}, 3)}));
}

TEST(MaxPool2dTest, FusedReluGradientMatchesNumericOnOneDnn) {
  EXPECT_TRUE(CheckGradients(  // overlapping windows: oneDNN's pooling after the mask
      [](const std::vector<Blob>& in) {
        return nn::max_pool2d(nn::relu(in[0]), {3, 3}, {2, 2}, "SAME");
      },
      {DistinctOffZero({2, 2, 7, 6}, 4)}));
}

TEST(AvgPool2dTest, GradientMatchesNumericSameLowerStride2) {
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) {
        return nn::avg_pool2d(in[0], {3, 3}, {2, 2}, "SAME");
      },
      {RandomTensor({2, 2, 7, 5}, 3)}));
}

TEST(AvgPool2dTest, GradientMatchesNumericValidNonSquare) {
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) {
        return nn::avg_pool2d(in[0], {3, 2}, {2, 3}, "VALID");
      },
      {RandomTensor({1, 2, 8, 9}, 4)}));
}

// ---- shapes and errors ----

TEST(PoolingTest, LeNetSizesHalveWithSame) {
  Session session;
  JobFunction job(&session, "lenet", JobType::kPredict,
                  [](const std::vector<Blob>& in) {
                    Blob p1 = nn::max_pool2d(in[0], {2, 2}, {2, 2}, "SAME", "NCHW", "pool1");
                    return std::vector<Blob>{p1, nn::avg_pool2d(p1, {2, 2}, {2, 2}, "SAME")};
                  },
                  {Placeholder({2, 3, 28, 28})});
  absl::StatusOr<std::vector<Tensor>> out = job.Run({RandomTensor({2, 3, 28, 28}, 1)});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), Shape({2, 3, 14, 14}));
  EXPECT_EQ((*out)[1].shape(), Shape({2, 3, 7, 7}));
  int named = 0;
  for (const flowrt::OpConf& op : CompiledJob::Job(job).op()) named += op.name() == "pool1";
  EXPECT_EQ(named, 1);
}

absl::Status CompileError(std::function<Blob(const Blob&)> body, const Shape& shape) {
  Session session;
  JobFunction job(&session, "bad", JobType::kPredict,
                  [&](const std::vector<Blob>& in) { return std::vector<Blob>{body(in[0])}; },
                  {Placeholder(shape)});
  return job.Compile();
}

TEST(PoolingTest, OnlyNchwIsSupported) {
  absl::Status s = CompileError(
      [](const Blob& x) {
        return nn::max_pool2d(x, {2, 2}, {2, 2}, "SAME", "NHWC");
      },
      {1, 4, 4, 3});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << s;
  EXPECT_NE(s.message().find("NHWC"), std::string::npos) << s;
  s = CompileError(
      [](const Blob& x) {
        return nn::avg_pool2d(x, {2, 2}, {2, 2}, "SAME", "NCWH");
      },
      {1, 4, 4, 3});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("avg_pool2d 'avg_pool2d'"), std::string::npos) << s;
}

TEST(PoolingTest, BadPaddingAndRankAreClearErrors) {
  absl::Status s = CompileError(
      [](const Blob& x) {
        return nn::max_pool2d(x, {2, 2}, {2, 2}, "FULL");
      },
      {1, 1, 4, 4});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("unknown padding 'FULL'"), std::string::npos) << s;
  s = CompileError(
      [](const Blob& x) {
        return nn::max_pool2d(x, {2, 2}, {2, 2}, "SAME");
      },
      {4, 4, 4});
  EXPECT_NE(s.message().find("(4, 4, 4)"), std::string::npos) << s;
  EXPECT_NE(s.message().find("rank 4"), std::string::npos) << s;
  s = CompileError(
      [](const Blob& x) {
        return nn::max_pool2d(x, {2, 2, 2}, {2}, "SAME");
      },
      {1, 1, 4, 4});
  EXPECT_NE(s.message().find("ksize [2, 2, 2]"), std::string::npos) << s;
}

TEST(PoolingTest, WindowLargerThanValidInputNamesOpAndShape) {
  absl::Status s = CompileError(
      [](const Blob& x) {
        return nn::avg_pool2d(x, {5, 5}, {1, 1}, "VALID", "NCHW", "p");
      },
      {1, 2, 4, 9});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("avg_pool2d 'p'"), std::string::npos) << s;
  EXPECT_NE(s.message().find("(1, 2, 4, 9)"), std::string::npos) << s;
  EXPECT_NE(s.message().find("height"), std::string::npos) << s;
}

TEST(PoolingTest, OpRejectsPaddingAsLargeAsTheWindow) {
  // Only reachable by building the op directly: the job side never pads that much.
  absl::Status s = CompileError(
      [](const Blob& x) {
        return OpBuilder("max_pool2d")
            .Input(x)
            .Attr("ksize", std::vector<int64_t>{2, 2})
            .Attr("strides", std::vector<int64_t>{1, 1})
            .Attr("pad_before", std::vector<int64_t>{2, 0})
            .Attr("pad_after", std::vector<int64_t>{0, 0})
            .Build()[0];
      },
      {1, 1, 4, 4});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("(max_pool2d)"), std::string::npos) << s;
  EXPECT_NE(s.message().find("must be smaller than the window 2"), std::string::npos) << s;
}

TEST(MaxPool2dTest, FusedGradientRejectsAReluYOfAnotherShape) {
  // Only reachable by building the op directly: the fusion pass passes the pooled y.
  absl::Status s = CompileError(
      [](const Blob& x) {
        std::vector<Blob> pool = OpBuilder("max_pool2d")
                                     .Input(x)
                                     .Attr("ksize", std::vector<int64_t>{2, 2})
                                     .Attr("strides", std::vector<int64_t>{2, 2})
                                     .Attr("pad_before", std::vector<int64_t>{0, 0})
                                     .Attr("pad_after", std::vector<int64_t>{0, 0})
                                     .Build();
        return OpBuilder("max_pool2d_grad")
            .Input(pool[0])
            .Input(pool[1])
            .Input(x)  // (1, 8, 4, 4): the full-size tensor, not the pooled (1, 8, 2, 2)
            .Attr("ksize", std::vector<int64_t>{2, 2})
            .Attr("strides", std::vector<int64_t>{2, 2})
            .Attr("pad_before", std::vector<int64_t>{0, 0})
            .Attr("pad_after", std::vector<int64_t>{0, 0})
            .Attr("x_shape", std::vector<int64_t>{1, 8, 4, 4})
            .Build()[0];
      },
      {1, 8, 4, 4});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("(max_pool2d_grad)"), std::string::npos) << s;
  EXPECT_NE(s.message().find("input 'relu_y' is kFloat (1, 8, 4, 4), expected kFloat (1, 8, 2, 2)"),
            std::string::npos)
      << s;
}

// At 2 threads oneDNN's max pooling may run in chunks of images that the threads share out
// (ops/max_pool2d.cc, UsePoolBatchChunks: on AVX-512); every image's values and gradient must be
// those of one primitive over the batch at 1 thread, bit for bit, with and without the fused ReLU
// gradient, for LeNet's pool1 window and an overlapping one.
TEST(MaxPool2dTest, TwoThreadsGiveTheBitsOfOne) {
  const Shape x_shape({8, 32, 12, 12});
  const Tensor x = DistinctOffZero(x_shape, 5);
  for (bool relu : {false, true}) {
    for (int k : {2, 3}) {
      SCOPED_TRACE(absl::StrCat(relu ? "relu, " : "", k, "x", k));
      auto pool = [&](Blob in) {
        return nn::max_pool2d(relu ? nn::relu(in) : in, {k, k}, {2, 2}, k == 2 ? "VALID" : "SAME");
      };
      const Shape y_shape({8, 32, 6, 6});
      const Tensor w = RandomTensor(y_shape, 6);
      std::vector<std::vector<Tensor>> outs;
      for (int threads : {1, 2}) {
        Session session({.threads = threads});
        JobFunction job(&session, "pool", JobType::kPredict,
                        [&](const std::vector<Blob>& in) {
                          Blob y = pool(in[0]);
                          return std::vector<Blob>{y, (*Gradients({y}, {in[0]}, {in[1]}))[0]};
                        },
                        {Placeholder(x_shape), Placeholder(y_shape)});
        absl::StatusOr<std::vector<Tensor>> out = job.Run({x, w});
        ASSERT_TRUE(out.ok()) << out.status();
        outs.push_back(*out);
      }
      for (int o = 0; o < 2; ++o) {
        const Tensor& one = outs[0][o];
        const Tensor& two = outs[1][o];
        ASSERT_EQ(one.num_elements(), two.num_elements());
        for (int64_t i = 0; i < one.num_elements(); ++i) {
          ASSERT_EQ(one.data<float>()[i], two.data<float>()[i])
              << "output " << o << " element " << i;
        }
      }
      if (!relu) {
        const LoopPool loops = LoopPool2d(
            true, x, w, k, 2, /*pad_before=*/k == 2 ? 0 : 1);  // SAME pads 1 before, 0 after
        for (int64_t i = 0; i < x_shape.NumElements(); ++i) {
          // 3x3 windows overlap: a cell sums up to 4 gradients, in oneDNN's order or the loop's.
          ASSERT_NEAR(outs[1][1].data<float>()[i], loops.dx[i], 1e-6) << "dx element " << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace flow
