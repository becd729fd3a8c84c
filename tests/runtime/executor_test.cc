// The executor: memory reuse does not change results, and a compiled training step does not
// allocate.
#include "runtime/executor.h"

#include <gtest/gtest.h>

#include "graph/compiled_job.h"
#include "graph/flow.h"
#include "tests/testing/gradcheck.h"
#include "tests/testing/malloc_counter.h"

namespace flow {
namespace {

JobFunction MakeMlpTrainJob(Session& session) {
  return global_function(
      session, "train_job", JobType::kTrain,
      [](Blob x, Blob labels) {
        auto init = truncated_normal(0.1);
        Blob h = layers::dense(
            x, 64, {.activation = nn::relu, .kernel_initializer = init, .name = "dense1"});
        Blob h2 = layers::dense(
            h, 32, {.activation = nn::relu, .kernel_initializer = init, .name = "dense2"});
        Blob logits = layers::dense(h2, 10, {.kernel_initializer = init, .name = "dense3"});
        Blob loss = nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.1f}), {.momentum = 0.9f})
            .minimize(loss);
        return loss;
      },
      Placeholder({32, 20}), Placeholder({32}, kInt32));
}

Tensor Labels(int n) {
  Tensor t(Shape({n}), kInt32);
  for (int i = 0; i < n; ++i) t.data<int32_t>()[i] = (i * 3) % 10;
  return t;
}

TEST(ExecutorTest, MemoryReuseOnAndOffGiveBitIdenticalTraining) {
  std::vector<std::map<std::string, Tensor>> results;
  std::vector<int64_t> arena_bytes;
  for (bool reuse : {true, false}) {
    Session session({.seed = 11, .threads = 1, .reuse_memory = reuse});
    JobFunction job = MakeMlpTrainJob(session);
    for (int step = 0; step < 5; ++step) {
      ASSERT_TRUE(job.Run({testing::RandomTensor({32, 20}, step), Labels(32)}).ok());
    }
    arena_bytes.push_back(CompiledJob::GetExecutor(job).arena_bytes());
    std::map<std::string, Tensor> copy;
    for (const auto& [name, t] : session.get_all_variables()) copy[name] = t.Clone();
    results.push_back(copy);
  }
  EXPECT_LT(arena_bytes[0], arena_bytes[1]);  // reuse really shared something
  for (const auto& [name, t] : results[0]) EXPECT_TRUE(t.BitwiseEqual(results[1].at(name))) << name;
}

TEST(ExecutorTest, TrainingStepDoesNotAllocateAfterTheFirstCall) {
  if (!testing::kMallocCounting) GTEST_SKIP() << "malloc interposition is unavailable here";
  Session session({.seed = 1, .threads = 2});
  JobFunction job = MakeMlpTrainJob(session);
  const Tensor x = testing::RandomTensor({32, 20}, 1);
  const Tensor labels = Labels(32);
  const Tensor feeds[] = {x, labels};
  ASSERT_TRUE(job.RunInPlace(feeds).ok());  // compiles, warms oneDNN's caches
  ASSERT_TRUE(job.RunInPlace(feeds).ok());
  absl::Status status;
  int64_t allocations;
  {
    testing::MallocCounter counter;
    for (int i = 0; i < 10; ++i) status.Update(job.RunInPlace(feeds));
    allocations = counter.allocations();
  }
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(allocations, 0) << "heap allocations in 10 training steps";
}

}  // namespace
}  // namespace flow
