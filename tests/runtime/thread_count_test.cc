// What the thread count changes in a training step of LeNet and of the MLP:
//  - nothing: 1, 2 and 3 threads give the same bits (the convolutions' weight gradients sum in 16
//    chunks of images whatever the thread count, the convolutions compute each image alone, the
//    dense GEMMs are cut into chunks of whole columns; ops/conv2d.cc, ops/dense.cc);
//  - with ExecutorOptions::adapt_threads, each step runs exactly what an executor fixed at that
//    step's thread count runs. On a machine that preempts the process (a counter of the test's
//    own), the governor's first 12 steps do not depend on time (6 at all threads, then a 6-step
//    probe of 1 thread; runtime/thread_governor.h), so two fixed executors sharing one set of
//    variables can replay them. On a quiet one it never runs 1 thread.
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "framework/op_registry.h"
#include "graph/compiled_job.h"
#include "graph/flow.h"
#include "graph/passes/exact_rewrites.h"
#include "jobs/model_jobs.h"
#include "runtime/executor.h"
#include "runtime/team_pinning.h"
#include "tests/testing/gradcheck.h"
#include "tests/testing/thread_cpus.h"

namespace flow {
namespace {

// Large enough that the dense GEMMs of both models are shared out (ops/dense.cc: from 2^22
// multiply-adds) and the convolutions run in chunks of 2 images.
constexpr int kBatch = 32;
constexpr int kProbeSteps = ThreadGovernor::kSkip + ThreadGovernor::kWindow;
constexpr int kPinnedSteps = ThreadGovernor::kSkip + ThreadGovernor::kPinnedWindow;

using Variables = std::map<std::string, Tensor>;

class ThreadCountTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    Session session({.seed = 5, .threads = 2});
    absl::StatusOr<JobFunction> job = jobs::BuildModelJob(
        session, GetParam(),
        {.train = true, .batch_size = kBatch, .momentum = 0.9f, .dropout = 0.5f});
    ASSERT_TRUE(job.ok()) << job.status();
    for (const auto& [name, t] : session.get_all_variables()) initial_[name] = t.Clone();
    job_ = CompiledJob::Job(*job);
    RunExactRewrites({}, &job_);
  }

  Variables Copy() const {
    Variables copy;
    for (const auto& [name, t] : initial_) copy[name] = t.Clone();
    return copy;
  }

  // With adapt, `usage` says what the process has used so far.
  std::unique_ptr<Executor> Create(Variables& variables, int threads, bool adapt,
                                   std::function<ThreadGovernor::Usage()> usage = nullptr) {
    absl::StatusOr<std::unique_ptr<Executor>> executor = Executor::Create(
        job_, FindKernelDef,
        [&variables](const std::string& name) {
          auto it = variables.find(name);
          return it == variables.end() ? nullptr : &it->second;
        },
        {.threads = threads, .seed = 5, .adapt_threads = adapt, .usage = std::move(usage)});
    EXPECT_TRUE(executor.ok()) << executor.status();
    return executor.ok() ? *std::move(executor) : nullptr;
  }

  // Step `step`'s feeds.
  static std::vector<Tensor> Feeds(int step) {
    Tensor labels(Shape({kBatch}), kInt32);
    for (int i = 0; i < kBatch; ++i) labels.data<int32_t>()[i] = (i * 7 + step) % 10;
    return {testing::RandomTensor({kBatch, 1, 28, 28}, 100 + step), labels};
  }

  static void ExpectBitIdentical(const Variables& a, const Variables& b) {
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [name, t] : a) EXPECT_TRUE(t.BitwiseEqual(b.at(name))) << name;
  }

  Variables initial_;
  flowrt::JobConf job_;
};

