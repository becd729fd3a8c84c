// The conv2d → max_pool2d fusion (graph/passes/conv2d_into_max_pool2d.h): which convolutions it
// takes on LeNet, where it puts the fused op, and that training and inference give the bits of the
// unfused job — on the fused kernel (each image's convolution pooled from the thread's scratch;
// LeNet's geometries, odd sizes whose last row no window covers, with and without ReLU and bias)
// and on its fallback (overlapping windows). tests/runtime/exact_compile_options_test.cc checks
// LeNet's training too; the fused op refusing inputs that do not fit is checked here.
#include "graph/passes/conv2d_into_max_pool2d.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/op_registry.h"
#include "graph/compiled_job.h"
#include "graph/flow.h"
#include "graph/passes/relu_grad_before_max_pool_grad.h"
#include "jobs/model_jobs.h"
#include "tests/testing/gradcheck.h"
#include "tests/testing/job_ops.h"

namespace flow {
namespace {

using testing::CountType;
using testing::RandomTensor;

flowrt::JobConf LenetJob(bool train) {
  Session session({.seed = 1, .threads = 1});
  absl::StatusOr<JobFunction> job =
      jobs::BuildModelJob(session, "lenet", {.train = train, .batch_size = 4});
  FLOWRT_CHECK(job.ok()) << job.status();
  return CompiledJob::Job(*job);
}

TEST(Conv2dIntoMaxPool2dTest, TakesBothLenetConvolutionsOnceTheReluGradientReadsThePooledY) {
  flowrt::JobConf job = LenetJob(/*train=*/true);
  // Before the ReLU rewrite, each convolution's output is also read by its relu_grad.
  flowrt::JobConf unmoved = job;
  EXPECT_EQ(FuseConv2dIntoMaxPool2d(&unmoved), 0);
  ASSERT_EQ(MoveReluGradBeforeMaxPoolGrad(&job), 2);
  ASSERT_EQ(CountType(job, "conv2d"), 2);
  ASSERT_EQ(CountType(job, "max_pool2d"), 2);
  EXPECT_EQ(FuseConv2dIntoMaxPool2d(&job), 2);
  EXPECT_EQ(CountType(job, "conv2d"), 0);
  EXPECT_EQ(CountType(job, "max_pool2d"), 0);
  std::map<std::string, std::string> produced;
  std::vector<std::string> names;
  for (const flowrt::OpConf& op : job.op()) {
    for (const std::string& in : op.input()) {
      ASSERT_TRUE(produced.contains(in)) << op.name() << " reads " << in << " before it exists";
    }
    for (const std::string& out : op.output()) produced[out] = op.type();
    if (op.type() != "conv2d_max_pool2d") continue;
    names.push_back(op.name());
    ASSERT_EQ(op.input_size(), 3) << op.name() << ": x, weight, bias";
    ASSERT_EQ(op.output_size(), 2) << op.name() << ": the pooling's y and workspace";
    EXPECT_EQ(AttrString(op, "activation"), "relu") << op.name();
    EXPECT_EQ(AttrInts(op, "pool_ksize"), (std::vector<int64_t>{2, 2})) << op.name();
    EXPECT_EQ(AttrInts(op, "strides"), (std::vector<int64_t>{1, 1})) << op.name();
  }
  EXPECT_EQ(names, (std::vector<std::string>{"conv1", "conv2"}));
  EXPECT_EQ(FuseConv2dIntoMaxPool2d(&job), 0);  // nothing left to fuse
}

TEST(Conv2dIntoMaxPool2dTest, TakesAPredictJobsConvolutions) {
  flowrt::JobConf job = LenetJob(/*train=*/false);
  EXPECT_EQ(FuseConv2dIntoMaxPool2d(&job), 2);
}

TEST(Conv2dIntoMaxPool2dTest, LeavesAConvolutionWithAnotherReaderAlone) {
  flowrt::JobConf job = LenetJob(/*train=*/false);
  for (const flowrt::OpConf& op : job.op()) {
    if (op.type() == "conv2d") job.add_fetch(op.output(0));  // needed as it is
  }
  const std::string before = job.SerializeAsString();
  EXPECT_EQ(FuseConv2dIntoMaxPool2d(&job), 0);
  EXPECT_EQ(job.SerializeAsString(), before);
}

struct ConvPool {
  int64_t batch, channels, size, filters, kernel, pool, pool_stride;
  bool relu, bias;
  // > 0: the images first go through a conv2d of this many 5×5 filters (ReLU) and a 2×2 max
  // pooling (stride 2), whose blocked output the tested convolution reads — as LeNet's conv2 does
  // (and `size` is then that pooling's output size).
  int64_t first_filters = 0;
};

// images (batch, channels, size, size) → conv2d (filters, kernel × kernel, SAME, ReLU or none,
// bias or none) → max_pool2d (pool × pool, stride pool_stride, VALID) → Σ pooled · t, `steps` SGD
// steps with momentum; then the predict job's pooled output on new images. Returns the variables
// and that output (as "predicted").
std::map<std::string, Tensor> TrainConvPool(const ConvPool& c, int threads, bool fused,
                                            int steps = 3) {
  Session session({.seed = 7, .threads = threads, .rewrites = {.conv2d_into_max_pool2d = fused}});
  const int64_t pooled = (c.size - c.pool) / c.pool_stride + 1;
  const int64_t image = c.first_filters > 0 ? 2 * c.size : c.size;
  auto model = [&](Blob x) {
    if (c.first_filters > 0) {
      x = nn::max_pool2d(
          layers::conv2d(x, c.first_filters, {5, 5},
                         {.padding = "SAME", .activation = nn::relu, .name = "first"}),
          {2, 2}, {2, 2}, "VALID");
    }
    Blob y = layers::conv2d(x, c.filters, {c.kernel, c.kernel},
                            {.padding = "SAME",
                             .activation = c.relu ? nn::relu : nullptr,
                             .use_bias = c.bias,
                             .name = "conv"});
    return nn::max_pool2d(y, {c.pool, c.pool}, {c.pool_stride, c.pool_stride}, "VALID");
  };
  JobFunction train = global_function(
      session, "conv_pool", JobType::kTrain,
      [&](Blob x, Blob t) {
        Blob loss = math::reduce_sum(math::multiply(model(x), t));
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.01f}), {.momentum = 0.9f})
            .minimize(loss);
        return loss;
      },
      Placeholder({c.batch, c.channels, image, image}),
      Placeholder({c.batch, c.filters, pooled, pooled}));
  JobFunction predict = global_function(session, "conv_pool_predict", JobType::kPredict, model,
                                        Placeholder({c.batch, c.channels, image, image}));
  for (int step = 0; step < steps; ++step) {
    const absl::StatusOr<std::vector<Tensor>> out =
        train.Run({RandomTensor({c.batch, c.channels, image, image}, 10 + step),
                   RandomTensor({c.batch, c.filters, pooled, pooled}, 20 + step)});
    FLOWRT_CHECK(out.ok()) << out.status();
  }
  std::map<std::string, Tensor> variables;
  for (const auto& [name, t] : session.get_all_variables()) variables[name] = t.Clone();
  const absl::StatusOr<std::vector<Tensor>> predicted =
      predict.Run({RandomTensor({c.batch, c.channels, image, image}, 30)});
  FLOWRT_CHECK(predicted.ok()) << predicted.status();
  variables["predicted"] = (*predicted)[0].Clone();
  return variables;
}

