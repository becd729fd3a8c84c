// The sgd_update → dense weight-gradient fusion (graph/passes/sgd_update_into_dense_grad_weight.h):
// which updates it takes, what it leaves of dense_grad_weight, and that training gives the bits
// of the unfused job, on the register tiles (AVX-512, products from 2^22 multiply-adds, N ≤ 256)
// and on sgemm (small products, larger N, AVX2), with regularizers and a loss scale.
#include "graph/passes/sgd_update_into_dense_grad_weight.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "framework/job_builder.h"
#include "graph/compiled_job.h"
#include "graph/flow.h"
#include "jobs/model_jobs.h"
#include "tests/testing/apply_op.h"
#include "tests/testing/gradcheck.h"
#include "tests/testing/job_ops.h"

namespace flow {
namespace {

using testing::CountType;
using testing::RandomTensor;

flowrt::JobConf LenetTrainJob(const jobs::ModelJobOptions& options) {
  Session session({.seed = 1, .threads = 1});
  absl::StatusOr<JobFunction> job = jobs::BuildModelJob(session, "lenet", options);
  FLOWRT_CHECK(job.ok()) << job.status();
  return CompiledJob::Job(*job);
}

TEST(SgdUpdateIntoDenseGradWeightTest, FusesBothLenetDenseWeightsAndKeepsTheBiasGradients) {
  flowrt::JobConf job = LenetTrainJob({.train = true, .batch_size = 4, .momentum = 0});
  const int updates = CountType(job, "sgd_update");
  ASSERT_EQ(CountType(job, "dense_grad_weight"), 2);
  EXPECT_EQ(FuseSgdUpdateIntoDenseGradWeight(&job), 2);
  EXPECT_EQ(CountType(job, "sgd_update"), updates - 2);
  EXPECT_EQ(CountType(job, "dense_grad_weight"), 0);
  EXPECT_EQ(CountType(job, "dense_grad_bias"), 2);
  // Every input exists where it is read, and each fused update runs after the last reader of its
  // weight (dense_grad_input): it writes the weight in place.
  std::map<std::string, int> produced, last_read;
  for (int i = 0; i < job.op_size(); ++i) {
    const flowrt::OpConf& op = job.op(i);
    for (const std::string& in : op.input()) {
      ASSERT_TRUE(produced.contains(in)) << op.name() << " reads " << in << " before it exists";
      if (op.type() != "dense_grad_weight_sgd_update") last_read[in] = i;
    }
    for (const std::string& out : op.output()) produced[out] = i;
  }
  std::set<std::string> weights;
  for (int i = 0; i < job.op_size(); ++i) {
    const flowrt::OpConf& op = job.op(i);
    if (op.type() != "dense_grad_weight_sgd_update") continue;
    ASSERT_EQ(op.input_size(), 4) << op.name();
    EXPECT_GT(i, last_read.at(op.input(0))) << op.name();
    EXPECT_EQ(job.op(produced.at(op.input(3))).type(), "piecewise_constant_lr") << op.name();
    weights.insert(op.input(0));
  }
  EXPECT_EQ(weights.size(), 2u);
  EXPECT_EQ(FuseSgdUpdateIntoDenseGradWeight(&job), 0);  // nothing left to fuse
}

TEST(SgdUpdateIntoDenseGradWeightTest, LeavesUpdatesThatNeedTheGradientItselfAlone) {
  // Momentum (momentum_update), clipping (the norm reads dW; the update takes a grad_scale) and
  // Adam all read the weight gradient: nothing matches.
  for (const jobs::ModelJobOptions& options :
       {jobs::ModelJobOptions{.train = true, .batch_size = 4, .momentum = 0.9f},
        jobs::ModelJobOptions{.train = true, .batch_size = 4, .momentum = 0, .clip_norm = 1},
        jobs::ModelJobOptions{.train = true, .batch_size = 4, .optimizer = "adam"}}) {
    flowrt::JobConf job = LenetTrainJob(options);
    const std::string before = job.SerializeAsString();
    EXPECT_EQ(FuseSgdUpdateIntoDenseGradWeight(&job), 0) << options.optimizer;
    EXPECT_EQ(job.SerializeAsString(), before) << options.optimizer;
  }
}

// y = dense(x) (units, no activation), loss = Σ y · t: dy = t, a fixed, nonzero gradient; plain
// SGD with `scale` as the loss scale and l1/l2 on the kernel. Returns the variables after 3 steps.
std::map<std::string, Tensor> TrainDense(int64_t rows, int64_t in, int64_t units, bool bias,
                                         int threads, bool fused) {
  Session session(
      {.seed = 3, .threads = threads, .rewrites = {.sgd_update_into_dense_grad_weight = fused}});
  JobFunction job = global_function(
      session, "dense_sgd", JobType::kTrain,
      [&](Blob x, Blob t) {
        Blob y = layers::dense(x, units,
                               {.use_bias = bias,
                                // zeros: the first step's l1 term meets sign(0)
                                .kernel_initializer = zeros_initializer(),
                                .kernel_regularizer = regularizers::l1_l2(0.003f, 0.02f),
                                .name = "d"});
        Blob loss = math::reduce_sum(math::multiply(y, t));
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.05f}),
                       {.momentum = 0, .loss_scale_factor = 4})
            .minimize(loss);
        return loss;
      },
      Placeholder({rows, in}), Placeholder({rows, units}));
  for (int step = 0; step < 3; ++step) {
    const absl::StatusOr<std::vector<Tensor>> out =
        job.Run({RandomTensor({rows, in}, 10 + step), RandomTensor({rows, units}, 20 + step)});
    FLOWRT_CHECK(out.ok()) << out.status();
  }
  std::map<std::string, Tensor> variables;
  for (const auto& [name, t] : session.get_all_variables()) variables[name] = t.Clone();
  return variables;
}

