// Blocked layouts between oneDNN ops (runtime/layout_assignment.h): which blobs stay blocked.
// tests/runtime/exact_compile_options_test.cc shows they change no bit of LeNet training.
#include "runtime/layout_assignment.h"

#include <gtest/gtest.h>

#include <map>

#include "framework/op_registry.h"
#include "graph/compiled_job.h"
#include "graph/flow.h"
#include "jobs/model_jobs.h"
#include "runtime/executor.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

// The output 0 of every op of `type` in the compiled job.
std::vector<std::string> OutputsOf(const flowrt::JobConf& job, absl::string_view type) {
  std::vector<std::string> blobs;
  for (const flowrt::OpConf& op : job.op()) {
    if (op.type() == type) blobs.push_back(op.output(0));
  }
  return blobs;
}

TEST(LayoutAssignmentTest, LenetTrainJobKeepsItsConvChainBlocked) {
  Session session({.seed = 1, .threads = 1});
  absl::StatusOr<JobFunction> job =
      jobs::BuildModelJob(session, "lenet", {.train = true, .batch_size = 4});
  ASSERT_TRUE(job.ok()) << job.status();
  const Executor& ex = CompiledJob::GetExecutor(*job);
  const flowrt::JobConf& conf = ex.job();  // as it runs, after the graph rewrites
  // Forward: conv1 + pool1 (graph/passes/conv2d_into_max_pool2d.h) → conv2 + pool2: pool1's
  // output stays blocked; pool2's feeds the reshape into dense1: plain.
  std::vector<std::string> pools = OutputsOf(conf, "conv2d_max_pool2d");
  ASSERT_EQ(pools.size(), 2u);
  EXPECT_EQ(ex.BlobLayout(pools[0]), Layout::kBlocked) << pools[0];
  EXPECT_EQ(ex.BlobLayout(pools[1]), Layout::kPlain) << pools[1];
  // Backward: each pool gradient carries its ReLU's mask (graph/passes/
  // relu_grad_into_max_pool_grad.h) and reads dy and the pooled y in one layout: pool2's plain
  // (its gradient comes from the reshape), pool1's blocked, inside conv1's weight gradient
  // (graph/passes/max_pool_grad_into_conv_grad_weight.h); pool2's gradient feeds conv2's
  // gradients blocked.
  std::vector<Layout> pooled_layouts;
  for (const flowrt::OpConf& op : conf.op()) {
    int dy = 0, relu_y = 2;
    if (op.type() == "max_pool2d_grad_conv2d_grad_weight") {
      relu_y = 3;
    } else if (op.type() != "max_pool2d_grad") {
      continue;
    }
    ASSERT_EQ(op.input_size(), relu_y + 1) << op.name() << ": the ReLU gradient is fused in";
    pooled_layouts.push_back(ex.BlobLayout(op.input(dy)));
    EXPECT_EQ(ex.BlobLayout(op.input(relu_y)), pooled_layouts.back()) << op.name();
  }
  EXPECT_EQ(pooled_layouts, (std::vector<Layout>{Layout::kPlain, Layout::kBlocked}));
  for (const std::string& blob : OutputsOf(conf, "max_pool2d_grad")) {
    EXPECT_EQ(ex.BlobLayout(blob), Layout::kBlocked) << blob;
  }
  for (const std::string& blob : OutputsOf(conf, "conv2d_grad_data")) {
    EXPECT_EQ(ex.BlobLayout(blob), Layout::kBlocked) << blob;
  }
  // What users see is plain: the fetched loss, variables, weight gradients.
  for (const std::string& fetch : conf.fetch()) EXPECT_EQ(ex.BlobLayout(fetch), Layout::kPlain);
  for (const std::string& blob : OutputsOf(conf, "conv2d_grad_weight")) {
    EXPECT_EQ(ex.BlobLayout(blob), Layout::kPlain) << blob;
  }
  EXPECT_EQ(ex.BlobLayout("conv1-weight"), Layout::kPlain);
}

TEST(LayoutAssignmentTest, ElementwiseOpWithOnePlainInputKeepsAllItsTensorsPlain) {
  Session session({.seed = 1, .threads = 1});
  std::string conv_out, sum, chained;
  JobFunction job = global_function(
      session, "mix", JobType::kPredict,
      [&](Blob x, Blob other) {
        Blob y = layers::conv2d(x, 16, {3, 3}, {.padding = "SAME", .name = "c1"});
        // A reshape aliases its input's bytes, so `plain` can only be plain; the add must then
        // read y plain as well.
        Blob plain = reshape(reshape(other, {2, 16 * 36}), {2, 16, 6, 6});
        Blob s = add(y, plain);
        Blob z = layers::conv2d(s, 16, {3, 3}, {.padding = "SAME", .name = "c2"});
        Blob out = layers::conv2d(z, 16, {3, 3}, {.padding = "SAME", .name = "c3"});
        conv_out = y.name();
        sum = s.name();
        chained = z.name();
        return out;
      },
      Placeholder({2, 16, 6, 6}), Placeholder({2, 16, 6, 6}));
  ASSERT_TRUE(job.Compile().ok());
  EXPECT_EQ(CompiledJob::GetExecutor(job).BlobLayout(conv_out), Layout::kPlain);
  EXPECT_EQ(CompiledJob::GetExecutor(job).BlobLayout(sum), Layout::kPlain);
  EXPECT_EQ(CompiledJob::GetExecutor(job).BlobLayout(chained), Layout::kBlocked);  // conv → conv
  const Tensor x = testing::RandomTensor({2, 16, 6, 6}, 1);
  const Tensor other = testing::RandomTensor({2, 16, 6, 6}, 2);
  absl::StatusOr<std::vector<Tensor>> blocked = job.Run({x, other});
  ASSERT_TRUE(blocked.ok()) << blocked.status();

  std::map<std::string, Tensor> variables;
  for (const auto& [name, t] : session.get_all_variables()) variables[name] = t.Clone();
  absl::StatusOr<std::unique_ptr<Executor>> plain =
      Executor::Create(CompiledJob::Job(job), FindKernelDef,
                       [&](const std::string& name) {
                         auto it = variables.find(name);
                         return it == variables.end() ? nullptr : &it->second;
                       },
                       {.threads = 1, .blocked_layouts = false});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ((*plain)->BlobLayout(chained), Layout::kPlain);
  ASSERT_TRUE((*plain)->Run({x, other}).ok());
  EXPECT_TRUE((*plain)->fetch(0).BitwiseEqual((*blocked)[0]));
}

}  // namespace
}  // namespace flow
