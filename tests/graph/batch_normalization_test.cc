// flow::layers::batch_normalization: one training step and one predict step against PyTorch's
// BatchNorm2d/BatchNorm1d (tests/data/batchnorm_reference.txt, from make_batchnorm_reference.py,
// OneFlow's momentum mapped to PyTorch's 1 − momentum), OneFlow's variable names and
// trainability, trainable = false, the blocked layout between convolutions, and the refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "framework/op_registry.h"
#include "graph/compiled_job.h"
#include "graph/flow.h"
#include "runtime/executor.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

struct RefCase {
  std::string name;
  float momentum = 0, epsilon = 0;
  Shape shape;
  std::map<std::string, std::vector<float>> values;
};

std::vector<RefCase> LoadReference() {
  std::ifstream in(std::string(FLOWRT_TEST_DATA_DIR) + "/batchnorm_reference.txt");
  EXPECT_TRUE(in.good()) << "missing tests/data/batchnorm_reference.txt";
  std::vector<RefCase> cases;
  std::string text;
  while (std::getline(in, text)) {
    if (text.empty() || text[0] == '#') continue;
    std::istringstream line(text);
    std::string key;
    line >> key;
    if (key == "case") {
      RefCase c;
      line >> c.name >> c.momentum >> c.epsilon;
      std::vector<int64_t> dims;
      for (int64_t d; line >> d;) dims.push_back(d);
      c.shape = Shape(dims);
      cases.push_back(c);
    } else if (key != "end") {
      std::vector<float>& v = cases.back().values[key];
      for (double d; line >> d;) v.push_back(static_cast<float>(d));
    }
  }
  return cases;
}

// |got − want| ≤ 1e-5·max(1, |want|): 1e-5 absolute, relative for values above 1 (dbeta sums
// 80 products in float32).
void ExpectClose(const Tensor& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.num_elements(), static_cast<int64_t>(want.size())) << what;
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double err =
        std::abs(got.data<float>()[i] - want[i]) / std::max(1.0, std::abs(1.0 * want[i]));
    worst = std::max(worst, err);
    EXPECT_LE(err, 1e-5) << what << "[" << i << "]: " << got.data<float>()[i] << " vs " << want[i];
  }
  ::testing::Test::RecordProperty(what, std::to_string(worst));
}

void Set(Session& session, const std::string& name, const std::vector<float>& values) {
  Tensor* t = session.FindVariable(name);
  ASSERT_NE(t, nullptr) << name;
  ASSERT_EQ(t->num_elements(), static_cast<int64_t>(values.size())) << name;
  std::copy(values.begin(), values.end(), t->data<float>());
}

TEST(BatchNormalizationTest, OneTrainingStepAndPredictMatchPyTorch) {
  const std::vector<RefCase> cases = LoadReference();
  ASSERT_EQ(cases.size(), 3u);
  for (const RefCase& c : cases) {
    SCOPED_TRACE(c.name);
    Session session({.threads = 1});
    const layers::BatchNormalizationOptions options{
        .momentum = c.momentum, .epsilon = c.epsilon, .name = "bn"};
    Tensor y, dx, dgamma, dbeta;
    JobFunction train = global_function(
        session, "train", JobType::kTrain,
        [&](Blob x, Blob w) {
          watch_diff(x, [&](const Tensor& t) { dx = t.Clone(); });
          Blob out = layers::batch_normalization(x, options);
          watch(out, [&](const Tensor& t) { y = t.Clone(); });
          // The layer's own variables (get_variable with reuse returns them).
          const Shape params({c.shape[1]});
          watch_diff(get_variable("bn-gamma", params, {.initializer = ones_initializer()}),
                     [&](const Tensor& t) { dgamma = t.Clone(); });
          watch_diff(get_variable("bn-beta", params, {.initializer = zeros_initializer()}),
                     [&](const Tensor& t) { dbeta = t.Clone(); });
          Blob loss = math::reduce_sum(math::multiply(out, w));
          // lr 0: gamma and beta stay, so predict below sees the PyTorch module's parameters.
          optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.f}), {.momentum = 0})
              .minimize(loss);
          return loss;
        },
        Placeholder(c.shape), Placeholder(c.shape));
    JobFunction predict = global_function(
        session, "predict", JobType::kPredict,
        [&](Blob x) { return layers::batch_normalization(x, options); }, Placeholder(c.shape));
    ASSERT_TRUE(train.Compile().ok()) << train.Compile();
    ASSERT_TRUE(predict.Compile().ok()) << predict.Compile();
    for (const char* name : {"gamma", "beta", "moving_mean", "moving_variance"}) {
      Set(session, std::string("bn-") + name, c.values.at(name));
    }
    const Tensor x = Tensor::FromVector<float>(c.shape, c.values.at("x"));
    const Tensor w = Tensor::FromVector<float>(c.shape, c.values.at("w"));
    ASSERT_TRUE(train(x, w).ok());
    ExpectClose(y, c.values.at("y"), c.name + " y");
    ExpectClose(dx, c.values.at("dx"), c.name + " dx");
    ExpectClose(dgamma, c.values.at("dgamma"), c.name + " dgamma");
    ExpectClose(dbeta, c.values.at("dbeta"), c.name + " dbeta");
    ExpectClose(*session.FindVariable("bn-moving_mean"), c.values.at("moving_mean_after"),
                c.name + " moving_mean");
    ExpectClose(*session.FindVariable("bn-moving_variance"), c.values.at("moving_variance_after"),
                c.name + " moving_variance");
    absl::StatusOr<Tensor> y_predict = predict(x);
    ASSERT_TRUE(y_predict.ok()) << y_predict.status();
    ExpectClose(*y_predict, c.values.at("y_predict"), c.name + " y_predict");
  }
}