TEST_P(ThreadCountTest, AdaptiveStepsRunTheKernelsOfTheirThreadCount) {
  Variables adaptive_vars = Copy(), replay_vars = Copy();
  // A shared machine: 1000 preemptions more at every look, and no CPU time; and a step all in
  // SpeculativeChunks loops (a second more at every look), so that chunks-only is probed.
  std::unique_ptr<Executor> adaptive =
      Create(adaptive_vars, 2, /*adapt=*/true, [n = int64_t{0}, chunks = 0.0]() mutable {
        return ThreadGovernor::Usage{n += 1000, 0.0, chunks += 1.0};
      });
  std::unique_ptr<Executor> two = Create(replay_vars, 2, false);
  std::unique_ptr<Executor> one = Create(replay_vars, 1, false);
  ASSERT_TRUE(adaptive && two && one);
  ASSERT_NE(adaptive->governor(), nullptr);
  // A window at 2 threads; where the threads can be pinned, a (longer) window pinned and a probe
  // of chunks-only (2 threads' kernels, OpenMP on one); then a probe of 1.
  const bool pins = adaptive->governor()->can_pin();
  const int window = pins ? kPinnedSteps : kProbeSteps;
  const int at_two = pins ? kProbeSteps + 2 * kPinnedSteps : kProbeSteps;
  const int chunks_only_from = pins ? kProbeSteps + kPinnedSteps : at_two;
  for (int step = 0; step < at_two + window; ++step) {
    const std::vector<Tensor> feeds = Feeds(step);
    const bool chunks_only = step >= chunks_only_from && step < at_two;
    EXPECT_EQ(adaptive->governor()->chunks_only(), chunks_only) << "step " << step;
    ASSERT_TRUE(adaptive->Run(feeds).ok());
    const int expected = step < at_two ? 2 : 1;
    EXPECT_EQ(adaptive->last_threads(), expected) << "step " << step;
    ASSERT_TRUE((expected == 2 ? two : one)->Run(feeds).ok());
  }
  ExpectBitIdentical(adaptive_vars, replay_vars);
  EXPECT_EQ(adaptive->governor()->steps_at(1), window);
  EXPECT_EQ(adaptive->governor()->steps_at(2), at_two);
  EXPECT_EQ(adaptive->governor()->steps_chunks_only(), at_two - chunks_only_from);
  EXPECT_EQ(adaptive->governor()->pinned(), pins);
}

TEST_P(ThreadCountTest, AdaptiveStepsStayOnAllThreadsOnAQuietMachine) {
  Variables vars = Copy();
  // Never preempted, and 100 CPU seconds more at every look: both threads busy all the time.
  std::unique_ptr<Executor> adaptive = Create(vars, 2, /*adapt=*/true, [cpu = 0.0]() mutable {
    return ThreadGovernor::Usage{0, cpu += 100};
  });
  ASSERT_TRUE(adaptive);
  for (int step = 0; step < 3 * kProbeSteps; ++step) {
    ASSERT_TRUE(adaptive->Run(Feeds(step)).ok());
    EXPECT_EQ(adaptive->last_threads(), 2) << "step " << step;
  }
  EXPECT_EQ(adaptive->governor()->steps_at(1), 0);
}

TEST_P(ThreadCountTest, AOneThreadStepUnpinsWhatAnotherJobsGovernorPinned) {
  TeamPinning::Process().Unpin();  // whatever an earlier test in this process left
  const cpu_set_t before = testing::ThreadCpus();
  Variables vars = Copy(), other_vars = Copy();
  std::unique_ptr<Executor> adaptive = Create(vars, 2, /*adapt=*/true, [n = int64_t{0}]() mutable {
    return ThreadGovernor::Usage{n += 1000, 0.0};
  });
  ASSERT_TRUE(adaptive);
  if (!adaptive->governor()->can_pin()) GTEST_SKIP() << "fewer than 2 CPUs, or a user binding";
  // Its first window finds the machine shared; the next step runs pinned.
  for (int step = 0; step <= kProbeSteps; ++step) ASSERT_TRUE(adaptive->Run(Feeds(step)).ok());
  ASSERT_TRUE(adaptive->governor()->pinned());
  const cpu_set_t pinned = testing::ThreadCpus();
  EXPECT_EQ(CPU_COUNT(&pinned), 1);
  std::unique_ptr<Executor> one = Create(other_vars, 1, false);
  ASSERT_TRUE(one && one->Run(Feeds(0)).ok());
  const cpu_set_t after = testing::ThreadCpus();
  EXPECT_TRUE(CPU_EQUAL(&before, &after));
}

TEST_P(ThreadCountTest, OneTwoAndThreeThreadsGiveTheSameBits) {
  Variables one_vars = Copy(), two_vars = Copy(), three_vars = Copy();
  std::unique_ptr<Executor> one = Create(one_vars, 1, false);
  std::unique_ptr<Executor> two = Create(two_vars, 2, false);
  std::unique_ptr<Executor> three = Create(three_vars, 3, false);
  ASSERT_TRUE(one && two && three);
  for (int step = 0; step < 4; ++step) {
    ASSERT_TRUE(one->Run(Feeds(step)).ok());
    ASSERT_TRUE(two->Run(Feeds(step)).ok());
    ASSERT_TRUE(three->Run(Feeds(step)).ok());
  }
  ExpectBitIdentical(one_vars, two_vars);
  ExpectBitIdentical(one_vars, three_vars);
}

TEST_P(ThreadCountTest, OffOrOneThreadHasNoGovernor) {
  Variables vars = Copy();
  EXPECT_EQ(Create(vars, 2, false)->governor(), nullptr);
  EXPECT_EQ(Create(vars, 1, true)->governor(), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Models, ThreadCountTest, ::testing::Values("lenet", "mlp"));

}  // namespace
}  // namespace flow
