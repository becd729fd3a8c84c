// dropout: the gradient (numerically, with the op's fixed step-0 mask, and in a real train job),
// the statistics of the mask (keep fraction, mean preservation, within computed tolerances), the
// mask stream (same seed and step → same mask, across thread counts and a resumed run; another
// step, seed or op → another mask), and identity outside train jobs.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "framework/job_builder.h"
#include "graph/autodiff.h"
#include "graph/compiled_job.h"
#include "graph/flow.h"
#include "runtime/random.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

using testing::CheckGradients;
using testing::RandomTensor;

FLOWRT_GRADIENT_CHECKED(dropout);

// The dropout op itself (nn::dropout emits nothing in predict jobs). In a predict job it has no
// train step and draws the step-0 mask every run.
std::vector<Blob> DropoutOp(const Blob& x, float rate) {
  return OpBuilder("dropout").Input(x).Attr("rate", rate).Build();
}

TEST(DropoutTest, GradientMatchesNumericForAFixedMask) {
  // What this checks: with the mask held fixed (step 0, so every perturbed forward run draws the
  // same mask), the gradient rule (dropout_grad) matches central differences of y = x·mask/(1−r).
  // It cannot check the train-job wiring; TrainJobGradientIsMaskOverKeepProbability does.
  EXPECT_TRUE(CheckGradients([](const std::vector<Blob>& in) { return DropoutOp(in[0], 0.4f)[0]; },
                             {RandomTensor({4, 7}, 1)}));
}

TEST(DropoutTest, OutputAndGradientAreScaledByTheMask) {
  Session session;
  JobFunction job(&session, "op", JobType::kPredict,
                  [](const std::vector<Blob>& in) {
                    std::vector<Blob> out = DropoutOp(in[0], 0.25f);
                    Blob dx = (*Gradients({out[0]}, {in[0]}, {in[1]}))[0];
                    return std::vector<Blob>{out[0], out[1], dx};
                  },
                  {Placeholder({3, 50}), Placeholder({3, 50})});
  const Tensor x = RandomTensor({3, 50}, 2, 0.01);
  const Tensor w = RandomTensor({3, 50}, 3, 0.01);
  absl::StatusOr<std::vector<Tensor>> out = job.Run({x, w});
  ASSERT_TRUE(out.ok()) << out.status();
  const Tensor& y = (*out)[0];
  const Tensor& mask = (*out)[1];
  const Tensor& dx = (*out)[2];
  ASSERT_EQ(mask.dtype(), kUInt8);
  const float scale = 1.f / (1.f - 0.25f);
  int kept = 0;
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    const uint8_t m = mask.data<uint8_t>()[i];
    ASSERT_TRUE(m == 0 || m == 1);
    kept += m;
    EXPECT_EQ(y.data<float>()[i], m ? x.data<float>()[i] * scale : 0.f) << i;
    EXPECT_EQ(dx.data<float>()[i], m ? w.data<float>()[i] * scale : 0.f) << i;
  }
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, x.num_elements());
}

// The mask is the documented stream, element by element: keep iff
// U32ToUniformFloat01(Philox4x32(CombineSeeds(seed, StableHash64(op name)))(step 0, i / 4)[i % 4])
// >= rate. 2003 elements: a batch of 256 blocks, a partial batch and a partial block.
TEST(DropoutTest, MaskIsThePhiloxWordOfEachElement) {
  constexpr int64_t kSeed = 77;
  constexpr float kRate = 0.3f;
  Session session;
  JobFunction job(&session, "op", JobType::kPredict,
                  [](const std::vector<Blob>& in) {
                    return OpBuilder("dropout")
                        .ExactName("drop")
                        .Input(in[0])
                        .Attr("rate", kRate)
                        .Attr("seed", kSeed)
                        .Build();
                  },
                  {Placeholder({2003})});
  absl::StatusOr<std::vector<Tensor>> out = job.Run({RandomTensor({2003}, 4)});
  ASSERT_TRUE(out.ok()) << out.status();
  const Philox4x32 philox(CombineSeeds(kSeed, StableHash64("drop")));
  for (int64_t i = 0; i < 2003; ++i) {
    const bool keep = U32ToUniformFloat01(philox(0, i / 4)[i % 4]) >= kRate;
    ASSERT_EQ((*out)[1].data<uint8_t>()[i], keep ? 1 : 0) << "element " << i;
  }
}

// ---- train jobs ----

Blob ZeroVariable(const Shape& shape) {
  GetVariableOptions options;
  options.initializer = zeros_initializer();
  return get_variable("v", shape, options);
}

// y = dropout(x + v) with v a zero-initialized variable, SGD lr 1, no momentum; fetches y, v.
JobFunction DropoutTrainJob(Session& session, const Shape& shape, float rate,
                            std::optional<int64_t> seed = std::nullopt) {
  return global_function(
      session, "train", JobType::kTrain,
      [=](Blob x) {
        Blob v = ZeroVariable(shape);
        Blob y = nn::dropout(add(x, v), rate, seed);
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {1.f}), {.momentum = 0})
            .minimize(y);
        return std::vector<Blob>{y, v};
      },
      Placeholder(shape));
}

