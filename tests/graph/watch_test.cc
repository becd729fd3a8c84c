// flow::watch and flow::watch_diff: callbacks see a blob's value, or its gradient, after every run;
// watching changes nothing that is trained, and a watch that cannot work is a clear error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "graph/flow.h"

namespace flow {
namespace {

using ::testing::HasSubstr;

template <typename T>
std::vector<T> Values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.num_elements());
}

Tensor Batch() {
  Tensor x(Shape({4, 6}), kFloat);
  for (int i = 0; i < 24; ++i) x.data<float>()[i] = std::sin(0.7f * static_cast<float>(i));
  return x;
}
Tensor Labels() { return Tensor::FromVector<int32_t>(Shape({4}), {0, 2, 1, 2}); }

// A 6-5-3 MLP train job; `watches` runs inside its body between the logits and minimize.
JobFunction MlpTrainJob(Session& session, std::function<void(Blob hidden, Blob logits)> watches) {
  return global_function(
      session, "train_job", JobType::kTrain,
      [watches](Blob x, Blob labels) {
        Blob hidden = layers::dense(x, 5,
                                    {.activation = nn::relu,
                                     .kernel_initializer = truncated_normal(0.5),
                                     .name = "dense1"});
        Blob logits = layers::dense(
            hidden, 3, {.kernel_initializer = truncated_normal(0.5), .name = "dense2"});
        if (watches) watches(hidden, logits);
        Blob loss = nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.1f}), {.momentum = 0})
            .minimize(loss);
        return loss;
      },
      Placeholder({4, 6}), Placeholder({4}, kInt32));
}

TEST(WatchTest, CallbackGetsTheValueAfterEveryRun) {
  Session session;
  std::vector<Tensor> seen;
  auto job = global_function(
      session, "predict", JobType::kPredict,
      [&seen](Blob x) {
        Blob y = nn::relu(x);
        watch(y, [&seen](const Tensor& t) { seen.push_back(t.Clone()); });
        return math::multiply(y, 2.f);
      },
      Placeholder({2, 2}));
  ASSERT_TRUE(job(Tensor::FromVector<float>(Shape({2, 2}), {-1, 2, 3, -4})).ok());
  ASSERT_TRUE(job(Tensor::FromVector<float>(Shape({2, 2}), {5, -6, 0, 1})).ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(Values<float>(seen[0]), (std::vector<float>{0, 2, 3, 0}));
  EXPECT_EQ(Values<float>(seen[1]), (std::vector<float>{5, 0, 0, 1}));
  // Run returns the body's outputs only; the watched blob is not one of them.
  absl::StatusOr<std::vector<Tensor>> out =
      job.Run({Tensor::FromVector<float>(Shape({2, 2}), {1, 1, 1, 1})});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{2, 2, 2, 2}));
  EXPECT_EQ(seen.size(), 3u);
}

// d(mean loss)/d(logits) of sparse softmax cross-entropy is (softmax − one_hot) / N.
TEST(WatchTest, WatchDiffGetsTheGradientOfTheMeanLoss) {
  Session session({.seed = 3});
  Tensor logits_value, logits_diff;
  JobFunction job = MlpTrainJob(session, [&](Blob, Blob logits) {
    watch(logits, [&](const Tensor& t) { logits_value = t.Clone(); });
    watch_diff(logits, [&](const Tensor& t) { logits_diff = t.Clone(); });
  });
  absl::StatusOr<std::vector<Tensor>> out = job.Run({Batch(), Labels()});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 1u) << "only the body's output is returned";
  ASSERT_EQ(logits_diff.shape(), Shape({4, 3}));
  const std::vector<int32_t> labels = Values<int32_t>(Labels());
  for (int n = 0; n < 4; ++n) {
    const float* row = logits_value.data<float>() + n * 3;
    double sum = 0;
    for (int c = 0; c < 3; ++c) sum += std::exp(static_cast<double>(row[c]));
    for (int c = 0; c < 3; ++c) {
      const double want = (std::exp(static_cast<double>(row[c])) / sum - (c == labels[n])) / 4;
      EXPECT_NEAR(logits_diff.data<float>()[n * 3 + c], want, 1e-6) << n << ", " << c;
    }
  }
}

TEST(WatchTest, WatchingChangesNothingThatIsTrained) {
  std::map<std::string, std::vector<float>> plain, watched;
  for (bool with_watches : {false, true}) {
    Session session({.seed = 5});
    int calls = 0;
    JobFunction job = MlpTrainJob(session, [&](Blob hidden, Blob logits) {
      if (!with_watches) return;
      watch(hidden, [&calls](const Tensor&) { ++calls; });
      watch_diff(hidden, [&calls](const Tensor&) { ++calls; });
      watch_diff(logits, [&calls](const Tensor&) { ++calls; });
    });
    for (int step = 0; step < 3; ++step) ASSERT_TRUE(job.Run({Batch(), Labels()}).ok());
    EXPECT_EQ(calls, with_watches ? 9 : 0);
    auto& weights = with_watches ? watched : plain;
    for (const std::string& name : session.VariableNames()) {
      const Tensor* value = session.FindVariable(name);
      if (value->dtype() == kFloat) weights[name] = Values<float>(*value);
    }
  }
  EXPECT_EQ(plain, watched);
}

TEST(WatchTest, WatchDiffAfterMinimizeIsRefusedNamingTheBlob) {
  Session session;
  auto job = global_function(
      session, "late", JobType::kTrain,
      [](Blob x, Blob labels) {
        Blob logits = layers::dense(x, 3, {.name = "dense"});
        Blob loss = nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.1f}), {.momentum = 0})
            .minimize(loss);
        watch_diff(logits, [](const Tensor&) {});
        return loss;
      },
      Placeholder({4, 6}), Placeholder({4}, kInt32));
  const absl::Status status = job.Compile();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("job 'late': watch_diff(blob 'dense"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("comes after minimize(loss)"));
}

TEST(WatchTest, WatchDiffInAPredictJobIsRefused) {
  Session session;
  auto job = global_function(
      session, "predict", JobType::kPredict,
      [](Blob x) {
        Blob y = nn::relu(x);
        watch_diff(y, [](const Tensor&) {});
        return y;
      },
      Placeholder({2, 2}));
  const absl::Status status = job.Compile();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("job 'predict': watch_diff(blob 'relu/y') needs a train "
                        "job whose body calls minimize(loss) after it"));
}

TEST(WatchTest, WatchingABlobOfAnotherJobIsRefused) {
  Session session;
  Blob first_blob;
  auto first = global_function(
      session, "first", JobType::kPredict,
      [&first_blob](Blob x) { return first_blob = nn::relu(x); }, Placeholder({2}));
  ASSERT_TRUE(first.Compile().ok());
  auto second = global_function(
      session, "second", JobType::kPredict,
      [&first_blob](Blob x) {
        watch(first_blob, [](const Tensor&) {});
        return nn::relu(x);
      },
      Placeholder({2}));
  const absl::Status status = second.Compile();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("job 'second': watch(blob 'relu/y'): the blob is not of this job"));
}

}  // namespace
}  // namespace flow
