// clip_by_global_norm_coefficient (the op) and SGDOptions::grad_clipping (its use by minimize):
// the coefficient of gradients with a known norm, clipping and not, across threads and blocks;
// bad clip norms refused by name; and hand-computed updates showing the order OneFlow uses —
// unscale, then clip by the norm over every variable, then l1/l2, then SGD or momentum.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "framework/job_builder.h"
#include "graph/compiled_job.h"
#include "graph/flow.h"

namespace flow {
namespace {

// The coefficient of `grads` (fed to a predict job holding only the op).
absl::StatusOr<float> Coefficient(const std::vector<Tensor>& grads, float max_norm,
                                  float scale = 1.f, int threads = 1) {
  Session session({.threads = threads});
  std::vector<Placeholder> placeholders;
  for (const Tensor& g : grads) placeholders.push_back(Placeholder(g.shape(), g.dtype()));
  JobFunction job(
      &session, "clip", JobType::kPredict,
      [&](const std::vector<Blob>& in) {
        OpBuilder op("clip_by_global_norm_coefficient");
        for (const Blob& b : in) op.Input(b);
        return std::vector<Blob>{op.Attr("max_norm", max_norm).Attr("scale", scale).Build1()};
      },
      placeholders);
  absl::StatusOr<std::vector<Tensor>> out = job.Run(grads);
  if (!out.ok()) return out.status();
  EXPECT_EQ((*out)[0].shape(), Shape({1}));
  return (*out)[0].data<float>()[0];
}

// Gradients (3, 4) and (12,): global norm 13.
std::vector<Tensor> NormThirteen() {
  return {Tensor::FromVector<float>({2}, {3, 4}), Tensor::FromVector<float>({1}, {12})};
}

TEST(ClipByGlobalNormTest, ClipsToMaxNormOverEveryGradient) {
  absl::StatusOr<float> c = Coefficient(NormThirteen(), 6.5f);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FLOAT_EQ(*c, static_cast<float>(6.5 / (13 + 1e-6)));
  EXPECT_LT(*c, 0.5f);  // the 1e-6 is there: a hair below max_norm / norm
}

TEST(ClipByGlobalNormTest, NormBelowMaxNormGivesExactlyOne) {
  absl::StatusOr<float> c = Coefficient(NormThirteen(), 100.f);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, 1.f);
  c = Coefficient(NormThirteen(), std::numeric_limits<float>::infinity());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, 1.f);
  // All-zero gradients: norm 0, nothing to clip (the 1e-6 keeps it finite).
  c = Coefficient({Tensor::FromVector<float>({3}, {0, 0, 0})}, 1.f);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, 1.f);
}

TEST(ClipByGlobalNormTest, NormIsOfTheUnscaledGradientsAndTheCoefficientUnscales) {
  // Raw gradients 4× a norm-13 set (loss_scale_factor 4): the norm of the used gradients is 13.
  std::vector<Tensor> grads = {Tensor::FromVector<float>({2}, {12, 16}),
                               Tensor::FromVector<float>({1}, {48})};
  absl::StatusOr<float> c = Coefficient(grads, 6.5f, /*scale=*/0.25f);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FLOAT_EQ(*c, static_cast<float>(0.25 * 6.5 / (13 + 1e-6)));
  c = Coefficient(grads, 100.f, /*scale=*/0.25f);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, 0.25f);  // not clipped: just the unscale
}

