// The vertical slice: an MLP job records, compiles, trains with SGD and counts its steps.
#include <gtest/gtest.h>

#include "graph/flow.h"

namespace flow {
namespace {

// A separable toy problem: class = argmax of the first 3 features.
void MakeBatch(int n, Tensor* x, Tensor* y, uint64_t seed) {
  *x = Tensor(Shape({n, 8}), kFloat);
  *y = Tensor(Shape({n}), kInt32);
  uint64_t s = seed;
  for (int i = 0; i < n * 8; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x->data<float>()[i] = static_cast<float>((s >> 33) % 1000) / 1000.f - 0.5f;
  }
  for (int i = 0; i < n; ++i) {
    const float* row = x->data<float>() + i * 8;
    y->data<int32_t>()[i] = static_cast<int32_t>(std::max_element(row, row + 3) - row);
  }
}

TEST(MlpTrainTest, LossFallsAndTrainStepCounts) {
  Session session({.seed = 1, .threads = 1});
  auto train = global_function(
      session, "train_job", JobType::kTrain,
      [](Blob x, Blob labels) {
        auto init = truncated_normal(0.1);
        Blob h = layers::dense(
            x, 32, {.activation = nn::relu, .kernel_initializer = init, .name = "dense1"});
        Blob logits = layers::dense(h, 3, {.kernel_initializer = init, .name = "dense2"});
        Blob loss = nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.5f}), {.momentum = 0})
            .minimize(loss);
        return loss;
      },
      Placeholder({64, 8}, kFloat), Placeholder({64}, kInt32));
  Tensor x, y;
  MakeBatch(64, &x, &y, 42);
  absl::StatusOr<Tensor> first = train(x, y);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_NEAR(first->mean(), std::log(3.0), 0.05);
  double last = 0;
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<Tensor> loss = train(x, y);
    ASSERT_TRUE(loss.ok()) << loss.status();
    last = loss->mean();
  }
  EXPECT_LT(last, 0.3);
  auto vars = session.get_all_variables();
  ASSERT_TRUE(vars.contains("System-Train-TrainStep-train_job"));
  EXPECT_EQ(vars.at("System-Train-TrainStep-train_job").data<int64_t>()[0], 201);
  EXPECT_EQ(vars.at("dense1-weight").shape(), Shape({32, 8}));
  EXPECT_EQ(vars.at("dense2-bias").shape(), Shape({3}));
  EXPECT_FALSE(vars.contains("dense1-weight-momentum"));
}

}  // namespace
}  // namespace flow
