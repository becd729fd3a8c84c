// The predictor: any batch size gives the rows batch 100 gives, concurrent calls give the serial
// results, a warmed-up call does not allocate, user-written bodies and snapshots on disk load.
#include "graph/predictor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "graph/checkpoint.h"
#include "graph/flow.h"
#include "jobs/models.h"
#include "tests/testing/gradcheck.h"
#include "tests/testing/malloc_counter.h"
#include "tests/testing/scratch_dir.h"

namespace flow {
namespace {

Blob LenetProbs(const Blob& images) { return nn::softmax(jobs::LenetLogits(images, {})); }

// Randomly initialized weights of `body` (what a snapshot would hold), by name.
std::map<std::string, Tensor> InitialWeights(const Predictor::Body& body, uint64_t seed) {
  Session session({.seed = seed, .threads = 1});
  JobFunction job =
      global_function(session, "init", JobType::kPredict, body, Placeholder({1, 1, 28, 28}));
  EXPECT_TRUE(job.Compile().ok());
  std::map<std::string, Tensor> weights;
  for (const auto& [name, t] : session.get_all_variables()) weights[name] = t.Clone();
  return weights;
}

// Rows [begin, begin + n) of a (N, ...) tensor, as a new tensor.
Tensor Rows(const Tensor& t, int64_t begin, int64_t n) {
  std::vector<int64_t> dims = t.shape().dims();
  const int64_t row = t.num_elements() / dims[0];
  dims[0] = n;
  Tensor out(Shape(dims), t.dtype());
  std::copy_n(t.data<float>() + begin * row, n * row, out.data<float>());
  return out;
}

void ExpectRowsNear(const Tensor& all, int64_t begin, const Tensor& part, double tolerance) {
  const int64_t row = all.num_elements() / all.shape()[0];
  for (int64_t i = 0; i < part.num_elements(); ++i) {
    ASSERT_NEAR(part.data<float>()[i], all.data<float>()[begin * row + i], tolerance)
        << "row " << begin + i / row << " column " << i % row;
  }
}

TEST(PredictorTest, Batch1And7GiveTheRowsOfBatch100) {
  auto predictor =
      Predictor::Create(InitialWeights(LenetProbs, 3), LenetProbs, Placeholder({1, 28, 28}));
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  const Tensor images = testing::RandomTensor({100, 1, 28, 28}, 5);
  absl::StatusOr<Tensor> all = (*predictor)->Predict(images);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->shape(), Shape({100, 10}));
  // Different batch sizes may get different oneDNN algorithms: equal up to rounding.
  for (int64_t i = 0; i < 100; i += 9) {
    absl::StatusOr<Tensor> one = (*predictor)->Predict(Rows(images, i, 1));
    ASSERT_TRUE(one.ok()) << one.status();
    ExpectRowsNear(*all, i, *one, 1e-6);
  }
  for (int64_t i = 0; i + 7 <= 100; i += 7) {
    absl::StatusOr<Tensor> seven = (*predictor)->Predict(Rows(images, i, 7));
    ASSERT_TRUE(seven.ok()) << seven.status();
    ExpectRowsNear(*all, i, *seven, 1e-6);
  }
  absl::StatusOr<Tensor> big = (*predictor)->Predict(testing::RandomTensor({1000, 1, 28, 28}, 6));
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->shape(), Shape({1000, 10}));
  EXPECT_EQ((*predictor)->num_batch_sizes(), 4);  // 1, 7, 100, 1000: each compiled once
  EXPECT_EQ((*predictor)->num_compiled_jobs(), 4);
}

TEST(PredictorTest, ConcurrentCallsGiveTheSerialResults) {
  auto predictor =
      Predictor::Create(InitialWeights(LenetProbs, 4), LenetProbs, Placeholder({1, 28, 28}));
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  constexpr int kInputs = 8;
  std::vector<Tensor> inputs, serial;
  for (int i = 0; i < kInputs; ++i) {
    inputs.push_back(testing::RandomTensor({i % 2 == 0 ? 1 : 7, 1, 28, 28}, 100 + i));
    absl::StatusOr<Tensor> out = (*predictor)->Predict(inputs.back());
    ASSERT_TRUE(out.ok()) << out.status();
    serial.push_back(*out);
  }
  constexpr int kThreads = 4, kCalls = 150;
  std::vector<int> mismatches(kThreads, 0), failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kCalls; ++c) {
        const int i = (t + c) % kInputs;
        absl::StatusOr<Tensor> out = (*predictor)->Predict(inputs[i]);
        if (!out.ok()) {
          ++failures[t];
        } else if (!out->BitwiseEqual(serial[i])) {
          ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], 0) << "thread " << t;
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
  }
  EXPECT_EQ((*predictor)->num_batch_sizes(), 2);
}

// Dense layers only: no kernel of this job goes through oneDNN's primitive API (see below).
Blob MlpLogits(const Blob& images) { return jobs::MlpLogits(images, {}); }