// The mask of a dropout output whose input had no zeros.
std::vector<uint8_t> MaskOf(const Tensor& y) {
  std::vector<uint8_t> mask(y.num_elements());
  for (int64_t i = 0; i < y.num_elements(); ++i) mask[i] = y.data<float>()[i] != 0.f;
  return mask;
}

TEST(DropoutTest, TrainJobGradientIsMaskOverKeepProbability) {
  Session session({.seed = 3});
  const Shape shape({8, 16});
  JobFunction job = DropoutTrainJob(session, shape, 0.5f);
  const Tensor x = RandomTensor(shape, 4, 0.01);
  absl::StatusOr<std::vector<Tensor>> out = job.Run({x});
  ASSERT_TRUE(out.ok()) << out.status();
  // loss = y (128 elements): the seed is 1/128 per element, so after one step of lr 1,
  // v = −(1/128) · mask / (1 − 0.5).
  const std::vector<uint8_t> mask = MaskOf((*out)[0]);
  const float* v = (*out)[1].data<float>();
  for (int64_t i = 0; i < shape.NumElements(); ++i) {
    EXPECT_FLOAT_EQ((*out)[0].data<float>()[i], mask[i] ? x.data<float>()[i] * 2.f : 0.f);
    EXPECT_FLOAT_EQ(v[i], mask[i] ? -2.f / 128 : 0.f) << i;
  }
}

TEST(DropoutTest, EachTrainStepDrawsANewMask) {
  Session session({.seed = 3});
  const Shape shape({4, 256});
  JobFunction job = DropoutTrainJob(session, shape, 0.5f);
  const Tensor x = RandomTensor(shape, 4, 0.01);
  absl::StatusOr<std::vector<Tensor>> first = job.Run({x});
  absl::StatusOr<std::vector<Tensor>> second = job.Run({x});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(MaskOf((*first)[0]), MaskOf((*second)[0]));
}

// The masks of `steps` consecutive steps of a fresh session.
std::vector<std::vector<uint8_t>> Masks(SessionOptions options, const Shape& shape, int steps,
                                        std::optional<int64_t> seed = std::nullopt) {
  Session session(options);
  JobFunction job = DropoutTrainJob(session, shape, 0.3f, seed);
  const Tensor x = RandomTensor(shape, 4, 0.01);
  std::vector<std::vector<uint8_t>> masks;
  for (int i = 0; i < steps; ++i) {
    absl::StatusOr<std::vector<Tensor>> out = job.Run({x});
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok()) break;
    masks.push_back(MaskOf((*out)[0]));
  }
  return masks;
}

TEST(DropoutTest, SameSeedAndStepGiveTheSameMask) {
  const Shape shape({2, 300});
  EXPECT_EQ(Masks({.seed = 11}, shape, 2), Masks({.seed = 11}, shape, 2));
  EXPECT_NE(Masks({.seed = 11}, shape, 1), Masks({.seed = 12}, shape, 1));
  // An explicit seed replaces the session's.
  EXPECT_EQ(Masks({.seed = 11}, shape, 1, 99), Masks({.seed = 12}, shape, 1, 99));
}

TEST(DropoutTest, MaskDoesNotDependOnTheThreadCount) {
  // 2^18 elements: 64 Philox chunks, so two threads really split the work.
  const Shape shape({64, 4096});
  EXPECT_EQ(Masks({.seed = 5, .threads = 1}, shape, 2), Masks({.seed = 5, .threads = 2}, shape, 2));
}

TEST(DropoutTest, ResumedRunDrawsTheMasksOfTheUninterruptedRun) {
  const Shape shape({4, 128});
  const Tensor x = RandomTensor(shape, 4, 0.01);
  Session a({.seed = 8});
  JobFunction job_a = DropoutTrainJob(a, shape, 0.5f);
  std::map<std::string, Tensor> snapshot;
  std::vector<Tensor> a_outputs;
  for (int step = 0; step < 3; ++step) {
    if (step == 2) {
      for (const auto& [name, value] : a.get_all_variables()) snapshot[name] = value.Clone();
    }
    absl::StatusOr<std::vector<Tensor>> out = job_a.Run({x});
    ASSERT_TRUE(out.ok()) << out.status();
    a_outputs.push_back((*out)[0]);
  }
  ASSERT_TRUE(snapshot.contains("System-Train-TrainStep-train"));
  EXPECT_EQ(snapshot["System-Train-TrainStep-train"].data<int64_t>()[0], 2);

  Session b({.seed = 8});
  JobFunction job_b = DropoutTrainJob(b, shape, 0.5f);
  ASSERT_TRUE(job_b.Compile().ok());
  absl::StatusOr<LoadReport> report = b.load_variables(snapshot, /*ignore_mismatch=*/false);
  ASSERT_TRUE(report.ok()) << report.status();
  absl::StatusOr<std::vector<Tensor>> resumed = job_b.Run({x});
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_TRUE((*resumed)[0].BitwiseEqual(a_outputs[2]));
  EXPECT_FALSE((*resumed)[0].BitwiseEqual(a_outputs[1]));
}

