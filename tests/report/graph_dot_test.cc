// report/graph_dot.h: the DOT of the trainer's jobs shows forward, backward and optimizer ops with
// shapes, variables and shared arena offsets; Graphviz (when installed) renders it.
#include "report/graph_dot.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/compiled_job.h"
#include "graph/passes/sgd_update_into_dense_grad_weight.h"
#include "jobs/model_jobs.h"
#include "runtime/executor.h"
#include "tests/testing/scratch_dir.h"

namespace flow::jobs {
namespace {

int Count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

TEST(GraphDotTest, LenetTrainJobHasForwardBackwardAndOptimizerOps) {
  Session session;
  absl::StatusOr<JobFunction> job = BuildModelJob(session, "lenet", {.train = true});
  ASSERT_TRUE(job.ok()) << job.status();
  const std::string dot = JobToDot(*job);
  EXPECT_TRUE(absl::StartsWith(dot, "digraph \"train_job\" {")) << dot.substr(0, 100);
  EXPECT_TRUE(absl::EndsWith(dot, "}\n"));
  // Forward ops with types and output shapes.
  // Each convolution runs into its pooling (graph/passes/conv2d_into_max_pool2d.h): pool1's
  // output stays in oneDNN's blocked layout; pool2's, read by the reshape, is plain.
  EXPECT_EQ(Count(dot, "<i>conv2d_max_pool2d</i>"), 2);
  EXPECT_NE(dot.find("y: (100, 32, 14, 14) f32 blocked @"), std::string::npos);
  EXPECT_NE(dot.find("y: (100, 64, 7, 7) f32 @"), std::string::npos);
  EXPECT_NE(dot.find("(100, 64, 14, 14) f32"), std::string::npos);  // pool2's gradient
  EXPECT_NE(dot.find("<i>dropout</i>"), std::string::npos);
  EXPECT_NE(dot.find("<i>sparse_softmax_cross_entropy</i>"), std::string::npos);
  // Backward.
  EXPECT_NE(dot.find("<i>conv2d_grad_weight</i>"), std::string::npos);
  EXPECT_NE(dot.find("<i>max_pool2d_grad</i>"), std::string::npos);
  EXPECT_NE(dot.find("fillcolor=\"#fde2bf\""), std::string::npos);  // backward colour
  // Optimizer: one SGD update per trainable variable (4 layers × weight, bias) and the step; on
  // AVX-512 the dense layers' weights take theirs from their gradient GEMM
  // (graph/passes/sgd_update_into_dense_grad_weight.h).
  const int fused = SgdUpdateIntoDenseGradWeightPays() ? 2 : 0;
  EXPECT_EQ(Count(dot, "<i>sgd_update</i>"), 8 - fused);
  EXPECT_EQ(Count(dot, "<i>dense_grad_weight_sgd_update</i>"), fused);
  EXPECT_EQ(Count(dot, "<i>train_step_increment</i>"), 1);
  EXPECT_NE(dot.find("<i>piecewise_constant_lr</i>"), std::string::npos);
  // Variables, distinguished, with their shapes; the train step is one of them.
  EXPECT_NE(dot.find("<b>conv1-weight</b><br/>(32, 1, 5, 5) f32"), std::string::npos);
  EXPECT_NE(dot.find("<b>System-Train-TrainStep-train_job</b>"), std::string::npos);
  EXPECT_GE(Count(dot, "shape=cylinder"), 9);
  EXPECT_EQ(Count(dot, "shape=parallelogram"), 2);  // images, labels
  // Memory sharing: the legend lists offsets held by several blobs.
  EXPECT_NE(dot.find("blobs sharing memory"), std::string::npos);
  EXPECT_NE(dot.find("penwidth=2.5"), std::string::npos);
  // Every op of the job as it runs (after the compile-time rewrites) is a node.
  EXPECT_EQ(Count(dot, "  op"),
            CompiledJob::GetExecutor(*job).job().op_size() + Count(dot, " -> "));
}

TEST(GraphDotTest, SharedOffsetsInTheLegendAreReallyShared) {
  Session session;
  absl::StatusOr<JobFunction> job = BuildModelJob(session, "mlp", {.train = true});
  ASSERT_TRUE(job.ok()) << job.status();
  const std::string dot = JobToDot(*job);
  const Executor& executor = CompiledJob::GetExecutor(*job);
  std::map<int64_t, int> blobs_at;
  for (const flowrt::OpConf& op : CompiledJob::Job(*job).op()) {
    for (const std::string& out : op.output()) {
      if (executor.ArenaOffset(out) >= 0) ++blobs_at[executor.ArenaOffset(out)];
    }
  }
  for (const auto& [offset, n] : blobs_at) {
    const std::string row = absl::StrCat("</td><td>@", offset, "</td>");
    EXPECT_EQ(dot.find(row) != std::string::npos, n > 1) << "offset " << offset << " has " << n;
  }
}

TEST(GraphDotTest, EvalJobHasNoBackwardOrOptimizer) {
  Session session;
  absl::StatusOr<JobFunction> job = BuildModelJob(session, "mlp_finetune", {.train = false});
  ASSERT_TRUE(job.ok()) << job.status();
  const std::string dot = JobToDot(*job);
  EXPECT_TRUE(absl::StartsWith(dot, "digraph \"eval_job\" {"));
  EXPECT_NE(dot.find("<b>dense3-weight</b><br/>(10, 10) f32"), std::string::npos) << dot;
  EXPECT_EQ(dot.find("sgd_update"), std::string::npos);
  EXPECT_EQ(dot.find("_grad"), std::string::npos);
  EXPECT_EQ(dot.find("train_step_increment"), std::string::npos);
  EXPECT_EQ(dot.find("#fde2bf\"]"), std::string::npos);
}

TEST(GraphDotTest, UnknownModelIsAClearError) {
  Session session;
  absl::StatusOr<JobFunction> job = BuildModelJob(session, "resnet", {});
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("lenet"), std::string::npos) << job.status();
}

TEST(GraphDotTest, GraphvizRendersTheLenetTrainGraph) {
  if (std::system("dot -V >/dev/null 2>&1") != 0) GTEST_SKIP() << "Graphviz's dot not installed";
  Session session;
  absl::StatusOr<JobFunction> job = BuildModelJob(session, "lenet", {.train = true});
  ASSERT_TRUE(job.ok()) << job.status();
  testing::ScratchDir scratch;
  const std::string base = scratch.File("graph");
  {
    std::ofstream out(base + ".dot");
    out << JobToDot(*job);
  }
  ASSERT_EQ(
      std::system(
          absl::StrCat("dot -Tpng -o ", base, ".png ", base, ".dot 2>", base, ".err").c_str()),
      0);
  std::ifstream err(base + ".err");
  const std::string warnings((std::istreambuf_iterator<char>(err)), {});
  EXPECT_EQ(warnings, "") << "Graphviz complained about our DOT";
  std::ifstream png(base + ".png", std::ios::binary);
  char magic[8] = {};
  png.read(magic, 8);
  EXPECT_EQ(std::string(magic, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST(GraphDotTest, ClipNormAddsOneOptimizerOpFeedingEveryUpdate) {
  Session session;
  absl::StatusOr<JobFunction> job = BuildModelJob(session, "mlp", {.train = true, .clip_norm = 1});
  ASSERT_TRUE(job.ok()) << job.status();
  const std::string dot = JobToDot(*job);
  EXPECT_EQ(Count(dot, "<i>clip_by_global_norm_coefficient</i>"), 1);
  EXPECT_EQ(Count(dot, "<i>sgd_update</i>"), 4);
  int updates_reading_it = 0;
  for (const flowrt::OpConf& op : CompiledJob::Job(*job).op()) {
    if (op.type() == "clip_by_global_norm_coefficient") {
      EXPECT_EQ(op.name(), "System-Train-ClipByGlobalNorm");
      EXPECT_EQ(op.input_size(), 4);  // the gradient of each of the 4 variables
    }
    if (op.type() == "sgd_update" && op.input_size() == 4 &&
        op.input(3) == "System-Train-ClipByGlobalNorm/coefficient") {
      ++updates_reading_it;
    }
  }
  EXPECT_EQ(updates_reading_it, 4);
  // The CLI passes --clip_norm through.
  const std::string flowrt = std::string(FLOWRT_BINARY_DIR) + "/tools/flowrt";
  if (::access(flowrt.c_str(), X_OK) != 0) GTEST_SKIP() << flowrt << " not built";
  testing::ScratchDir scratch;
  const std::string base = scratch.File("graph");
  ASSERT_EQ(std::system(absl::StrCat(flowrt, " graph --job=mlp --train --clip_norm=2.5 --dot=",
                                     base, ".dot >/dev/null")
                            .c_str()),
            0);
  std::ifstream file(base + ".dot");
  const std::string text((std::istreambuf_iterator<char>(file)), {});
  EXPECT_EQ(Count(text, "<i>clip_by_global_norm_coefficient</i>"), 1);
}

TEST(GraphDotTest, CliWritesDotAndPng) {
  const std::string flowrt = std::string(FLOWRT_BINARY_DIR) + "/tools/flowrt";
  if (::access(flowrt.c_str(), X_OK) != 0) GTEST_SKIP() << flowrt << " not built";
  if (std::system("dot -V >/dev/null 2>&1") != 0) GTEST_SKIP() << "Graphviz's dot not installed";
  testing::ScratchDir scratch;
  const std::string base = scratch.File("graph");
  ASSERT_EQ(std::system(absl::StrCat(flowrt, " graph --job=mlp --train --dot=", base,
                                     ".dot --png=", base, ".png >/dev/null")
                            .c_str()),
            0);
  std::ifstream dot(base + ".dot");
  const std::string text((std::istreambuf_iterator<char>(dot)), {});
  EXPECT_NE(text.find("<i>sgd_update</i>"), std::string::npos);
  EXPECT_NE(text.find("<i>train_step_increment</i>"), std::string::npos);
  std::ifstream png(base + ".png", std::ios::binary);
  char magic[8] = {};
  png.read(magic, 8);
  EXPECT_EQ(std::string(magic, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_NE(std::system(absl::StrCat(flowrt, " graph --job=resnet 2>/dev/null").c_str()), 0);
}

}  // namespace
}  // namespace flow::jobs