// Heap allocations of 20 warm calls at batch 1 and 20 at batch 7.
int64_t WarmCallAllocations(Predictor& predictor) {
  const Tensor one = testing::RandomTensor({1, 1, 28, 28}, 1);
  const Tensor seven = testing::RandomTensor({7, 1, 28, 28}, 2);
  Tensor out1(Shape({1, 10}), kFloat), out7(Shape({7, 10}), kFloat);
  EXPECT_TRUE(predictor.Predict(one, &out1).ok());
  EXPECT_TRUE(predictor.Predict(seven, &out7).ok());
  EXPECT_TRUE(predictor.Predict(one, &out1).ok());
  absl::Status status;
  int64_t allocations;
  {
    testing::MallocCounter counter;
    for (int i = 0; i < 20; ++i) {
      status.Update(predictor.Predict(one, &out1));
      status.Update(predictor.Predict(seven, &out7));
    }
    allocations = counter.allocations();
  }
  EXPECT_TRUE(status.ok()) << status;
  return allocations;
}

TEST(PredictorTest, WarmMlpCallDoesNotAllocate) {
  if (!testing::kMallocCounting) GTEST_SKIP() << "malloc interposition is unavailable here";
  auto predictor =
      Predictor::Create(InitialWeights(MlpLogits, 5), MlpLogits, Placeholder({1, 28, 28}));
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  EXPECT_EQ(WarmCallAllocations(**predictor), 0) << "heap allocations in 40 warm calls";
}

// oneDNN 2.6's dnnl_primitive_execute builds its argument map (a std::unordered_map) on every
// call, so a job with conv/pool/softmax primitives allocates inside oneDNN whatever calls it.
// The predictor must add nothing to that: a warm LeNet call allocates exactly what running the
// bare compiled job does.
TEST(PredictorTest, WarmLenetCallAllocatesNoMoreThanTheBareJob) {
  if (!testing::kMallocCounting) GTEST_SKIP() << "malloc interposition is unavailable here";
  std::map<std::string, Tensor> weights = InitialWeights(LenetProbs, 5);
  auto predictor = Predictor::Create(weights, LenetProbs, Placeholder({1, 28, 28}));
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  const int64_t predictor_allocations = WarmCallAllocations(**predictor);

  Session session({.threads = 1});
  JobFunction job1 =
      global_function(session, "b1", JobType::kPredict, LenetProbs, Placeholder({1, 1, 28, 28}));
  JobFunction job7 =
      global_function(session, "b7", JobType::kPredict, LenetProbs, Placeholder({7, 1, 28, 28}));
  const Tensor one[] = {testing::RandomTensor({1, 1, 28, 28}, 1)};
  const Tensor seven[] = {testing::RandomTensor({7, 1, 28, 28}, 2)};
  ASSERT_TRUE(job1.RunInPlace(one).ok());
  ASSERT_TRUE(job7.RunInPlace(seven).ok());
  int64_t job_allocations;
  {
    testing::MallocCounter counter;
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(job1.RunInPlace(one).ok());
      ASSERT_TRUE(job7.RunInPlace(seven).ok());
    }
    job_allocations = counter.allocations();
  }
  EXPECT_EQ(predictor_allocations, job_allocations);
}

// A body the user writes, not one of jobs/models.h, loaded from a snapshot directory.
Blob TinyBody(const Blob& x) {
  Blob flat = reshape(x, {x.shape()[0], -1});
  Blob h = layers::dense(flat, 16,
                         {.activation = nn::relu,
                          .kernel_initializer = random_normal_initializer(0, 0.1),
                          .name = "h"});
  return layers::dense(h, 3,
                       {.kernel_initializer = random_normal_initializer(0, 0.1), .name = "out"});
}

TEST(PredictorTest, LoadsAUserWrittenJobFromASnapshot) {
  testing::ScratchDir scratch;
  const std::string dir = scratch.File("tiny");
  Session session({.seed = 9, .threads = 1});
  JobFunction job =
      global_function(session, "tiny", JobType::kPredict, TinyBody, Placeholder({5, 2, 4}));
  const Tensor x = testing::RandomTensor({5, 2, 4}, 3);
  absl::StatusOr<Tensor> want = job(x);
  ASSERT_TRUE(want.ok()) << want.status();
  ASSERT_TRUE(checkpoint::save(dir, session).ok());

  auto predictor = Predictor::Load(dir, TinyBody, Placeholder({2, 4}));
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  absl::StatusOr<Tensor> got = (*predictor)->Predict(x);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectRowsNear(*want, 0, *got, 1e-6);

  // A snapshot of another job is refused, naming what it lacks.
  auto other = Predictor::Load(dir, LenetProbs, Placeholder({1, 28, 28}));
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("conv1-weight"), std::string::npos) << other.status();
}

TEST(PredictorTest, RefusesAnInputOfTheWrongShape) {
  auto predictor =
      Predictor::Create(InitialWeights(TinyBody, 1), TinyBody, Placeholder({1, 28, 28}));
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  absl::StatusOr<Tensor> out = (*predictor)->Predict(testing::RandomTensor({3, 28, 28}, 1));
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("(N, 1, 28, 28)"), std::string::npos) << out.status();
  Tensor wrong(Shape({2, 4}), kFloat);  // the output is (2, 3)
  EXPECT_FALSE((*predictor)->Predict(testing::RandomTensor({2, 1, 28, 28}, 1), &wrong).ok());
}

}  // namespace
}  // namespace flow