TEST(ClipByGlobalNormTest, LargeGradientsMatchADoubleReferenceOnAnyThreadCount) {
  // Several 16K-element blocks, ragged ends, one tensor smaller than a block.
  std::vector<Tensor> grads = {Tensor(Shape({300, 1001}), kFloat), Tensor(Shape({40000}), kFloat),
                               Tensor(Shape({7}), kFloat)};
  double square_sum = 0;
  uint64_t s = 7;
  for (Tensor& g : grads) {
    for (int64_t i = 0; i < g.num_elements(); ++i) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      const float v = static_cast<float>((s >> 33) % 2001) / 1000.f - 1.f;
      g.data<float>()[i] = v;
      square_sum += static_cast<double>(v) * v;
    }
  }
  const double norm = std::sqrt(square_sum);  // ≈ 330
  absl::StatusOr<float> one = Coefficient(grads, 10.f, 1.f, /*threads=*/1);
  absl::StatusOr<float> two = Coefficient(grads, 10.f, 1.f, /*threads=*/2);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_FLOAT_EQ(*one, static_cast<float>(10 / (norm + 1e-6)));
  EXPECT_EQ(*one, *two) << "the block sums are added in a fixed order";
}

TEST(ClipByGlobalNormTest, BadMaxNormIsRefusedByName) {
  for (float bad : {0.f, -1.f, std::numeric_limits<float>::quiet_NaN()}) {
    absl::StatusOr<float> c = Coefficient(NormThirteen(), bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(c.status().message(), "max_norm must be > 0, got "))
        << c.status();
    EXPECT_TRUE(absl::StrContains(c.status().message(), "clip_by_global_norm_coefficient"))
        << c.status();
  }
}

TEST(ClipByGlobalNormTest, NeedsAtLeastOneFloatGradient) {
  absl::StatusOr<float> c = Coefficient({}, 1.f);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "takes 1 or more inputs, got 0"))
      << c.status();
  c = Coefficient({Tensor::FromVector<float>({1}, {1}), Tensor(Shape({2}), kInt32)}, 1.f);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "input 'grad'")) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "kInt32")) << c.status();
}

// ---- SGDOptions::grad_clipping through minimize(). ----

// loss = a·x + b·y elementwise (3 elements, so every gradient carries OneFlow's 1/3): with
// x = (3, 6, 6), y = (0, 0, 12) the gradients are g_a = (1, 2, 2), g_b = (0, 0, 4), and their
// global norm is 5. a and b start at 1.
struct ToyRun {
  std::vector<float> a, b;
  std::vector<std::string> op_types;
};

absl::StatusOr<ToyRun> TrainToy(optimizer::SGDOptions options, int steps = 1,
                                Regularizer regularizer = {}) {
  Session session({.threads = 1});
  JobFunction job = global_function(
      session, "toy", JobType::kTrain,
      [=](Blob x, Blob y) {
        Blob a = get_variable("a", {3},
                              {.initializer = constant_initializer(1), .regularizer = regularizer});
        Blob b = get_variable("b", {3},
                              {.initializer = constant_initializer(1), .regularizer = regularizer});
        Blob loss = add(math::multiply(a, x), math::multiply(b, y));
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.1f}), options).minimize(loss);
        return loss;
      },
      Placeholder({3}), Placeholder({3}));
  const Tensor x = Tensor::FromVector<float>({3}, {3, 6, 6});
  const Tensor y = Tensor::FromVector<float>({3}, {0, 0, 12});
  for (int i = 0; i < steps; ++i) {
    absl::StatusOr<Tensor> loss = job(x, y);
    if (!loss.ok()) return loss.status();
  }
  ToyRun run;
  for (const char* name : {"a", "b"}) {
    const Tensor* v = session.FindVariable(name);
    (name[0] == 'a' ? run.a : run.b).assign(v->data<float>(), v->data<float>() + 3);
  }
  for (const flowrt::OpConf& op : CompiledJob::Job(job).op()) run.op_types.push_back(op.type());
  return run;
}

constexpr float kGa[] = {1, 2, 2}, kGb[] = {0, 0, 4};

// a and b after w ← 1 − step·g − extra.
void ExpectUpdated(const ToyRun& run, float step, float extra = 0) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(run.a[i], 1 - step * kGa[i] - extra, 1e-6) << "a[" << i << "]";
    EXPECT_NEAR(run.b[i], 1 - step * kGb[i] - extra, 1e-6) << "b[" << i << "]";
  }
}