std::vector<std::string> OpTypes(const JobFunction& job) {
  std::vector<std::string> types;
  for (const flowrt::OpConf& op : CompiledJob::Job(job).op()) types.push_back(op.type());
  return types;
}

int Count(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<int>(std::count(v.begin(), v.end(), s));
}

JobFunction TrainJob(Session& session, const layers::BatchNormalizationOptions& options,
                     const Shape& shape = {4, 3}) {
  return global_function(
      session, "train", JobType::kTrain,
      [options](Blob x) {
        Blob loss = math::reduce_sum(math::square(layers::batch_normalization(x, options)));
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.1f}), {.momentum = 0})
            .minimize(loss);
        return loss;
      },
      Placeholder(shape));
}

// OneFlow's names; gamma and beta trained by the optimizer, the moving statistics only by the
// layer's own update ops.
TEST(BatchNormalizationTest, OneFlowsVariablesAndWhoUpdatesThem) {
  Session session;
  JobFunction train = TrainJob(session, {.name = "bn1"});
  ASSERT_TRUE(train.Compile().ok()) << train.Compile();
  EXPECT_EQ(session.VariableNames(),
            (std::vector<std::string>{"System-Train-TrainStep-train", "bn1-beta", "bn1-gamma",
                                      "bn1-moving_mean", "bn1-moving_variance"}));
  const std::vector<std::string> types = OpTypes(train);
  EXPECT_EQ(Count(types, "batch_norm"), 1);
  EXPECT_EQ(Count(types, "sgd_update"), 2);  // gamma, beta
  EXPECT_EQ(Count(types, "moving_average_update"), 2);
  for (const flowrt::OpConf& op : CompiledJob::Job(train).op()) {
    if (op.type() != "sgd_update") continue;
    EXPECT_TRUE(absl::StrContains(op.input(0), "bn1-")) << op.input(0);
  }
}

// trainable = false: the moving statistics normalize and stay as they are; gamma and beta are
// frozen (OneFlow: training is off when trainable is).
TEST(BatchNormalizationTest, NotTrainableUsesAndKeepsTheMovingStatistics) {
  Session session;
  JobFunction train = TrainJob(session, {.trainable = false, .name = "bn"});
  ASSERT_TRUE(train.Compile().ok()) << train.Compile();
  const std::vector<std::string> types = OpTypes(train);
  EXPECT_EQ(Count(types, "batch_norm_inference"), 1);
  EXPECT_EQ(Count(types, "batch_norm"), 0);
  EXPECT_EQ(Count(types, "moving_average_update"), 0);
  EXPECT_EQ(Count(types, "sgd_update"), 0);
  Set(session, "bn-moving_mean", {1, 2, 3});
  ASSERT_TRUE(train(testing::RandomTensor({4, 3}, 3)).ok());
  const float* mean = session.FindVariable("bn-moving_mean")->data<float>();
  EXPECT_EQ(std::vector<float>(mean, mean + 3), (std::vector<float>{1, 2, 3}));
}

TEST(BatchNormalizationTest, CenterAndScaleOffMakeNoBetaOrGamma) {
  Session session;
  JobFunction train = TrainJob(session, {.center = false, .scale = false, .name = "bn"});
  ASSERT_TRUE(train.Compile().ok()) << train.Compile();
  EXPECT_EQ(session.VariableNames(),
            (std::vector<std::string>{"System-Train-TrainStep-train", "bn-moving_mean",
                                      "bn-moving_variance"}));
  const Tensor x = testing::RandomTensor({4, 3}, 4);
  absl::StatusOr<Tensor> loss = train(x);
  ASSERT_TRUE(loss.ok()) << loss.status();
  // gamma = 1, beta = 0: sum(y²) over channel c is N·var_c/(var_c + ε) (biased var_c).
  double want = 0;
  for (int c = 0; c < 3; ++c) {
    double sum = 0, sum_sq = 0;
    for (int n = 0; n < 4; ++n) {
      sum += x.data<float>()[n * 3 + c];
      sum_sq += x.data<float>()[n * 3 + c] * x.data<float>()[n * 3 + c];
    }
    const double var = sum_sq / 4 - (sum / 4) * (sum / 4);
    want += 4 * var / (var + 1e-3);
  }
  EXPECT_NEAR(loss->data<float>()[0], want, 1e-4);
}

