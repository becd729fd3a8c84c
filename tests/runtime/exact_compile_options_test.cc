// Every compile-time optimization (the executor's, the graph's rewrites) is exact: LeNet training
// (dropout, momentum, both conv chains) gives bit-identical variables with each of them switched
// off.
#include <gtest/gtest.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "framework/op_registry.h"
#include "graph/compiled_job.h"
#include "graph/flow.h"
#include "graph/passes/exact_rewrites.h"
#include "graph/passes/sgd_update_into_dense_grad_weight.h"
#include "jobs/model_jobs.h"
#include "runtime/executor.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

constexpr int kBatch = 8;

// Runs 3 LeNet training steps (SGD with `momentum`) from the session's initial variables with an
// executor built with `options` on the job after the graph rewrites `rewrites` keeps on, and
// returns the variables afterwards.
std::map<std::string, Tensor> TrainLenet(int threads, const ExecutorOptions& options,
                                         const ExactRewrites& rewrites = {},
                                         float momentum = 0.9f) {
  Session session({.seed = 5, .threads = threads});
  absl::StatusOr<JobFunction> job = jobs::BuildModelJob(
      session, "lenet",
      {.train = true, .batch_size = kBatch, .momentum = momentum, .dropout = 0.5f});
  FLOWRT_CHECK(job.ok()) << job.status();
  std::map<std::string, Tensor> variables;
  for (const auto& [name, t] : session.get_all_variables()) variables[name] = t.Clone();
  flowrt::JobConf runnable = CompiledJob::Job(*job);
  // Both conv chains match each ReLU rewrite that is on; both dense layers the SGD fusion, when
  // plain SGD (no momentum) updates their weights; conv1 the pooling-gradient fusion; both
  // convolutions the conv/pooling fusion once their ReLU's gradient reads the pooled y.
  EXPECT_EQ(RunExactRewrites(rewrites, &runnable),
            2 * (rewrites.relu_grad_before_max_pool_grad + rewrites.relu_grad_into_max_pool_grad +
                 (rewrites.sgd_update_into_dense_grad_weight && momentum == 0 &&
                  SgdUpdateIntoDenseGradWeightPays()) +
                 (rewrites.conv2d_into_max_pool2d && rewrites.relu_grad_before_max_pool_grad)) +
                rewrites.max_pool_grad_into_conv_grad_weight);
  absl::StatusOr<std::unique_ptr<Executor>> executor = Executor::Create(
      runnable, FindKernelDef,
      [&](const std::string& name) {
        auto it = variables.find(name);
        return it == variables.end() ? nullptr : &it->second;
      },
      options);
  FLOWRT_CHECK(executor.ok()) << executor.status();
  Tensor labels(Shape({kBatch}), kInt32);
  for (int i = 0; i < kBatch; ++i) labels.data<int32_t>()[i] = (i * 7) % 10;
  for (int step = 0; step < 3; ++step) {
    const Tensor images = testing::RandomTensor({kBatch, 1, 28, 28}, 100 + step);
    const absl::Status status = (*executor)->Run({images, labels});
    FLOWRT_CHECK(status.ok()) << status;
  }
  return variables;
}

void ExpectBitIdentical(const std::map<std::string, Tensor>& a,
                        const std::map<std::string, Tensor>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) EXPECT_TRUE(t.BitwiseEqual(b.at(name))) << name << ", " << what;
}

TEST(ExactCompileOptionsTest, LenetTrainingIsBitIdenticalWithEachOptimizationOff) {
  for (int threads : {1, 2}) {
    const ExecutorOptions all{.threads = threads, .seed = 5};
    const std::map<std::string, Tensor> optimized = TrainLenet(threads, all);
    ExecutorOptions plain = all;
    plain.blocked_layouts = false;
    ExpectBitIdentical(optimized, TrainLenet(threads, plain),
                       absl::StrCat("blocked layouts off, threads ", threads));
    ExpectBitIdentical(optimized, TrainLenet(threads, all, {.relu_grad_into_max_pool_grad = false}),
                       absl::StrCat("relu_grad/max-pool gradient fusion off, threads ", threads));
    ExpectBitIdentical(
        optimized, TrainLenet(threads, all, {.max_pool_grad_into_conv_grad_weight = false}),
        absl::StrCat("max-pool gradient/conv1 weight-gradient fusion off, threads ", threads));
    ExpectBitIdentical(optimized,
                       TrainLenet(threads, all,
                                  {.relu_grad_before_max_pool_grad = false,
                                   .relu_grad_into_max_pool_grad = false,
                                   .max_pool_grad_into_conv_grad_weight = false,
                                   .conv2d_into_max_pool2d = false}),
                       absl::StrCat("job rewrites off, threads ", threads));
    // Training really moved the weights (the comparison is not between untouched copies).
    Session session({.seed = 5, .threads = threads});
    ASSERT_TRUE(jobs::BuildModelJob(session, "lenet", {.train = true, .batch_size = kBatch}).ok());
    EXPECT_FALSE(
        optimized.at("conv1-weight").BitwiseEqual(session.get_all_variables().at("conv1-weight")));
  }
}

// Plain SGD, where the dense layers' weight updates are fused into their gradient GEMMs: LeNet's
// dense1 (8·3136·512 multiply-adds) runs on the register tiles on AVX-512, dense2 on sgemm.
TEST(ExactCompileOptionsTest, PlainSgdLenetTrainingIsBitIdenticalWithTheSgdFusionOff) {
  if (!SgdUpdateIntoDenseGradWeightPays()) {
    GTEST_SKIP() << "the session applies the fusion where oneDNN dispatches to AVX-512 only";
  }
  for (int threads : {1, 2}) {
    const ExecutorOptions all{.threads = threads, .seed = 5};
    ExpectBitIdentical(TrainLenet(threads, all, {}, /*momentum=*/0),
                       TrainLenet(threads, all, {.sgd_update_into_dense_grad_weight = false}, 0),
                       absl::StrCat("SGD/dense weight-gradient fusion off, threads ", threads));
  }
}

}  // namespace
}  // namespace flow
