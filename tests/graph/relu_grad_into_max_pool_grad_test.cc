// The relu_grad → max_pool2d_grad fusion (graph/passes/relu_grad_into_max_pool_grad.h) on LeNet's
// train job; tests/runtime/exact_compile_options_test.cc shows it changes no bit of training and
// tests/ops/pooling_test.cc checks the fused gradient numerically.
#include "graph/passes/relu_grad_into_max_pool_grad.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "graph/compiled_job.h"
#include "graph/flow.h"
#include "graph/passes/relu_grad_before_max_pool_grad.h"
#include "jobs/model_jobs.h"
#include "tests/testing/job_ops.h"

namespace flow {
namespace {

using testing::CountType;

// LeNet's train job with the relu_grads moved onto the pooled gradients (the fusion's input).
flowrt::JobConf SwappedLenetTrainJob() {
  Session session({.seed = 1, .threads = 1});
  absl::StatusOr<JobFunction> job =
      jobs::BuildModelJob(session, "lenet", {.train = true, .batch_size = 4});
  FLOWRT_CHECK(job.ok()) << job.status();
  flowrt::JobConf conf = CompiledJob::Job(*job);
  FLOWRT_CHECK(MoveReluGradBeforeMaxPoolGrad(&conf) == 2);
  return conf;
}

TEST(ReluGradIntoMaxPoolGradTest, BothLenetPoolGradientsTakeTheirReluMask) {
  flowrt::JobConf job = SwappedLenetTrainJob();
  const int relu_grads = CountType(job, "relu_grad");
  EXPECT_EQ(FuseReluGradIntoMaxPoolGrad(&job), 2);
  EXPECT_EQ(CountType(job, "relu_grad"), relu_grads - 2);
  std::map<std::string, std::string> produced;
  int fused = 0;
  for (const flowrt::OpConf& op : job.op()) {
    for (const std::string& in : op.input()) {
      ASSERT_TRUE(produced.contains(in)) << op.name() << " reads " << in << " before it exists";
    }
    for (const std::string& out : op.output()) produced[out] = op.type();
    if (op.type() != "max_pool2d_grad") continue;
    ASSERT_EQ(op.input_size(), 3) << op.name();
    EXPECT_EQ(produced.at(op.input(2)), "max_pool2d") << op.name() << ": relu_y is the pooled y";
    ++fused;
  }
  EXPECT_EQ(fused, 2);
  EXPECT_EQ(FuseReluGradIntoMaxPoolGrad(&job), 0);  // nothing left to fuse
}

TEST(ReluGradIntoMaxPoolGradTest, LeavesAMaskWithAnotherReaderAlone) {
  flowrt::JobConf job = SwappedLenetTrainJob();
  std::string mask;
  for (const flowrt::OpConf& op : job.op()) {
    if (op.type() == "max_pool2d_grad" && mask.empty()) mask = op.input(0);
  }
  ASSERT_FALSE(mask.empty());
  job.add_fetch(mask);  // the masked gradient is needed as it is: only the other pool fuses
  const int relu_grads = CountType(job, "relu_grad");
  EXPECT_EQ(FuseReluGradIntoMaxPoolGrad(&job), 1);
  EXPECT_EQ(CountType(job, "relu_grad"), relu_grads - 1);
}

}  // namespace
}  // namespace flow