// conv → batch norm → leaky relu → conv: the activations around the batch norm stay blocked,
// and training is the same with blocked layouts off.
TEST(BatchNormalizationTest, StaysBlockedBetweenConvolutions) {
  const int64_t channels = 16;  // a multiple of the block on AVX2 (8) and AVX-512 (16)
  auto body = [](Blob x) {
    Blob c1 = layers::conv2d(x, channels, {3, 3}, {.padding = "SAME", .name = "conv1"});
    Blob bn = layers::batch_normalization(c1, {.name = "bn1"});
    Blob a = nn::leaky_relu(bn, 0.1f);
    Blob c2 = layers::conv2d(a, channels, {3, 3}, {.padding = "SAME", .name = "conv2"});
    Blob loss = math::reduce_sum(math::square(c2));
    optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.01f}), {.momentum = 0})
        .minimize(loss);
    return loss;
  };
  Session session({.seed = 3, .threads = 1});
  JobFunction train =
      global_function(session, "train", JobType::kTrain, body, Placeholder({2, 1, 6, 6}));
  ASSERT_TRUE(train.Compile().ok()) << train.Compile();
  const Executor& executor = CompiledJob::GetExecutor(train);
  for (const flowrt::OpConf& op : CompiledJob::Job(train).op()) {
    if (op.type() == "batch_norm") {
      EXPECT_EQ(executor.BlobLayout(op.input(0)), Layout::kBlocked) << op.input(0);
      EXPECT_EQ(executor.BlobLayout(op.output(0)), Layout::kBlocked) << op.output(0);
    }
    if (op.type() == "batch_norm_grad") {
      EXPECT_EQ(executor.BlobLayout(op.output(0)), Layout::kBlocked) << op.output(0);
    }
  }
  auto run = [&](bool blocked) {
    std::map<std::string, Tensor> vars;
    for (const auto& [name, t] : session.get_all_variables()) vars[name] = t.Clone();
    auto ex = Executor::Create(CompiledJob::Job(train), FindKernelDef,
                               [&](const std::string& n) { return &vars.at(n); },
                               {.threads = 1, .blocked_layouts = blocked});
    FLOWRT_CHECK(ex.ok()) << ex.status();
    for (int step = 0; step < 2; ++step) {
      FLOWRT_CHECK((*ex)->Run({testing::RandomTensor({2, 1, 6, 6}, 10 + step)}).ok());
    }
    return vars;
  };
  const std::map<std::string, Tensor> blocked = run(true), plain = run(false);
  for (const auto& [name, t] : blocked) {
    if (t.dtype() != kFloat) continue;
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      EXPECT_NEAR(t.data<float>()[i], plain.at(name).data<float>()[i], 1e-4) << name << i;
    }
  }
  // The moving statistics moved away from their initial 0 and 1.
  EXPECT_NE(blocked.at("bn1-moving_mean").data<float>()[0], 0.f);
}

absl::Status CompileError(const layers::BatchNormalizationOptions& options, const Shape& shape,
                          JobType type = JobType::kTrain) {
  Session session;
  JobFunction job = global_function(
      session, "job", type,
      [options, type](Blob x) {
        Blob y = layers::batch_normalization(x, options);
        Blob loss = math::reduce_sum(y);
        if (type == JobType::kTrain) {
          optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.1f})).minimize(loss);
        }
        return loss;
      },
      Placeholder(shape));
  return job.Compile();
}

TEST(BatchNormalizationTest, RefusesWhatItCannotNormalize) {
  absl::Status axis = CompileError({.axis = 3, .name = "bn"}, {2, 3, 4, 4});
  EXPECT_TRUE(absl::StrContains(axis.message(), "batch_normalization 'bn': axis 3 of input"))
      << axis;
  EXPECT_TRUE(absl::StrContains(axis.message(), "flowrt normalizes the channels of NCHW data"));
  absl::Status rank = CompileError({.name = "bn"}, {5});
  EXPECT_TRUE(absl::StrContains(rank.message(), "has shape (5,), expected rank 2 to 5")) << rank;
  absl::Status one = CompileError({.name = "bn"}, {1, 4});
  EXPECT_TRUE(absl::StrContains(one.message(), "has 1 value per channel")) << one;
  // A batch of one is fine in a predict job: the moving statistics normalize it.
  EXPECT_TRUE(CompileError({.name = "bn"}, {1, 4}, JobType::kPredict).ok());
  // -1 is axis 1 of (N, C) input.
  EXPECT_TRUE(CompileError({.axis = -1, .name = "bn"}, {4, 4}).ok());
}

TEST(BatchNormalizationTest, TwoLayersWithOneNameAreAnError) {
  Session session;
  JobFunction job = global_function(
      session, "job", JobType::kPredict,
      [](Blob x) { return layers::batch_normalization(layers::batch_normalization(x), {}); },
      Placeholder({2, 3}));
  absl::Status status = job.Compile();
  EXPECT_TRUE(absl::StrContains(status.message(), "BatchNorm-")) << status;
}

}  // namespace
}  // namespace flow