TEST(Conv2dIntoMaxPool2dTest, TrainingAndInferenceAreBitIdenticalWithTheFusionOff) {
  for (const ConvPool& c : {
           // LeNet's conv1 + pool1, then conv1 + pool1 + conv2 + pool2 at batch 5
           ConvPool{5, 1, 28, 32, 5, 2, 2, true, true},
           ConvPool{5, 1, 14, 64, 5, 2, 2, true, true, /*first_filters=*/32},
           // 7×7: the last row and column are in no window; no ReLU, no bias
           ConvPool{3, 1, 7, 16, 3, 2, 2, false, false},
           // 3×3 windows, stride 2: they overlap, so the fallback (the two ops' kernels)
           ConvPool{2, 1, 9, 16, 3, 3, 2, true, true},
       }) {
    for (int threads : {1, 2}) {
      const std::string what =
          absl::StrCat("batch ", c.batch, ", ", c.channels, "×", c.size, "², ", c.filters,
                       " filters, pool ", c.pool, " stride ", c.pool_stride, ", threads ", threads);
      const auto fused = TrainConvPool(c, threads, true);
      const auto plain = TrainConvPool(c, threads, false);
      ASSERT_EQ(fused.size(), plain.size()) << what;
      for (const auto& [name, t] : fused) {
        EXPECT_TRUE(t.BitwiseEqual(plain.at(name))) << name << ", " << what;
      }
      // Each step moved the weights: the comparison is not between untouched copies.
      EXPECT_FALSE(
          fused.at("conv-weight")
              .BitwiseEqual(TrainConvPool(c, threads, true, /*steps=*/2).at("conv-weight")))
          << what;
    }
  }
}

