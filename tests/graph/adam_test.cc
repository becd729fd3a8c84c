// OneFlow's Adam (ops/adam_update.cc, graph/optimizer_adam.cc) on a 3-element toy, against values
// computed by hand (in double) from OneFlow's rule, and its refusals of bad hyper-parameters.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "graph/compiled_job.h"
#include "graph/flow.h"

namespace flow {
namespace {

// loss = w · x elementwise with x = (3, −6, 0.03): every gradient carries OneFlow's 1/3, so
// g = (1, −2, 0.01) on every step (the loss is linear in w). w starts at 1, lr 0.1.
// The expected values are OneFlow's rule in double with the float32 constants the op holds
// (0.9f, 0.999f, 1e-8f, 0.1f: 1 − 0.999f is 1.3e-5 off 0.001, which moves w by 2e-6).
struct Toy {
  absl::Status status;
  std::vector<std::string> variables;
  std::vector<std::vector<float>> w, m, v;  // after each step
  std::vector<std::string> op_types;
};

Toy RunToy(optimizer::AdamOptions options, int steps = 2) {
  Toy toy;
  Session session({.threads = 1});
  JobFunction job = global_function(
      session, "toy", JobType::kTrain,
      [=](Blob x) {
        Blob w = get_variable("w", {3}, {.initializer = constant_initializer(1)});
        Blob loss = math::multiply(w, x);
        optimizer::Adam(optimizer::PiecewiseConstantScheduler({}, {0.1f}), options).minimize(loss);
        return loss;
      },
      Placeholder({3}));
  toy.status = job.Compile();
  toy.variables = session.VariableNames();
  if (!toy.status.ok()) return toy;
  for (const flowrt::OpConf& op : CompiledJob::Job(job).op()) toy.op_types.push_back(op.type());
  const Tensor x = Tensor::FromVector<float>({3}, {3, -6, 0.03f});
  for (int i = 0; i < steps; ++i) {
    absl::StatusOr<Tensor> loss = job(x);
    if (!loss.ok()) {
      toy.status = loss.status();
      return toy;
    }
    for (auto [name, out] : {std::pair{"w", &toy.w}, {"w-m", &toy.m}, {"w-v", &toy.v}}) {
      const float* p = session.FindVariable(name)->data<float>();
      out->emplace_back(p, p + 3);
    }
  }
  return toy;
}

void ExpectNear(const std::vector<float>& got, const std::vector<double>& want, double tol,
                const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol) << what << "[" << i << "]";
}

TEST(AdamTest, CreatesSlotsMAndVAndOneUpdateOp) {
  Toy toy = RunToy({}, 0);
  ASSERT_TRUE(toy.status.ok()) << toy.status;
  EXPECT_EQ(toy.variables,
            (std::vector<std::string>{"System-Train-TrainStep-toy", "w", "w-m", "w-v"}));
  EXPECT_EQ(std::count(toy.op_types.begin(), toy.op_types.end(), "adam_update"), 1);
}

// OneFlow's default, as quick_start/mlp_mnist.py runs it: no bias correction.
//   m ← 0.9·m + 0.1·g;  v ← 0.999·v + 0.001·g²;  w ← w − 0.1·m / (√v + 1e-8)
// Step 1: m = 0.1·g, √v = √0.001·|g|, so w moves by 0.1·√10 = 0.3162 against sign(g), less for
// the third element, where ε = 1e-8 is not negligible beside √v = 3.16e-4.
TEST(AdamTest, UpdateWithoutBiasCorrectionMatchesOneFlowsRule) {
  Toy toy = RunToy({});
  ASSERT_TRUE(toy.status.ok()) << toy.status;
  ExpectNear(toy.m[0], {0.100000024, -0.200000048, 0.00100000022}, 1e-8, "m step 1");
  ExpectNear(toy.v[0], {0.000999987125, 0.0039999485, 9.99987081e-08}, 1e-9, "v step 1");
  ExpectNear(toy.w[0], {0.683770218, 1.316229832, 0.683780118}, 2e-7, "w step 1");
  ExpectNear(toy.m[1], {0.190000043, -0.380000086, 0.00190000039}, 1e-8, "m step 2");
  ExpectNear(toy.v[1], {0.00199897428, 0.00799589711, 1.99897419e-07}, 1e-9, "v step 2");
  ExpectNear(toy.w[1], {0.258808308, 1.741191790, 0.258827617}, 2e-7, "w step 2");
}

// With correction, lr_t = lr·√(1 − 0.999^t)/(1 − 0.9^t): the textbook first steps of exactly lr
// against sign(g). ε stays outside √v (OneFlow's, TensorFlow's "epsilon hat"), so the small third
// gradient moves 3.2e-6 less than lr; PyTorch's ε inside the corrected √v̂ would give 1e-7.
TEST(AdamTest, UpdateWithBiasCorrectionMatchesOneFlowsRule) {
  Toy toy = RunToy({.do_bias_correction = true});
  ASSERT_TRUE(toy.status.ok()) << toy.status;
  ExpectNear(toy.w[0], {0.900000030, 1.099999986, 0.900003161}, 2e-7, "w step 1");
  ExpectNear(toy.w[1], {0.800000051, 1.199999976, 0.800005396}, 2e-7, "w step 2");
}

void ExpectRefused(const Toy& toy, absl::string_view message) {
  EXPECT_EQ(toy.status.code(), absl::StatusCode::kInvalidArgument) << toy.status;
  EXPECT_TRUE(absl::StrContains(toy.status.message(), message)) << toy.status;
  EXPECT_TRUE(toy.variables.empty()) << "a refused job created variables";
}

TEST(AdamTest, BadHyperParametersAreRefusedNamingTheValue) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  ExpectRefused(RunToy({.beta1 = 1}), "Adam beta1 must be in [0, 1), got 1");
  ExpectRefused(RunToy({.beta1 = -0.1f}), "Adam beta1 must be in [0, 1), got -0.1");
  ExpectRefused(RunToy({.beta2 = 1.5f}), "Adam beta2 must be in [0, 1), got 1.5");
  ExpectRefused(RunToy({.beta2 = nan}), "Adam beta2 must be in [0, 1), got nan");
  ExpectRefused(RunToy({.epsilon = -1e-8f}), "Adam epsilon must be finite and >= 0, got -1e-08");
  ExpectRefused(RunToy({.epsilon = inf}), "Adam epsilon must be finite and >= 0, got inf");
  ExpectRefused(RunToy({.loss_scale_factor = 0}), "Adam loss_scale_factor must be finite and > 0");
  ExpectRefused(RunToy({.grad_clipping = -1}), "Adam grad_clipping must be >= 0");
}

}  // namespace
}  // namespace flow