TEST(DropoutTest, TwoDropoutsInOneJobDrawIndependentMasks) {
  Session session({.seed = 1});
  const Shape shape({2, 500});
  JobFunction job = global_function(
      session, "two", JobType::kTrain,
      [&](Blob x) {
        Blob v = ZeroVariable(shape);
        Blob h = add(x, v);
        Blob a = nn::dropout(h, 0.5f);
        Blob b = nn::dropout(h, 0.5f);
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {1.f}), {.momentum = 0})
            .minimize(add(a, b));
        return std::vector<Blob>{a, b};
      },
      Placeholder(shape));
  absl::StatusOr<std::vector<Tensor>> out = job.Run({RandomTensor(shape, 2, 0.01)});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_NE(MaskOf((*out)[0]), MaskOf((*out)[1]));
}

// ---- statistics ----

TEST(DropoutTest, KeepFractionAndMeanMatchWithinFiveSigma) {
  // n Bernoulli(1−r) draws: the kept count has σ = √(n·r·(1−r)); y_i = x_i·m_i/(1−r) has
  // E[y_i] = x_i and Var = x_i²·r/(1−r), so mean(y) − mean(x) has σ = √(Σx_i²·r/(1−r)) / n.
  // Deterministic seeds, so this either always passes or always fails; 5σ leaves the test
  // meaningful (a rate off by 1% of n = 2^18 is ~10σ) without being brittle.
  const Shape shape({256, 1024});
  const int64_t n = shape.NumElements();
  Tensor x = RandomTensor(shape, 9);
  for (int64_t i = 0; i < n; ++i) x.data<float>()[i] += 1.5f;  // mean ≈ 1.5, no zeros
  double x_sum = 0, x_sq = 0;
  for (int64_t i = 0; i < n; ++i) {
    x_sum += x.data<float>()[i];
    x_sq += static_cast<double>(x.data<float>()[i]) * x.data<float>()[i];
  }
  for (float rate : {0.1f, 0.5f, 0.9f}) {
    SCOPED_TRACE(rate);
    Session session({.seed = 21});
    JobFunction job(&session, "op", JobType::kPredict,
                    [&](const std::vector<Blob>& in) { return DropoutOp(in[0], rate); },
                    {Placeholder(shape)});
    absl::StatusOr<std::vector<Tensor>> out = job.Run({x});
    ASSERT_TRUE(out.ok()) << out.status();
    double y_sum = 0;
    int64_t kept = 0;
    for (int64_t i = 0; i < n; ++i) {
      y_sum += (*out)[0].data<float>()[i];
      kept += (*out)[1].data<uint8_t>()[i];
    }
    const double r = rate;
    EXPECT_NEAR(static_cast<double>(kept), n * (1 - r), 5 * std::sqrt(n * r * (1 - r)));
    EXPECT_NEAR(y_sum / n, x_sum / n, 5 * std::sqrt(x_sq * r / (1 - r)) / n);
  }
}

// ---- outside train jobs ----

TEST(DropoutTest, PredictJobIsIdentityWithoutAnOp) {
  Session session;
  JobFunction job(&session, "predict", JobType::kPredict,
                  [](const std::vector<Blob>& in) {
                    return std::vector<Blob>{nn::relu(nn::dropout(in[0], 0.5f))};
                  },
                  {Placeholder({3, 4})});
  const Tensor x = RandomTensor({3, 4}, 6);
  absl::StatusOr<std::vector<Tensor>> out = job.Run({x});
  ASSERT_TRUE(out.ok()) << out.status();
  for (const flowrt::OpConf& op : CompiledJob::Job(job).op()) EXPECT_NE(op.type(), "dropout");
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    EXPECT_EQ((*out)[0].data<float>()[i], std::max(x.data<float>()[i], 0.f));
  }
}

TEST(DropoutTest, RateZeroInATrainJobEmitsNoOp) {
  Session session;
  JobFunction job = DropoutTrainJob(session, {2, 3}, 0.f);
  ASSERT_TRUE(job.Compile().ok());
  for (const flowrt::OpConf& op : CompiledJob::Job(job).op()) EXPECT_NE(op.type(), "dropout");
}

TEST(DropoutTest, RateOutsideZeroOneIsAnErrorInEveryJob) {
  for (float rate : {1.f, -0.1f}) {
    Session session;
    JobFunction predict(&session, "predict", JobType::kPredict,
                        [&](const std::vector<Blob>& in) {
                          return std::vector<Blob>{nn::dropout(in[0], rate, std::nullopt, "drop")};
                        },
                        {Placeholder({2, 2})});
    absl::Status s = predict.Compile();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(s.message().find("dropout 'drop'"), std::string::npos) << s;
    EXPECT_NE(s.message().find("must be in [0, 1)"), std::string::npos) << s;
    EXPECT_FALSE(DropoutTrainJob(session, {2, 2}, rate).Compile().ok());
  }
}

}  // namespace
}  // namespace flow