TEST(Conv2dIntoMaxPool2dTest, FusedOpRefusesInputsThatDoNotFit) {
  flowrt::JobConf job = LenetJob(/*train=*/false);
  ASSERT_EQ(FuseConv2dIntoMaxPool2d(&job), 2);
  flowrt::OpConf op;
  for (const flowrt::OpConf& o : job.op()) {
    if (o.name() == "conv1") op = o;
  }
  ASSERT_EQ(op.type(), "conv2d_max_pool2d");
  auto shapes = [](const flowrt::OpConf& op, std::vector<BlobDesc> inputs) {
    return FindOp("conv2d_max_pool2d")->shape_fn(ShapeContext{op, std::move(inputs)});
  };
  const BlobDesc x{Shape({4, 1, 28, 28}), kFloat}, w{Shape({32, 1, 5, 5}), kFloat},
      b{Shape({32}), kFloat};
  absl::StatusOr<std::vector<BlobDesc>> good = shapes(op, {x, w, b});
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ((*good)[0].shape, Shape({4, 32, 14, 14}));
  EXPECT_EQ((*good)[1].dtype, kUInt8);

  struct Bad {
    std::vector<BlobDesc> inputs;
    const char* says;
  };
  for (const Bad& bad : {Bad{{{Shape({4, 2, 28, 28}), kFloat}, w, b}, "has 2 channels"},
                         Bad{{x, w, {Shape({31}), kFloat}}, "input 'bias' (31,)"},
                         Bad{{{Shape({4, 1, 28}), kFloat}, w, b}, "must have rank 4"}}) {
    absl::StatusOr<std::vector<BlobDesc>> refused = shapes(op, bad.inputs);
    ASSERT_FALSE(refused.ok()) << bad.says;
    const std::string message(refused.status().message());
    EXPECT_TRUE(absl::StrContains(message, bad.says)) << message;
    EXPECT_TRUE(absl::StrContains(message, "'conv1/conv2d'")) << message;
  }
  flowrt::OpConf missing = op;
  missing.mutable_attr()->erase("pool_strides");
  absl::StatusOr<std::vector<BlobDesc>> refused = shapes(missing, {x, w, b});
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "attr pool_strides is missing"))
      << refused.status();
  // A pooling window larger than the convolution's output: the pooling part refuses.
  flowrt::OpConf big = op;
  (*big.mutable_attr())["pool_ksize"] = MakeAttr(std::vector<int64_t>{30, 30});
  refused = shapes(big, {x, w, b});
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "'conv1/max_pool2d'"))
      << refused.status();
}

}  // namespace
}  // namespace flow
