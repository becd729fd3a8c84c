// The relu_grad / max_pool2d_grad swap (runtime/relu_grad_before_max_pool_grad.h) on LeNet's
// train job; tests/runtime/exact_compile_options_test.cc shows it changes no bit of training.
#include "graph/passes/relu_grad_before_max_pool_grad.h"

#include <gtest/gtest.h>

#include "graph/compiled_job.h"
#include "graph/flow.h"
#include "jobs/model_jobs.h"

namespace flow {
namespace {

flowrt::JobConf LenetTrainJob() {
  Session session({.seed = 1, .threads = 1});
  absl::StatusOr<JobFunction> job =
      jobs::BuildModelJob(session, "lenet", {.train = true, .batch_size = 4});
  FLOWRT_CHECK(job.ok()) << job.status();
  return CompiledJob::Job(*job);
}

TEST(ReluGradBeforeMaxPoolGradTest, BothLenetConvReluGradsMoveToThePooledGradient) {
  flowrt::JobConf job = LenetTrainJob();
  const int ops_before = job.op_size();
  EXPECT_EQ(MoveReluGradBeforeMaxPoolGrad(&job), 2);
  EXPECT_EQ(job.op_size(), ops_before);  // a swap: one relu_grad and one pool gradient each
  std::map<std::string, std::string> producer_type;
  for (const flowrt::OpConf& op : job.op()) {
    for (const std::string& out : op.output()) producer_type[out] = op.type();
  }
  int routed = 0;
  for (const flowrt::OpConf& op : job.op()) {
    for (const std::string& in : op.input()) {
      ASSERT_TRUE(producer_type.contains(in))
          << op.name() << " reads " << in << " before it exists";
    }
    if (op.type() != "max_pool2d_grad") continue;
    EXPECT_EQ(producer_type.at(op.input(0)), "relu_grad") << op.name();
    ++routed;
  }
  EXPECT_EQ(routed, 2);
  EXPECT_EQ(MoveReluGradBeforeMaxPoolGrad(&job), 0);  // nothing left to rewrite
}

TEST(ReluGradBeforeMaxPoolGradTest, LeavesAPoolGradientWithAnotherReaderAlone) {
  flowrt::JobConf job = LenetTrainJob();
  std::string pool2_dx;
  for (const flowrt::OpConf& op : job.op()) {
    if (op.type() == "max_pool2d_grad" && pool2_dx.empty()) pool2_dx = op.output(0);
  }
  // Ops are in execution order, so the first pool gradient is pool2's; fetch it: the full-size
  // gradient is then needed as it is, and only pool1's pattern may be rewritten.
  ASSERT_FALSE(pool2_dx.empty());
  job.add_fetch(pool2_dx);
  EXPECT_EQ(MoveReluGradBeforeMaxPoolGrad(&job), 1);
  bool still_produced = false;
  for (const flowrt::OpConf& op : job.op()) {
    for (const std::string& out : op.output()) still_produced |= out == pool2_dx;
  }
  EXPECT_TRUE(still_produced);
}

}  // namespace
}  // namespace flow
