// The max_pool2d_grad → conv2d_grad_weight fusion
// (graph/passes/max_pool_grad_into_conv_grad_weight.h): which convolutions it takes on LeNet, where
// it puts the fused op, and that training gives the bits of the unfused job — on the fused kernel
// (the pooling gradient made image by image in the cache; LeNet's geometry, odd sizes whose last
// row no window covers, with and without the ReLU mask) and on its fallback (pooling windows that
// overlap, input channels the direct kernel does not take).
// tests/runtime/exact_compile_options_test.cc checks LeNet's training too; the fused op refusing
// inputs that do not fit is checked here.
#include "graph/passes/max_pool_grad_into_conv_grad_weight.h"

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
#include "graph/passes/relu_grad_into_max_pool_grad.h"
#include "jobs/model_jobs.h"
#include "tests/testing/gradcheck.h"
#include "tests/testing/job_ops.h"

namespace flow {
namespace {

using testing::CountType;
using testing::RandomTensor;

// LeNet's train job after the ReLU rewrites, as RunExactRewrites has it before this pass.
flowrt::JobConf LenetTrainJob() {
  Session session({.seed = 1, .threads = 1});
  absl::StatusOr<JobFunction> job =
      jobs::BuildModelJob(session, "lenet", {.train = true, .batch_size = 4});
  FLOWRT_CHECK(job.ok()) << job.status();
  flowrt::JobConf conf = CompiledJob::Job(*job);
  FLOWRT_CHECK(MoveReluGradBeforeMaxPoolGrad(&conf) == 2);
  FLOWRT_CHECK(FuseReluGradIntoMaxPoolGrad(&conf) == 2);
  return conf;
}

TEST(MaxPoolGradIntoConvGradWeightTest, TakesConv1OnlyOnLenet) {
  flowrt::JobConf job = LenetTrainJob();
  ASSERT_EQ(CountType(job, "max_pool2d_grad"), 2);
  ASSERT_EQ(CountType(job, "conv2d_grad_weight"), 2);
  // conv1 reads the images (no input gradient), so its pooling gradient feeds its weight gradient
  // only; conv2's also feeds conv2d_grad_data, which needs it written out.
  EXPECT_EQ(FuseMaxPoolGradIntoConvGradWeight(&job), 1);
  EXPECT_EQ(CountType(job, "max_pool2d_grad"), 1);
  EXPECT_EQ(CountType(job, "conv2d_grad_weight"), 1);
  std::map<std::string, std::string> produced;
  int fused = 0;
  for (const flowrt::OpConf& op : job.op()) {
    for (const std::string& in : op.input()) {
      ASSERT_TRUE(produced.contains(in)) << op.name() << " reads " << in << " before it exists";
    }
    for (const std::string& out : op.output()) produced[out] = op.type();
    if (op.type() != "max_pool2d_grad_conv2d_grad_weight") continue;
    ++fused;
    ASSERT_EQ(op.input_size(), 4) << op.name();
    EXPECT_EQ(produced.at(op.input(1)), "max_pool2d") << "input 1 is pool1's workspace";
    EXPECT_EQ(produced.at(op.input(2)), "input") << "input 2 is conv1's input, the images";
    EXPECT_EQ(produced.at(op.input(3)), "max_pool2d") << "input 3 is relu_y, pool1's output";
    EXPECT_EQ(AttrInts(op, "pool_ksize"), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(AttrInts(op, "pool_x_shape"), (std::vector<int64_t>{4, 32, 28, 28}));
    EXPECT_EQ(AttrInts(op, "weight_shape"), (std::vector<int64_t>{32, 1, 5, 5}));
  }
  EXPECT_EQ(fused, 1);
  EXPECT_EQ(FuseMaxPoolGradIntoConvGradWeight(&job), 0);  // nothing left to fuse
}

TEST(MaxPoolGradIntoConvGradWeightTest, LeavesAPoolingGradientWithAnotherReaderAlone) {
  flowrt::JobConf job = LenetTrainJob();
  for (const flowrt::OpConf& op : job.op()) {
    if (op.type() == "max_pool2d_grad") job.add_fetch(op.output(0));  // needed as it is
  }
  const std::string before = job.SerializeAsString();
  EXPECT_EQ(FuseMaxPoolGradIntoConvGradWeight(&job), 0);
  EXPECT_EQ(job.SerializeAsString(), before);
}

struct ConvPool {
  int64_t batch, channels, size, filters, kernel, pool, pool_stride;
  bool relu;
};

// images (batch, channels, size, size) → conv2d (filters, kernel × kernel, SAME, ReLU or none)
// → max_pool2d (pool × pool, stride pool_stride, VALID) → Σ pooled · t, `steps` SGD steps with
// momentum. Returns the variables.
std::map<std::string, Tensor> TrainConvPool(const ConvPool& c, int threads, bool fused,
                                            int steps = 3) {
  Session session(
      {.seed = 7, .threads = threads, .rewrites = {.max_pool_grad_into_conv_grad_weight = fused}});
  const int64_t pooled = (c.size - c.pool) / c.pool_stride + 1;
  JobFunction job = global_function(
      session, "conv_pool", JobType::kTrain,
      [&](Blob x, Blob t) {
        Blob y = layers::conv2d(
            x, c.filters, {c.kernel, c.kernel},
            {.padding = "SAME", .activation = c.relu ? nn::relu : nullptr, .name = "conv"});
        Blob p = nn::max_pool2d(y, {c.pool, c.pool}, {c.pool_stride, c.pool_stride}, "VALID");
        Blob loss = math::reduce_sum(math::multiply(p, t));
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.01f}), {.momentum = 0.9f})
            .minimize(loss);
        return loss;
      },
      Placeholder({c.batch, c.channels, c.size, c.size}),
      Placeholder({c.batch, c.filters, pooled, pooled}));
  for (int step = 0; step < steps; ++step) {
    const absl::StatusOr<std::vector<Tensor>> out =
        job.Run({RandomTensor({c.batch, c.channels, c.size, c.size}, 10 + step),
                 RandomTensor({c.batch, c.filters, pooled, pooled}, 20 + step)});
    FLOWRT_CHECK(out.ok()) << out.status();
  }
  std::map<std::string, Tensor> variables;
  for (const auto& [name, t] : session.get_all_variables()) variables[name] = t.Clone();
  return variables;
}