TEST(SgdGradClippingTest, ClipsByTheNormOverEveryVariable) {
  // Norm 5, clip 2.5: coefficient 0.5, so w -= 0.1 · 0.5 · g.
  absl::StatusOr<ToyRun> run = TrainToy({.momentum = 0, .grad_clipping = 2.5f});
  ASSERT_TRUE(run.ok()) << run.status();
  ExpectUpdated(*run, 0.05f);
  EXPECT_EQ(
      std::count(run->op_types.begin(), run->op_types.end(), "clip_by_global_norm_coefficient"), 1);
  // Per-variable clipping would leave b's (norm 4 > 2.5) and a's (norm 3 > 2.5) at other scales.
}

TEST(SgdGradClippingTest, ClipNormAboveTheNormChangesNothing) {
  absl::StatusOr<ToyRun> clipped = TrainToy({.momentum = 0, .grad_clipping = 5.5f});
  absl::StatusOr<ToyRun> plain = TrainToy({.momentum = 0});
  ASSERT_TRUE(clipped.ok()) << clipped.status();
  ASSERT_TRUE(plain.ok()) << plain.status();
  ExpectUpdated(*plain, 0.1f);
  EXPECT_EQ(clipped->a, plain->a);  // coefficient exactly 1
  EXPECT_EQ(clipped->b, plain->b);
  EXPECT_EQ(
      std::count(plain->op_types.begin(), plain->op_types.end(), "clip_by_global_norm_coefficient"),
      0);
}

TEST(SgdGradClippingTest, LossScaleIsUndoneBeforeTheNorm) {
  // Seeds ×8, gradients ×8, norm of the raw gradients 40: clipping must see 5.
  absl::StatusOr<ToyRun> run =
      TrainToy({.momentum = 0, .loss_scale_factor = 8, .grad_clipping = 2.5f});
  ASSERT_TRUE(run.ok()) << run.status();
  ExpectUpdated(*run, 0.05f);
}

TEST(SgdGradClippingTest, RegularizationIsAddedAfterClipping) {
  // g' = 0.5·g + 0.5·w (w = 1): clipping g + 0.5·w instead would use its norm, sqrt(36.25).
  absl::StatusOr<ToyRun> run =
      TrainToy({.momentum = 0, .grad_clipping = 2.5f}, 1, regularizers::l2(0.5f));
  ASSERT_TRUE(run.ok()) << run.status();
  ExpectUpdated(*run, 0.05f, /*extra=*/0.1f * 0.5f);
}

TEST(SgdGradClippingTest, MomentumUsesTheClippedGradient) {
  // The loss is linear: every step has the same gradient. m1 = −0.1·0.5·g, m2 = 0.9·m1 − 0.1·0.5·g,
  // w2 = 1 + m1 + m2 = 1 − 0.05·2.9·g.
  absl::StatusOr<ToyRun> run = TrainToy({.momentum = 0.9f, .grad_clipping = 2.5f}, 2);
  ASSERT_TRUE(run.ok()) << run.status();
  ExpectUpdated(*run, 0.05f * 2.9f);
}

TEST(SgdGradClippingTest, NegativeOrNanClipNormIsAnErrorNamingIt) {
  for (float bad : {-1.f, -0.5f, std::numeric_limits<float>::quiet_NaN()}) {
    absl::StatusOr<ToyRun> run = TrainToy({.momentum = 0, .grad_clipping = bad});
    ASSERT_FALSE(run.ok()) << bad;
    EXPECT_EQ(run.status().code(), absl::StatusCode::kInvalidArgument) << run.status();
    EXPECT_TRUE(absl::StrContains(run.status().message(), "grad_clipping")) << run.status();
    const std::string value = std::isnan(bad) ? "got nan" : absl::StrCat("got ", bad);
    EXPECT_TRUE(absl::StrContains(run.status().message(), value)) << run.status();
  }
}

}  // namespace
}  // namespace flow