TEST(SgdUpdateIntoDenseGradWeightTest, TrainingIsBitIdenticalWithTheFusionOff) {
  if (!SgdUpdateIntoDenseGradWeightPays()) {
    GTEST_SKIP() << "the session applies the fusion where oneDNN dispatches to AVX-512 only";
  }
  struct Case {
    int64_t rows, in, units;
  };
  // 48·300·305 = 4.4 M multiply-adds: the register tiles on AVX-512, with a partial tile of units
  // (305 = 50·6 + 5) and of columns (300 = 9·32 + 12); N = 256, the tiles' largest depth, whose
  // sums must still be sgemm's bits; N = 257: sgemm into a buffer; 4·20·10: sgemm on one thread.
  for (const Case& c :
       {Case{48, 300, 305}, Case{256, 200, 100}, Case{257, 200, 100}, Case{4, 20, 10}}) {
    for (bool bias : {true, false}) {
      for (int threads : {1, 2}) {
        const std::string what =
            absl::StrCat(c.rows, "x", c.in, "x", c.units, bias ? " with" : " without",
                         " bias, threads ", threads);
        const auto fused = TrainDense(c.rows, c.in, c.units, bias, threads, true);
        const auto plain = TrainDense(c.rows, c.in, c.units, bias, threads, false);
        ASSERT_EQ(fused.size(), plain.size()) << what;
        for (const auto& [name, t] : fused) {
          EXPECT_TRUE(t.BitwiseEqual(plain.at(name))) << name << ", " << what;
        }
        // Training moved the kernel off its zeros.
        const Tensor& w = fused.at("d-weight");
        int nonzero = 0;
        for (int64_t i = 0; i < w.num_elements(); ++i) nonzero += w.data<float>()[i] != 0.f;
        EXPECT_EQ(nonzero, w.num_elements()) << what;
      }
    }
  }
}

// The two ops the rewrite emits refuse what does not fit, naming the op and the shapes (they are
// internal, but OpBuilder reaches them).
TEST(SgdUpdateIntoDenseGradWeightTest, FusedOpsRefuseShapesThatDoNotFit) {
  auto fused = [](const std::vector<Blob>& in) {
    OpBuilder("dense_grad_weight_sgd_update")
        .Input(in[0])
        .Input(in[1])
        .Input(in[2])
        .Input(in[3])
        .Attr("scale", 1.f)
        .Attr("l1", 0.f)
        .Attr("l2", 0.f)
        .Build();
    return in[0];
  };
  // weight (units 5, in 7), dy (N 4, units 6): the units differ.
  const absl::Status units = testing::CompileOpError(fused, {{5, 7}, {4, 6}, {4, 7}, {1}});
  EXPECT_TRUE(absl::StrContains(units.message(), "dense_grad_weight_sgd_update")) << units;
  EXPECT_TRUE(absl::StrContains(units.message(),
                                "weight (5, 7), dy (4, 6) and x (4, 7) do not fit (expected "
                                "weight (units, in), dy (N, units), x (N, in))"))
      << units;
  const absl::Status rows = testing::CompileOpError(fused, {{5, 7}, {4, 5}, {3, 7}, {1}});
  EXPECT_TRUE(absl::StrContains(rows.message(), "dy (4, 5) and x (3, 7) do not fit")) << rows;
  const absl::Status lr = testing::CompileOpError(fused, {{5, 7}, {4, 5}, {4, 7}, {2}});
  EXPECT_TRUE(absl::StrContains(lr.message(), "input 'lr' is (2,), expected (1)")) << lr;

  const absl::Status bias = testing::CompileOpError(
      [](const std::vector<Blob>& in) {
        return OpBuilder("dense_grad_bias").Input(in[0]).Build1();
      },
      {{2, 3, 4}});
  EXPECT_TRUE(absl::StrContains(bias.message(), "input 'dy' (2, 3, 4) is not (N, units)")) << bias;
}

}  // namespace
}  // namespace flow