TEST(MaxPoolGradIntoConvGradWeightTest, TrainingIsBitIdenticalWithTheFusionOff) {
  for (const ConvPool& c : {
           // LeNet's conv1 and pool1 at batch 5 (the fused kernel wherever AVX2 is there)
           ConvPool{5, 1, 28, 32, 5, 2, 2, true},
           // 7×7: the last row and column are in no window (their gradient is 0); no ReLU mask
           ConvPool{3, 1, 7, 16, 3, 2, 2, false},
           // 3×3 windows, stride 2: they overlap, so the fallback (the two ops' kernels)
           ConvPool{2, 1, 9, 16, 3, 3, 2, true},
           // 3 input channels: not the direct kernel's on AVX-512, the fallback there
           ConvPool{2, 3, 8, 16, 3, 2, 2, true},
       }) {
    for (int threads : {1, 2}) {
      const std::string what =
          absl::StrCat("batch ", c.batch, ", ", c.channels, "×", c.size, "²,", c.filters,
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

// The fused op as the pass writes it, with its inputs' descs: LeNet's conv1 at batch 4.
flowrt::OpConf FusedOp() {
  flowrt::JobConf job = LenetTrainJob();
  FLOWRT_CHECK(FuseMaxPoolGradIntoConvGradWeight(&job) == 1);
  for (const flowrt::OpConf& op : job.op()) {
    if (op.type() == "max_pool2d_grad_conv2d_grad_weight") return op;
  }
  FLOWRT_CHECK(false);
  return {};
}

absl::StatusOr<std::vector<BlobDesc>> FusedShape(const flowrt::OpConf& op,
                                                 std::vector<BlobDesc> inputs) {
  return FindOp("max_pool2d_grad_conv2d_grad_weight")->shape_fn(ShapeContext{op, inputs});
}

TEST(MaxPoolGradIntoConvGradWeightTest, FusedOpRefusesInputsThatDoNotFit) {
  const flowrt::OpConf op = FusedOp();
  const BlobDesc dy{Shape({4, 32, 14, 14}), kFloat}, x{Shape({4, 1, 28, 28}), kFloat};
  // The workspace's size is oneDNN's on this machine: take it from the forward op's shape.
  flowrt::OpConf pool;
  pool.set_name("pool1");
  pool.set_type("max_pool2d");
  for (const char* a : {"ksize", "strides", "pad_before", "pad_after"}) {
    (*pool.mutable_attr())[a] = op.attr().at(absl::StrCat("pool_", a));
  }
  absl::StatusOr<std::vector<BlobDesc>> forward =
      FindOp("max_pool2d")->shape_fn(ShapeContext{pool, {{Shape({4, 32, 28, 28}), kFloat}}});
  ASSERT_TRUE(forward.ok()) << forward.status();
  const BlobDesc workspace = (*forward)[1];

  absl::StatusOr<std::vector<BlobDesc>> good = FusedShape(op, {dy, workspace, x, dy});
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ((*good)[0].shape, Shape({32, 1, 5, 5}));
  EXPECT_EQ((*good)[1].shape, Shape({32}));

  struct Bad {
    std::vector<BlobDesc> inputs;
    const char* says;
  };
  const BlobDesc wrong_dy{Shape({4, 32, 13, 14}), kFloat};
  const BlobDesc wrong_x{Shape({4, 2, 28, 28}), kFloat};
  const BlobDesc wrong_workspace{Shape({7}), kUInt8};
  for (const Bad& bad : {Bad{{wrong_dy, workspace, x, dy}, "input 'dy' has shape (4, 32, 13, 14)"},
                         Bad{{dy, wrong_workspace, x, dy}, "input 'workspace'"},
                         Bad{{dy, workspace, x, wrong_dy}, "input 'relu_y'"},
                         Bad{{dy, workspace, wrong_x, dy}, "(4, 2, 28, 28)"}}) {
    absl::StatusOr<std::vector<BlobDesc>> shapes = FusedShape(op, bad.inputs);
    ASSERT_FALSE(shapes.ok()) << bad.says;
    const std::string message(shapes.status().message());
    EXPECT_TRUE(absl::StrContains(message, bad.says)) << message;
    EXPECT_TRUE(absl::StrContains(message, op.name())) << message;
  }
  flowrt::OpConf missing = op;
  missing.mutable_attr()->erase("pool_ksize");
  absl::StatusOr<std::vector<BlobDesc>> shapes = FusedShape(missing, {dy, workspace, x, dy});
  ASSERT_FALSE(shapes.ok());
  EXPECT_TRUE(absl::StrContains(shapes.status().message(), "attr pool_ksize is missing"))
      << shapes.status();
}

}  // namespace
}  // namespace flow
